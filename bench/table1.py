"""CIKGRec's Table 1 on DBbook2014 for every registered ranking model: three seeds, two protocols, resumably.

Every model of ``recommender.registry`` (the eleven of the paper's Table 1 by default; ``bprmf`` when
named) trains with its registry defaults (``resolve_config``), embedding size 64, and CIKGRec's epoch
cap and early stopping (``patience``, ``eval_every`` and ``min_epochs`` as ``resolve_config("cikgrec")``
gives them, whatever the model's own defaults say), under two protocols:

- ``refit``, kgrec's protocol: the epoch is chosen on a validation split carved from train, then a
  fresh model trains on all of train for that many epochs and test is scored once;
- ``test-selected``, the paper's protocol: all of train, the best epoch picked on test. Labelled as
  such everywhere: its numbers compare with the paper's and choose nothing of kgrec's.

Each job runs in its own subprocess (one torch thread unless ``--threads``), so its seconds per
epoch and its peak memory are its own: ``peak_rss_mb`` is ``getrusage(RUSAGE_SELF).ru_maxrss`` of
that process (Python, torch, the data and the model). Every finished job is appended to the results
file (``bench/results/table1.jsonl``) with the machine and the kgrec commit; a restarted bench skips
jobs already there. The markdown (``table1.md`` beside the results file) and the user-activity
figure (``table1_sparsity.svg``) are made from the results file alone; ``--table`` remakes them
without training, and the docs page ``docs/benchmarks/table1.md`` is filled from the same file when
the site is built.

A run with ``--epochs`` below the full cap is a smoke run: its rows carry ``"smoke": true``, never
count as finished for a full run, and a table shows the full rows or, in a file with none, the smoke
rows under a banner, never both.

    .venv/bin/python bench/table1.py --export-file /tmp/exports/dbbook2014.npz
    .venv/bin/python bench/table1.py --models lightgcn --seeds 2024 --protocols test-selected --epochs 3 \\
        --export-file /tmp/exports/dbbook2014.npz --out /tmp/table1_smoke.jsonl
    .venv/bin/python bench/table1.py --table

Without ``--export-file`` the models train from the graph's ``dbbook2014`` (``NEO4J_URI`` & co., else
the local server; ingested when the graph lacks it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.jsonl_results import append_result  # noqa: E402
from bench.machine import describe, git_commit  # noqa: E402
from bench.reproduce_cikgrec import _ensure_dataset, _evaluation_seconds  # noqa: E402
from bench.saved_exports import device_name, gpu_peak_mb, load_export  # noqa: E402
from bench.table1_report import PAPER, markdown, read_rows, sparsity_svg  # noqa: E402

DATASET = "dbbook2014"
OUT = REPO / "bench" / "results" / "table1.jsonl"
SEEDS = (2024, 2025, 2026)
PROTOCOLS = ("refit", "test-selected")
MAX_EPOCHS = 1000        # the reproduction's cap (the paper's is 2000); early stopping ends every run well before
EMBEDDING_DIM = 64       # the paper's, for every model
STOPPING = ("patience", "eval_every", "min_epochs")   # CIKGRec's early stopping, given to every model


def table1_models() -> list[str]:
    """The registered ranking models of Table 1 (all but bprmf), in the paper's order; others after."""
    from recommender.registry import model_names

    names = [m for m in model_names() if m != "bprmf"]
    return [m for m in PAPER if m in names] + sorted(set(names) - set(PAPER))


def job_config(model: str, protocol: str, seed: int, epochs: int, threads: int, device: str = "auto",
               settings: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(model config, TrainConfig): the registry defaults, embedding 64, CIKGRec's cap and early stopping.

    A model whose own defaults ask for more epochs before early stopping may end a run (CFKG's, chosen
    on validation) keeps its larger ``min_epochs``; patience and the evaluation interval are CIKGRec's."""
    from recommender.config import resolve_config

    _, cikgrec = resolve_config("cikgrec", DATASET)
    _, own = resolve_config(model, DATASET)
    stopping = {name: getattr(cikgrec, name) for name in STOPPING}
    stopping["min_epochs"] = max(stopping.get("min_epochs", 0), own.min_epochs)
    return resolve_config(model, DATASET, embedding_dim=EMBEDDING_DIM, seed=seed, epochs=epochs, threads=threads,
                          protocol=protocol, device=device, **stopping, **(settings or {}))


def variant_label(model: str, settings: dict[str, Any]) -> str:
    """How a row names its model: the registered name, with the ``--set`` settings of a variant run."""
    if not settings:
        return model
    return f"{model} ({', '.join(f'{k}={v}' for k, v in sorted(settings.items()))})"


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs; a value is read as JSON when it parses (numbers, true/false), else a string."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes NAME=VALUE, not {pair!r}")
        try:
            settings[name] = json.loads(text)
        except json.JSONDecodeError:
            settings[name] = text
    return settings


def _worker(model: str, protocol: str, seed: int, epochs: int, threads: int, export_file: Path | None,
            device: str, settings: dict[str, Any]) -> dict:
    """Train one job in this process and return its row (the parent adds machine, commit and wall time)."""
    import torch

    from kg_store.paths import kgrec_cache_home
    from recommender.data import from_export
    from recommender.trainer import Trainer, run_key

    torch.set_num_threads(threads)
    model_config, train_config = job_config(model, protocol, seed, epochs, threads, device, settings)
    export = load_export(export_file, DATASET)
    data = from_export(export, valid_ratio=train_config.valid_ratio if protocol == "refit" else 0.0, seed=seed)
    fingerprint = export.fingerprint()
    # checkpoints keyed by data and config: a bench killed mid-job resumes it on this machine
    checkpoints = kgrec_cache_home() / "bench-runs" / run_key(model, DATASET, fingerprint, model_config, train_config)
    result = Trainer(data, model, model_config, train_config, checkpoint_dir=checkpoints, progress=False).fit()
    return {
        "model": variant_label(model, settings), "registered_model": model, "settings": settings,
        "protocol": protocol, "seed": seed, "smoke": epochs < MAX_EPOCHS, "max_epochs": epochs,
        "metrics": result.metrics(), "notes": list(result.notes),
        "evaluation_s": round(_evaluation_seconds(result, data, train_config), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": device_name(result.model.device), "peak_gpu_mb": gpu_peak_mb(result.model.device),
        "threads": threads, "export": fingerprint,
        "train": {name: getattr(train_config, name) for name in ("lr", "batch_size", "valid_ratio", "select_metric",
                                                                 *STOPPING)},
        "model_config": asdict(model_config),
    }


def pending_jobs(models: list[str], seeds: list[int], protocols: list[str], epochs: int,
                 path: Path, settings: dict[str, Any] | None = None) -> list[tuple[str, str, int]]:
    """The (model, protocol, seed) jobs ``path`` lacks at this cap's kind (a smoke row never stands for a
    full one), one seed at a time so that a stopped bench leaves whole seeds of every model."""
    smoke = epochs < MAX_EPOCHS
    done = {(r["model"], r["protocol"], r["seed"]) for r in read_rows(path) if bool(r.get("smoke")) == smoke}
    return [(m, p, s) for s in seeds for m in models for p in protocols
            if (variant_label(m, settings or {}), p, s) not in done]


def _run(job: tuple[str, str, int], args: argparse.Namespace) -> dict | None:
    """One job in its own process; its row appended to ``args.out`` when it finishes, None when it failed."""
    model, protocol, seed = job
    command = [sys.executable, __file__, "--worker", model, "--protocol-job", protocol, "--seed", str(seed),
               "--epochs", str(args.epochs), "--threads", str(args.threads), "--device", args.device,
               *(item for pair in args.set for item in ("--set", pair))]
    if args.export_file is not None:
        command += ["--export-file", str(args.export_file)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"{model} {protocol} seed {seed} failed:\n{done.stderr[-2000:]}", file=sys.stderr, flush=True)
        return None
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row.update(wall_s=round(time.perf_counter() - started, 1), commit=git_commit(), machine=describe())
    append_result(args.out, row)
    return row


def write_report(path: Path) -> str:
    """The markdown and the SVG beside the results file ``path``, made from its rows alone."""
    rows = read_rows(path)
    svg_path = path.with_name(path.stem + "_sparsity.svg")
    svg = sparsity_svg(rows)
    if svg:
        svg_path.write_text(svg)
    text = markdown(rows, path.name, svg_path.name if svg else None)
    path.with_suffix(".md").write_text(text + "\n")
    return text


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--protocol-job", default="refit", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=2024, help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="*", default=None,
                        help="Registered ranking models (default: the eleven of Table 1, all but bprmf).")
    parser.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS))
    parser.add_argument("--protocols", nargs="*", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per job.")
    parser.add_argument("--parallel", type=int, default=1, help="Jobs at once (each in its own process).")
    parser.add_argument("--epochs", type=int, default=MAX_EPOCHS,
                        help=f"Epoch cap ({MAX_EPOCHS}); below it the rows are smoke rows, kept apart from results.")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda.")
    parser.add_argument("--export-file", type=Path, default=None,
                        help="Train from this saved export (GraphExport.save's .npz) instead of the graph: no Neo4j.")
    parser.add_argument("--out", type=Path, default=OUT, help="Results file (JSONL); the markdown and SVG go beside it.")
    parser.add_argument("--table", action="store_true", help="Only remake the markdown and SVG from the results file.")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="A setting over the model's defaults (repeatable): a variant run, named with its "
                             "settings in the results; give it its own --out, apart from Table 1's rows.")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    if args.worker:
        row = _worker(args.worker, args.protocol_job, args.seed, args.epochs, args.threads, args.export_file,
                      args.device, parse_settings(args.set))
        print(json.dumps(row, default=str))
        return
    failed = 0
    if not args.table:
        from recommender.registry import model_spec

        models = args.models or table1_models()
        for model in models:
            model_spec(model)          # an unknown name stops here, listing the registered ones
        if args.export_file is None:
            _ensure_dataset()
        settings = parse_settings(args.set)
        if settings and args.out == OUT:
            raise SystemExit("A variant run (--set) goes to its own --out file, apart from Table 1's rows.")
        jobs = pending_jobs(models, args.seeds, args.protocols, args.epochs, args.out, settings)
        print(f"{len(jobs)} job(s) to run into {args.out}; finished ones are skipped", flush=True)
        with ThreadPoolExecutor(max(1, args.parallel)) as pool:
            failed = sum(row is None for row in pool.map(lambda job: _run(job, args), jobs))
    print(write_report(args.out))
    if failed:
        raise SystemExit(f"{failed} job(s) failed; rerun to retry them (finished jobs are kept).")


if __name__ == "__main__":
    main()
