"""Reproduce CIKGRec's DBbook2014 table under three named protocols, resumably, across runs and machines.

For every (variant, seed) the bench trains two jobs from the graph (an export of ``dbbook2014``):

- ``refit``: choose the epoch on a validation split carved from train (this phase *is* the
  ``valid`` protocol, whose test score is reported as such), then retrain on all of train for that
  many epochs and score test once;
- ``test-selected``: the paper's protocol (all of train, best epoch picked on test), labelled as such
  and never used to choose anything of ours.

Variants are the baselines, CIKGRec with kgrec's defaults, CIKGRec with the ``reference`` preset
(every fidelity option as the reference code has it), and two kinds of *secondary* variants of
kgrec's defaults, run under ``refit`` only: each group of reference differences alone (optimiser,
autoencoder, contrast as coded or as in Eq. 9; the reference's TransE is kgrec's default, and
``with forward TransE`` measures TransE over the forward KG triples instead), to measure what each changes, the
paper's ablations (of ``--ablate``, by default kgrec's CIKGRec, the model of the main table), and a
one-at-a-time sweep of CIKGRec's hyper-parameters (``cikgrec tuned FIELD=VALUE``, ``TUNING``), whose
values are judged on validation R@50 only.
Each job runs in a subprocess with one torch thread, so seconds per epoch and peak RSS are its own.
Every finished job is appended to ``bench/results/reproduce_cikgrec_protocols.jsonl``; a restarted
bench skips jobs already there, so the grid accumulates across runs.

    .venv/bin/python bench/reproduce_cikgrec.py [--seeds 3] [--epochs 1000] [--parallel 2]
        [--only cikgrec-reference lightgcn] [--protocols refit] [--report]
    .venv/bin/python bench/reproduce_cikgrec.py --only "cikgrec with reference contrast" --fidelity-seeds 1
    .venv/bin/python bench/reproduce_cikgrec.py --only "cikgrec tuned" --protocols refit

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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.saved_exports import device_name, gpu_peak_mb, load_export  # noqa: E402

DATASET = "dbbook2014"
RESULTS = REPO / "bench" / "results"
LOG = RESULTS / "reproduce_cikgrec_protocols.jsonl"
# base runs kept only to pair exactly with variants trained from the same export (same ``export``
# fingerprint): same seed *and* same load, hence the same validation split and batches; one log per
# load, so that a log's finished seeds never stop a run on another load
SAME_LOAD_BASES = "reproduce_cikgrec_same_load*.jsonl"
PAPER = {  # Table 1 and Table 3 of the paper (test-selected); R@50, N@50
    "lightgcn": (0.4214, 0.2230),
    "simgcl": (0.4280, 0.2376),
    "cikgrec": (0.4642, 0.2494),
}
# Table 3 of the paper (DBbook2014, R@100 / N@100): each ablation's gap to its full model, 0.5756 / 0.2739
PAPER_ABLATION_GAP = {
    "w/o UIK": (-0.0083, -0.0124),
    "w/o UIR": (-0.0055, -0.0035),
    "w/o CL": (-0.0024, -0.0080),
    "w/o DMR": (-0.0044, -0.0030),
    "linear": (-0.0023, -0.0023),
}
ABLATIONS = {  # suffix -> overrides; applied to the CIKGRec config named by --ablate
    "w/o UIK": {"use_interests": False},
    "w/o UIR": {"use_reconstruction": False},
    "w/o CL": {"use_contrastive": False},
    "w/o DMR": {"mask": "fixed"},
    "linear": {"mask": "linear"},
}
FIDELITY = {  # suffix -> overrides: one group of the reference code's differences at a time
    "with reference optimiser": {"lr": 8e-4, "batch_size": 1024},
    "with reference autoencoder": {"replace_rate": 0.15, "reconstruction_edge_dropout": 0.2,
                                   "projection_init": "xavier"},
    "with reference contrast": {"contrast_mode": "reference"},
    "with paper contrast": {"contrast_mode": "paper"},
    # the reverse of the default: TransE on the forward KG triples with L2, one pass an epoch
    "with forward TransE": {"transe_triples": "forward", "transe_distance": "l2",
                            "transe_steps": "epoch", "transe_batch_size": 8192},
}
# one hyper-parameter at a time around kgrec's CIKGRec, chosen on validation only: a value replaces the
# default only if its mean valid R@50 over 3 seeds beats the default's by more than the seeds' spread,
# on the CPU and on a GPU each (view noise 0.2 passed on an H200 and failed on the CPU)
TUNING: dict[str, tuple[Any, ...]] = {
    "cl_weight": (0.005, 0.02, 0.05),          # lambda_3, 0.01
    "temperature": (0.1, 0.3),                 # tau, 0.2
    "noise_eps": (0.05, 0.2),                  # the perturbed view's noise, 0.1
    "reconstruction_weight": (0.01, 0.1),      # lambda_2, 0.03
    "l2": (1e-4,),                             # 1e-5
    "lr": (1e-3,),                             # 2e-3
    "mask_horizon": (80, 320),                 # Lambda, 150: the paper searches {80, 160, 320}
}
MASK_FIELDS = {"mask": "kind", "mask_horizon": "horizon"}   # overrides of the MaskSchedule, not the config
BASE_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {  # name -> (model, overrides)
    "bprmf": ("bprmf", {}),
    "lightgcn": ("lightgcn", {}),
    "simgcl": ("simgcl", {}),
    "cikgrec": ("cikgrec", {}),
    "cikgrec-reference": ("cikgrec", {"preset": "reference"}),
}
PROTOCOL_JOBS = ("refit", "test-selected")
METRICS = ("recall@20", "recall@50", "recall@100", "ndcg@20", "ndcg@50", "ndcg@100")


def variants(ablate: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The base variants, each fidelity group on kgrec's CIKGRec, and the ablations of ``ablate``."""
    table = dict(BASE_VARIANTS)
    for suffix, overrides in FIDELITY.items():
        table[f"cikgrec {suffix}"] = ("cikgrec", overrides)
    model, base = BASE_VARIANTS[ablate]
    for suffix, overrides in ABLATIONS.items():
        table[f"{ablate} {suffix}"] = (model, {**base, **overrides})
    for field_name, values in TUNING.items():
        for value in values:
            table[f"cikgrec tuned {field_name}={value}"] = ("cikgrec", {field_name: value})
    return table


def expand_names(wanted: list[str], names: list[str]) -> list[str]:
    """``--only`` entries: a variant's name, or the start of several up to a word or ``=``
    (``"cikgrec tuned"``, ``"cikgrec w/o"``, ``"cikgrec tuned cl_weight"``)."""
    out: list[str] = []
    for entry in wanted:
        matches = [entry] if entry in names else [n for n in names if n.startswith((entry + " ", entry + "="))]
        if not matches:
            raise SystemExit(f"--only: no variant is named or starts with {entry!r}")
        out += [n for n in matches if n not in out]
    return out


# the kinds of variant, in the order their jobs run
KINDS = ("main", "ablation", "tuned", "fidelity")


def kind_of(variant: str) -> str:
    """main table (no space in the name), fidelity group, sweep value or ablation."""
    if not is_secondary(variant):
        return "main"
    if variant.startswith("cikgrec with"):
        return "fidelity"
    return "tuned" if variant.startswith("cikgrec tuned") else "ablation"


def seeds_of(variant: str, seeds: int, ablation_seeds: int, fidelity_seeds: int, tuning_seeds: int) -> int:
    """How many seeds a variant runs, by its kind."""
    return {"main": seeds, "ablation": ablation_seeds, "tuned": tuning_seeds,
            "fidelity": fidelity_seeds}[kind_of(variant)]


def is_secondary(variant: str) -> bool:
    """Fidelity groups and ablations (names with a space): refit only, compared with their base."""
    return " " in variant


def _resolve(model: str, overrides: dict[str, Any], **settings: Any):
    from dataclasses import replace

    from recommender.config import resolve_config

    plain = {k: v for k, v in overrides.items() if k not in MASK_FIELDS}
    model_config, train_config = resolve_config(model, DATASET, **plain, **settings)
    mask = {MASK_FIELDS[k]: v for k, v in overrides.items() if k in MASK_FIELDS}
    if mask:
        model_config = replace(model_config, mask=replace(model_config.mask, **mask))
    return model_config, train_config


def _evaluation_seconds(result: Any, data: Any, train_config: Any) -> float:
    """Time of one full-ranking test evaluation of the trained model (all users, all items)."""
    import torch

    from recommender.evaluate import evaluate_ranking

    model = result.model
    model.eval()
    started = time.perf_counter()
    with torch.no_grad():
        embeddings = model.final_embeddings()
        evaluate_ranking(lambda users: model.score_users(users, embeddings), data.n_users, data.n_items,
                         data.test, [data.train, data.valid], train_config.ks, train_config.eval_batch_size,
                         model.device)
    return time.perf_counter() - started


def _worker(variant: str, protocol: str, seed: int, epochs: int, ablate: str, export_file: Path | None = None,
            device: str = "auto") -> None:
    import torch

    from kg_store.paths import kgrec_cache_home
    from recommender.data import from_export
    from recommender.trainer import Trainer, run_key

    torch.set_num_threads(1)
    model, overrides = variants(ablate)[variant]
    model_config, train_config = _resolve(model, overrides, seed=seed, epochs=epochs, threads=1, protocol=protocol,
                                          device=device)
    export = load_export(export_file, DATASET)
    valid_ratio = train_config.valid_ratio if protocol != "test-selected" else 0.0
    data = from_export(export, valid_ratio=valid_ratio, seed=seed)
    fingerprint = export.fingerprint()   # same fingerprint and seed: same validation split and batches
    # checkpoints keyed by data and config: a bench killed mid-run resumes the job on this machine
    checkpoints = kgrec_cache_home() / "bench-runs" / run_key(model, DATASET, fingerprint, model_config, train_config)
    result = Trainer(data, model, model_config, train_config, checkpoint_dir=checkpoints, progress=False).fit()
    metrics = result.metrics()
    print(json.dumps({
        "variant": variant, "protocol": protocol, "seed": seed, "max_epochs": epochs, "metrics": metrics,
        "evaluation_s": round(_evaluation_seconds(result, data, train_config), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "config": {"model": model, "overrides": {k: str(v) for k, v in overrides.items()}},
        "device": device_name(result.model.device), "peak_gpu_mb": gpu_peak_mb(result.model.device),
        "export": fingerprint,
    }))


def _run(job: tuple[str, str, int], epochs: int, ablate: str, log: Path = LOG, export_file: Path | None = None,
         device: str = "auto", stop_at: float = float("inf")) -> dict:
    """One job in its own process; none starts after ``stop_at`` (a ``time.monotonic()`` deadline), and a
    running one is stopped there, unlogged (its checkpoints stay, so a rerun on this machine resumes it)."""
    variant, protocol, seed = job
    if time.monotonic() >= stop_at:
        return {"variant": variant, "protocol": protocol, "seed": seed, "error": "not started: deadline"}
    started = time.perf_counter()
    command = [sys.executable, __file__, "--worker", variant, "--protocol-job", protocol, "--seed", str(seed),
               "--epochs", str(epochs), "--ablate", ablate, "--device", device]
    if export_file is not None:
        command += ["--export-file", str(export_file)]
    try:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=None if stop_at == float("inf") else max(1.0, stop_at - time.monotonic()))
    except subprocess.TimeoutExpired:
        print(f"{variant} {protocol} seed {seed} stopped at the deadline", file=sys.stderr, flush=True)
        return {"variant": variant, "protocol": protocol, "seed": seed, "error": "stopped: deadline"}
    if result.returncode != 0:
        print(f"{variant} {protocol} seed {seed} failed:\n{result.stderr[-2000:]}", file=sys.stderr, flush=True)
        return {"variant": variant, "protocol": protocol, "seed": seed, "error": result.stderr[-800:]}
    row = json.loads(result.stdout.strip().splitlines()[-1])
    row["wall_s"] = round(time.perf_counter() - started, 1)
    row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    with log.open("a") as handle:  # each finished job is kept, even if the bench is stopped later
        handle.write(json.dumps(row) + "\n")
    test = row["metrics"]["test"]
    print(f"{variant:<28} {protocol:<13} seed {seed}  best epoch {row['metrics']['best_epoch']:>4}  "
          f"{row['metrics']['seconds_per_epoch']:6.2f} s/epoch  R@50 {test['recall@50']:.4f}  "
          f"N@50 {test['ndcg@50']:.4f}  peak {row['peak_rss_mb']:.0f} MB  wall {row['wall_s']:.0f} s", flush=True)
    return row


def device_of(row: dict) -> str:
    """The device a job ran on (rows from before the field existed ran on the CPU)."""
    return row.get("device") or "cpu"


def read_log(*logs: Path) -> list[dict]:
    """Finished jobs of one or more logs, the last one per (variant, protocol, seed, device)."""
    rows = {}
    for log in logs or (LOG,):
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if "error" not in row:
                    rows[(row["variant"], row["protocol"], row["seed"], device_of(row))] = row
    return list(rows.values())


def protocol_scores(row: dict) -> dict[str, dict[str, float]]:
    """The test metrics a finished job contributes, per protocol name."""
    metrics = row["metrics"]
    if row["protocol"] == "refit":
        return {"valid": metrics["valid_protocol_test"], "refit": metrics["test"]}
    return {"test-selected": metrics["test"]}


def _cell(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def markdown(rows: list[dict], names: list[str]) -> str:
    header = ("| model | protocol | seeds | R@50 | N@50 | R@100 | N@100 | paper R@50 / N@50 | epochs to the chosen weights | "
              "s/epoch | eval s | peak RSS |")
    lines = [header, "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for variant in names:
        for protocol in ("valid", "refit", "test-selected"):
            runs = [r for r in rows if r["variant"] == variant and protocol in protocol_scores(r)]
            if not runs:
                continue
            scores = [protocol_scores(r)[protocol] for r in runs]
            paper = PAPER.get(variant.removesuffix("-reference"))
            paper_cell = f"{paper[0]:.4f} / {paper[1]:.4f}" if paper and protocol == "test-selected" else ""
            epochs = ",".join(str(r["metrics"]["refit_epochs"] if protocol == "refit" else r["metrics"]["best_epoch"] + 1)
                              for r in runs)  # epochs trained up to the chosen weights, per seed
            label = protocol + (" (chosen on test)" if protocol == "test-selected" else "")
            lines.append(
                f"| {variant} | {label} | {len(runs)} | "
                + " | ".join(_cell([s[m] for s in scores]) for m in ("recall@50", "ndcg@50", "recall@100", "ndcg@100"))
                + f" | {paper_cell} | {epochs} | {np.median([r['metrics']['seconds_per_epoch'] for r in runs]):.2f} | "
                f"{np.median([r['evaluation_s'] for r in runs]):.2f} | {max(r['peak_rss_mb'] for r in runs):.0f} MB |")
    return "\n".join(lines)


def _delta(paired: list[tuple[dict, dict]], metric: str, split: str = "test") -> str:
    """Mean gap of (variant, base) runs on the same seeds, on ``split`` (test, or valid: what chooses)."""
    if not paired:
        return "—"
    gaps = [r["metrics"][split][metric] - b["metrics"][split][metric] for r, b in paired]
    return f"{np.mean(gaps):+.4f}"


def _runs(runs: Iterable[dict]) -> str:
    """'3 seeds', or '3 seeds, 6 runs' where some seed ran on more than one device."""
    runs = list(runs)
    seeds = len({r["seed"] for r in runs})
    text = f"{seeds} seed{'s' * (seeds > 1)}"
    return text if seeds == len(runs) else f"{text}, {len(runs)} runs"


def secondary_markdown(rows: list[dict], names: list[str], same_load_bases: list[dict] = ()) -> str:
    """Each fidelity group and ablation under refit against its base on the same seeds: what it changes.

    A run is paired with its base's run of the same seed *on the same device* (CPU and GPU draw
    different random numbers), so one row may hold seeds from several devices' logs. Where a base run
    from the same export exists (``export`` fingerprint, e.g. in ``same_load_bases``) it is preferred:
    only then do the two runs share the validation split and the batches, not just the seed.
    """
    refit = {(r["variant"], r["seed"], device_of(r)): r for r in rows if r["protocol"] == "refit"}
    same_load = {(r["variant"], r["seed"], device_of(r), r["export"]): r
                 for r in [*rows, *same_load_bases] if r["protocol"] == "refit" and r.get("export")}
    lines = ["| variant (refit) | seeds | valid R@50 | Δ valid R@50 | test R@50 | test N@50 | Δ test R@50 | "
             "Δ test N@50 | Δ test R@100 / N@100 | paper Δ R@100 / N@100 | paired seeds | epochs | device per seed | "
             "s/epoch |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |"]
    for variant in names:
        base = variant.split(" ")[0]
        runs = sorted((r for (v, _, _), r in refit.items() if v == variant), key=lambda r: r["seed"])
        if not runs:
            continue
        paired, exact = [], 0
        for r in runs:
            match = same_load.get((base, r["seed"], device_of(r), r.get("export")))
            exact += match is not None
            match = match or refit.get((base, r["seed"], device_of(r)))
            if match is not None:
                paired.append((r, match))
        paper = PAPER_ABLATION_GAP.get(variant.removeprefix(base + " "))
        pairs_cell = (_runs(r for r, _ in paired) + (f" ({exact} on the same load)" if exact else "")) if paired else "—"
        lines.append(
            f"| {variant} | {_runs(runs)} | {_cell([r['metrics']['valid']['recall@50'] for r in runs])} | "
            f"{_delta(paired, 'recall@50', 'valid')} | "
            f"{_cell([r['metrics']['test']['recall@50'] for r in runs])} | "
            f"{_cell([r['metrics']['test']['ndcg@50'] for r in runs])} | "
            f"{_delta(paired, 'recall@50')} | {_delta(paired, 'ndcg@50')} | "
            f"{_delta(paired, 'recall@100')} / {_delta(paired, 'ndcg@100')} | "
            f"{f'{paper[0]:+.4f} / {paper[1]:+.4f}' if paper else ''} | {pairs_cell} | "
            f"{','.join(str(r['metrics']['refit_epochs']) for r in runs)} | "
            f"{', '.join(str(r['seed']) + ': ' + device_of(r) for r in runs)} | "
            f"{np.median([r['metrics']['seconds_per_epoch'] for r in runs]):.2f} |")
    return "\n".join(lines)


def _ensure_dataset() -> None:
    from kg_store.datasets import list_datasets
    from kg_store.export import export_dataset
    from kg_store.settings import settings_from_env
    from kgrec import api

    if settings_from_env() is None:
        api.start_local_neo4j()
    store = api.connect()
    if DATASET not in {row["name"] for row in list_datasets(store)}:
        api.ingest_named(store, DATASET)
    export_dataset(store, DATASET)  # fill the export cache once, before the parallel runs


def pending_jobs(names: list[str], protocols: list[str], seeds: int, ablation_seeds: int,
                 fidelity_seeds: int = 1, log: Path = LOG, also: tuple[Path, ...] = (),
                 tuning_seeds: int = 1) -> list[tuple[str, str, int]]:
    """Jobs not finished in ``log`` nor in the ``also`` logs (on any device)."""
    finished = {(r["variant"], r["protocol"], r["seed"]) for r in read_log(log, *also)}
    jobs = []
    for variant in names:
        secondary = is_secondary(variant)  # compared under refit only, like the paper's ablations
        n = seeds_of(variant, seeds, ablation_seeds, fidelity_seeds, tuning_seeds)
        wanted = [p for p in protocols if p == "refit" or not secondary]
        jobs += [(variant, protocol, 2024 + k) for k in range(n) for protocol in wanted
                 if (variant, protocol, 2024 + k) not in finished]
    # main table first, then the ablations (which the table needs), the sweep and the fidelity groups,
    # each one seed at a time, in the order the variants were named
    return sorted(jobs, key=lambda job: (KINDS.index(kind_of(job[0])), job[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--protocol-job", default="refit", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=2024, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ablation-seeds", type=int, default=3)
    parser.add_argument("--fidelity-seeds", type=int, default=1,
                        help="Seeds for each 'cikgrec with ...' fidelity group.")
    parser.add_argument("--tuning-seeds", type=int, default=1,
                        help="Seeds for each 'cikgrec tuned ...' value (3 for a candidate that validation favoured).")
    parser.add_argument("--ablate", default="cikgrec", choices=[n for n in BASE_VARIANTS if "cikgrec" in n],
                        help="The CIKGRec variant whose ablations are run.")
    parser.add_argument("--epochs", type=int, default=1000, help="Maximum epochs (early stopping on patience).")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None,
                        help="Variants to run, by name or by the start of several names ('cikgrec tuned'); default: all.")
    parser.add_argument("--protocols", nargs="*", default=list(PROTOCOL_JOBS), choices=PROTOCOL_JOBS)
    parser.add_argument("--report", action="store_true", help="Only rebuild the table from finished jobs.")
    parser.add_argument("--log", type=Path, default=LOG,
                        help="Results log (the markdown goes beside it); e.g. a separate one per device kind.")
    parser.add_argument("--also", nargs="*", type=Path, default=[],
                        help="Other devices' logs: their finished jobs are not rerun, and the fidelity and ablation "
                             "table pools their seeds (each paired with its base on the same device).")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda.")
    parser.add_argument("--export-file", type=Path, default=None,
                        help="Train from this saved export (see --save-export) instead of the graph: no Neo4j needed.")
    parser.add_argument("--save-export", type=Path, default=None,
                        help="Only save the graph's dbbook2014 export to this file, for --export-file elsewhere.")
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="Start no job after this many seconds and stop running ones there (unlogged).")
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.protocol_job, args.seed, args.epochs, args.ablate, args.export_file, args.device)
        return
    if args.save_export:
        _ensure_dataset()
        load_export(None, DATASET).save(args.save_export)
        return
    names = list(variants(args.ablate))
    args.log.parent.mkdir(parents=True, exist_ok=True)
    if not args.report:
        if args.export_file is None:
            _ensure_dataset()
        jobs = pending_jobs(expand_names(args.only, names) if args.only else names, args.protocols, args.seeds,
                            args.ablation_seeds, args.fidelity_seeds, args.log, tuple(args.also), args.tuning_seeds)
        print(f"{len(jobs)} job(s) to run; finished ones are skipped", flush=True)
        stop_at = time.monotonic() + args.deadline_s if args.deadline_s else float("inf")
        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(lambda job: _run(job, args.epochs, args.ablate, args.log, args.export_file, args.device,
                                           stop_at),
                          jobs))
    pooled = read_log(args.log, *args.also)
    # variants found only in a log (e.g. an archived one) are reported after the defined ones
    names += sorted({row["variant"] for row in pooled} - set(names))
    table = markdown(read_log(args.log), [n for n in names if not is_secondary(n)])
    same_load = [row for log in sorted(RESULTS.glob(SAME_LOAD_BASES)) for row in read_log(log)]
    table += "\n\n" + secondary_markdown(pooled, [n for n in names if is_secondary(n)], same_load)
    args.log.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
