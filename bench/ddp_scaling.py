"""Seconds per epoch and training pairs per second with 1 and with 2 data-parallel processes (gloo on CPU,
one thread each), on a saved export: what splitting each batch over processes gains on one machine.

    .venv/bin/python bench/ddp_scaling.py --export-file /tmp/exports/dbbook2014.npz
    .venv/bin/python bench/ddp_scaling.py --export-file /tmp/exports/dbbook2014.npz --models lightgcn --epochs 1 \\
        --out /tmp/ddp_scaling_smoke.json          # a smoke run

Each (model, process count) runs under ``torch.distributed.run --standalone`` as its own job (this file
with ``--worker``), so both counts start alike; one process is the plain trainer, two the data-parallel
one (``recommender.ddp_loop``). An epoch's time is rank 0's, whole: its share of the batches, the gradient
all-reduces, and ``epoch_end`` (CIKGRec's TransE), which every process runs in full. Needs a free core
per process: on a busy machine the figures measure the contention. Writes
``bench/results/ddp_scaling.json`` with the machine, the commit, the settings and per-epoch losses (the
same for both counts, for LightGCN, to float rounding).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.machine import describe, git_commit, load_average  # noqa: E402
from bench.saved_exports import load_export  # noqa: E402


def _worker(args: argparse.Namespace) -> None:
    """One process of a job: train ``args.worker`` for ``args.epochs`` epochs, rank 0 writes its timings."""
    import torch

    from recommender import distributed
    from recommender.config import resolve_config
    from recommender.data import from_export
    from recommender.ddp_loop import trainer_class

    torch.set_num_threads(args.threads)
    export = load_export(args.export_file, args.dataset)
    with distributed.session("gloo", "cpu", timeout_s=1800):
        model_config, train_config = resolve_config(args.worker, args.dataset, threads=args.threads, device="cpu")
        data = from_export(export, valid_ratio=train_config.valid_ratio, seed=train_config.seed)
        trainer = trainer_class()(data, args.worker, model_config, train_config, progress=False)
        times, losses = [], []
        for epoch in range(args.epochs):
            started = time.perf_counter()
            logged = trainer.train_epoch(epoch)
            times.append(time.perf_counter() - started)
            losses.append(round(logged["total"], 6))
        if distributed.is_main():
            median = statistics.median(times)
            row = {"model": args.worker, "processes": distributed.world_size(), "threads_per_process": args.threads,
                   "backend": "gloo", "batch_size": train_config.batch_size, "train_pairs": len(data.train),
                   "median_epoch_s": round(median, 3), "epochs_s": [round(t, 3) for t in times],
                   "pairs_per_s": round(len(data.train) / median, 1), "loss_per_epoch": losses}
            Path(args.part).write_text(json.dumps(row))


def _job(model: str, processes: int, args: argparse.Namespace, part: Path) -> dict:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               str(Path(__file__).resolve()), "--worker", model, "--part", str(part), "--epochs", str(args.epochs),
               "--threads", str(args.threads), "--dataset", args.dataset]
    if args.export_file is not None:
        command += ["--export-file", str(args.export_file)]
    subprocess.run(command, check=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
    return json.loads(part.read_text())


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dataset", default="dbbook2014")
    parser.add_argument("--export-file", type=Path, default=None,
                        help="Train from this saved export (GraphExport.save's .npz) instead of the graph.")
    parser.add_argument("--models", nargs="*", default=["lightgcn", "cikgrec"])
    parser.add_argument("--processes", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="Torch threads per process.")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ddp_scaling.json")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if args.worker:
        _worker(args)
        return
    machine = {**describe(), "load_average_before": load_average()}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            for processes in args.processes:
                row = _job(model, processes, args, Path(folder) / f"{model}-{processes}.json")
                single = next((r for r in rows if r["model"] == model and r["processes"] == 1), None)
                if single is not None:
                    row["speedup"] = round(single["median_epoch_s"] / row["median_epoch_s"], 2)
                rows.append(row)
                print(f"{model:<10} {processes} process(es): {row['median_epoch_s']:7.2f} s/epoch, "
                      f"{row['pairs_per_s']:,.0f} pairs/s" + (f", x{row['speedup']}" if "speedup" in row else ""),
                      flush=True)
    result = {"bench": "ddp_scaling", "machine": {**machine, "load_average_after": load_average()},
              "commit": git_commit(), "dataset": args.dataset,
              "export_file": str(args.export_file) if args.export_file else None, "epochs": args.epochs, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
