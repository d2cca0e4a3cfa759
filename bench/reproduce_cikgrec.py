"""Reproduce CIKGRec's DBbook2014 table: BPR-MF, LightGCN, SimGCL, CIKGRec and its ablations.

Every run trains from the graph (export of ``dbbook2014`` from Neo4j), selects its epoch on the
validation split carved from train, and reports test metrics; with ``track_test`` it also
records the test metrics of every epoch, so the paper's protocol (best epoch picked on test) can
be shown beside ours, labelled. Runs go in subprocesses (one torch thread each, ``--parallel``
at a time) so seconds per epoch and peak RSS are per run.

    .venv/bin/python bench/reproduce_cikgrec.py [--seeds 3] [--epochs 150] [--parallel 2]

Each finished run is appended to ``bench/results/reproduce_cikgrec.jsonl`` (a re-started bench
skips runs already there); the table goes to ``reproduce_cikgrec.md`` and all runs to ``.json``.
Uses ``NEO4J_URI`` & co. when set, else the local server (started if needed); ingests dbbook2014
from the data directory when the graph lacks it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATASET = "dbbook2014"
PAPER = {  # Table 1 and Table 3 of the paper (test-selected); R@50, R@100, N@50, N@100
    "lightgcn": (0.4214, 0.5358, 0.2230, 0.2481),
    "simgcl": (0.4280, 0.5369, 0.2376, 0.2610),
    "cikgrec": (0.4642, 0.5756, 0.2494, 0.2739),
    "cikgrec w/o UIK": (None, 0.5673, None, 0.2615),
    "cikgrec w/o UIR": (None, 0.5701, None, 0.2704),
    "cikgrec w/o CL": (None, 0.5732, None, 0.2659),
    "cikgrec w/o DMR": (None, 0.5712, None, 0.2709),
    "cikgrec linear": (None, 0.5733, None, 0.2716),
}
VARIANTS = {  # name -> (model, overrides)
    "bprmf": ("bprmf", {}),
    "lightgcn": ("lightgcn", {}),
    "simgcl": ("simgcl", {}),
    "cikgrec": ("cikgrec", {}),
    "cikgrec w/o UIK": ("cikgrec", {"use_interests": False}),
    "cikgrec w/o UIR": ("cikgrec", {"use_reconstruction": False}),
    "cikgrec w/o CL": ("cikgrec", {"use_contrastive": False}),
    "cikgrec w/o DMR": ("cikgrec", {"mask": "fixed"}),
    "cikgrec linear": ("cikgrec", {"mask": "linear"}),
}
METRICS = ("recall@50", "recall@100", "ndcg@50", "ndcg@100")


def _worker(variant: str, seed: int, epochs: int) -> None:
    import torch

    from kg_store.export import export_dataset
    from kgrec.api import connect
    from recommender.config import resolve_config
    from recommender.data import from_export
    from recommender.trainer import Trainer

    torch.set_num_threads(1)
    model, overrides = VARIANTS[variant]
    overrides = dict(overrides)
    model_config, train_config = resolve_config(model, DATASET, seed=seed, epochs=epochs, threads=1,
                                                track_test=True, **{k: v for k, v in overrides.items() if k != "mask"})
    if "mask" in overrides:
        from dataclasses import replace
        model_config = replace(model_config, mask=replace(model_config.mask, kind=overrides["mask"]))
    export = export_dataset(connect(), DATASET)
    data = from_export(export, valid_ratio=train_config.valid_ratio, seed=seed)
    result = Trainer(data, model, model_config, train_config, progress=False).fit()
    test_selected = max(result.history, key=lambda h: h.get("test_recall@50", -1))
    print(json.dumps({
        "variant": variant, "seed": seed, "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "seconds_per_epoch": result.seconds_per_epoch, "valid": result.valid, "test": result.test,
        "test_selected_on_test": {m: test_selected[f"test_{m}"] for m in METRICS},
        "test_selected_epoch": test_selected["epoch"], "sparsity_ndcg@50": result.sparsity,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _run(variant: str, seed: int, epochs: int, log: Path) -> dict:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, __file__, "--worker", variant, "--seed", str(seed),
                             "--epochs", str(epochs)], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{variant} seed {seed} failed:\n{result.stderr[-1500:]}", file=sys.stderr)
        return {"variant": variant, "seed": seed, "error": result.stderr[-500:]}
    row = json.loads(result.stdout.strip().splitlines()[-1])
    row["wall_s"] = round(time.perf_counter() - started, 1)
    with log.open("a") as handle:  # each finished run is kept, even if the bench is stopped later
        handle.write(json.dumps(row) + "\n")
    print(f"{variant:<18} seed {seed}  best epoch {row['best_epoch']:>3}/{row['epochs_run']:<3} "
          f"{row['seconds_per_epoch']:6.2f} s/epoch  R@50 {row['test']['recall@50']:.4f}  "
          f"N@50 {row['test']['ndcg@50']:.4f}  peak {row['peak_rss_mb']:.0f} MB", flush=True)
    return row


def _read_log(log: Path) -> list[dict]:
    """Finished runs (the last one per variant and seed)."""
    if not log.exists():
        return []
    rows = {}
    for line in log.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[(row["variant"], row["seed"])] = row
    return list(rows.values())


def _cell(values: list[float]) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def markdown(rows: list[dict]) -> str:
    ok = [r for r in rows if "error" not in r]
    lines = ["| model | seeds | R@50 | R@100 | N@50 | N@100 | paper R@50 / R@100 / N@50 / N@100 | "
             "test-selected R@50 / N@50 (paper's protocol) | s/epoch (1 thread) | peak RSS |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |"]
    for variant in VARIANTS:
        runs = [r for r in ok if r["variant"] == variant]
        if not runs:
            continue
        cells = [_cell([r["test"][m] for r in runs]) for m in METRICS]
        paper = " / ".join("—" if v is None else f"{v:.4f}" for v in PAPER.get(variant, (None,) * 4))
        selected = (f"{_cell([r['test_selected_on_test']['recall@50'] for r in runs])} / "
                    f"{_cell([r['test_selected_on_test']['ndcg@50'] for r in runs])}")
        lines.append(f"| {variant} | {len(runs)} | " + " | ".join(cells) + f" | {paper} | {selected} | "
                     f"{np.median([r['seconds_per_epoch'] for r in runs]):.2f} | "
                     f"{max(r['peak_rss_mb'] for r in runs):.0f} MB |")
    return "\n".join(lines)


def _ensure_dataset() -> None:
    from kg_store.datasets import list_datasets
    from kg_store.settings import settings_from_env
    from kgrec import api

    if settings_from_env() is None:
        api.start_local_neo4j()
    store = api.connect()
    if DATASET not in {row["name"] for row in list_datasets(store)}:
        api.ingest_named(store, DATASET)
    from kg_store.export import export_dataset

    export_dataset(store, DATASET)  # fill the cache once, before the parallel runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=2024, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ablation-seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=150, help="Maximum epochs (early stopping, patience 10).")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="Variants to run (default: all).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reproduce_cikgrec.json")
    parser.add_argument("--report", action="store_true", help="Only rebuild the table from finished runs.")
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.seed, args.epochs)
        return
    log = args.out.with_suffix(".jsonl")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not args.report:
        _ensure_dataset()
        finished = {(r["variant"], r["seed"]) for r in _read_log(log)}
        jobs = []
        for variant in args.only or VARIANTS:
            n = args.ablation_seeds if variant.startswith("cikgrec ") else args.seeds
            jobs += [(variant, 2024 + k) for k in range(n) if (variant, 2024 + k) not in finished]
        jobs.sort(key=lambda job: job[0].startswith("cikgrec "))  # the main table first, ablations last
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda job: _run(job[0], job[1], args.epochs, log), jobs))
    rows = _read_log(log)
    args.out.write_text(json.dumps({"dataset": DATASET, "date": time.strftime("%Y-%m-%d"), "runs": rows}, indent=2))
    table = markdown(rows)
    args.out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
