"""Seconds per training epoch on dbbook2014, one model at a time, with a fixed thread count.

    .venv/bin/python bench/epoch_time.py [--threads 1] [--epochs 5] [--models cikgrec cikgrec:reference lightgcn]

``MODEL:PRESET`` trains that model with a named preset (``cikgrec:reference``: every fidelity
option as the reference code has it, batch 1,024 — the figure to hold against the reference).

Run it on an otherwise idle machine: ``bench/reference/run.sh`` runs it before and after the reference
code's own timing (``bench/reference/time_reference.py``) and derives the ratio from the three files.
Writes ``bench/results/epoch_time.json`` with the machine (CPU model, load average), the kgrec commit
and the settings beside each model's epoch times.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.machine import describe, git_commit, load_average  # noqa: E402
from bench.saved_exports import device_name, gpu_peak_mb, load_export  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="dbbook2014")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--export-file", type=Path, default=None,
                        help="Train from this saved export (bench/reproduce_cikgrec.py --save-export) instead of the graph.")
    parser.add_argument("--all-train", action="store_true",
                        help="Train on all of train (no validation split carved), as the reference code does.")
    parser.add_argument("--models", nargs="*", default=["cikgrec", "lightgcn", "simgcl"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "epoch_time.json")
    args = parser.parse_args()
    import torch

    from recommender.config import resolve_config
    from recommender.data import from_export
    from recommender.trainer import Trainer

    torch.set_num_threads(args.threads)
    machine = describe()
    export = load_export(args.export_file, args.dataset)
    results = []
    for name in args.models:
        model, _, preset = name.partition(":")
        model_config, train_config = resolve_config(model, args.dataset, preset=preset or None, threads=args.threads,
                                                    device=args.device, **({"valid_ratio": 0.0} if args.all_train else {}))
        data = from_export(export, valid_ratio=train_config.valid_ratio, seed=train_config.seed)
        if args.all_train and len(data.valid):
            data = data.without_validation()
        trainer = Trainer(data, model, model_config, train_config, progress=False)
        times = []
        for epoch in range(args.epochs):
            started = time.perf_counter()
            trainer.train_epoch(epoch)
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        trainer.evaluate("test" if args.all_train else "valid")
        row = {"model": name, "batch_size": train_config.batch_size, "threads": args.threads,
               "device": device_name(trainer.device), "train_pairs": len(data.train),
               "peak_gpu_mb": gpu_peak_mb(trainer.device),
               "median_epoch_s": round(statistics.median(times), 3), "epochs_s": [round(t, 3) for t in times],
               "evaluation_s": round(time.perf_counter() - started, 3),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        results.append(row)
        print(f"{name:<18} {row['median_epoch_s']:7.2f} s/epoch (median of {args.epochs}, {args.threads} thread(s), "
              f"{row['device']}); evaluation {row['evaluation_s']:.2f} s; peak RSS {row['peak_rss_mb']:.0f} MB",
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"dataset": args.dataset, "threads": args.threads, "device": args.device, "epochs": args.epochs,
                "all_train": args.all_train, "export": export.fingerprint(), "kgrec_commit": git_commit()}
    args.out.write_text(json.dumps({"machine": {**machine, "torch": torch.__version__, "load_average_after": load_average()},
                                    "settings": settings, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
