"""Reproduce KELLMRec's Tables 3, 4 and 6 on ml-100k, resumably, across runs and machines.

Every (model, variant, seed) is one job: a CTR model (DeepFM, DIN, DIEN) or a reranker on the
sampled candidate lists (DLCM, PRM, SetRank), trained from the graph by ``kgrec.ctr_training``
(epoch chosen on validation with early stopping, test scored once; paper defaults lr 1e-4, batch
256) and never written back to the graph (no ``TrainingRun``, no ``RECOMMENDED`` edges; the bench
only stores, when missing, what training reads: text vectors, the CTR user split and the sampled
candidate lists). The variants are the text each job reads:

- ``id-only``: no text;
- ``facts`` / ``facts+contrast``: the items' own facts (title, genres, year, IMDb plot) as
  ``facts_minilm``, text with no LLM, without / with the SWING knowledge contrast;
- ``kellmrec`` / ``kellmrec-no-contrast``: the LLM item descriptions (Wikipedia-grounded when
  linked) as ``description_minilm``, with / without the contrast (KELLMRec, and its ablation
  "w/o contrastive learning");
- ``ungrounded`` / ``ungrounded-no-contrast``: the title-only LLM descriptions as
  ``ungrounded_minilm``, with / without the contrast (the ablation "w/o external knowledge", and
  the paper's LLMRec: LLM text, no knowledge, no contrast).

Before the jobs, each text variant's vectors are encoded when missing (``encode_dataset``, cached by
text hash). A variant whose text is missing on more than ``1 - --min-coverage`` of the items is
skipped with its reason printed and recorded in the log, never trained on mostly-zero text.

Each job runs in a subprocess with one torch thread, so seconds per epoch and peak RSS are its own.
Every finished job (and every skip) is appended to ``bench/results/reproduce_kellmrec.jsonl``; a
restarted bench skips jobs already there (skips are retried), so the grid accumulates across runs.
The markdown tables are rebuilt from the log into ``bench/results/reproduce_kellmrec.md``.

    .venv/bin/python bench/reproduce_kellmrec.py [--seeds 3] [--epochs 30] [--parallel 1]
        [--only din prm id-only kellmrec] [--min-coverage 0.95] [--log PATH] [--report]

``--only`` takes model and/or variant names: a job runs when its model is among the named models
(all when none is named) and its variant among the named variants (all when none is named).

Uses ``NEO4J_URI`` & co. when set, else the local server (started if needed); ml-100k must be ingested.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATASET = "ml-100k"
RESULTS = REPO / "bench" / "results"
LOG = RESULTS / "reproduce_kellmrec.jsonl"
FIRST_SEED = 2024
CTR_MODELS = ("deepfm", "din", "dien")
RERANK_MODELS = ("dlcm", "prm", "setrank")
MODELS = CTR_MODELS + RERANK_MODELS
VARIANTS: dict[str, tuple[str | None, bool, str]] = {  # name -> (text vector or recipe name, contrast, table label)
    "id-only": (None, False, "ID-only"),
    "facts": ("facts_minilm", False, "facts text"),
    "facts+contrast": ("facts_minilm", True, "facts text + contrast"),
    "ungrounded-no-contrast": ("ungrounded_minilm", False, "LLM text, no knowledge, no contrast (LLMRec)"),
    "kellmrec": ("description_minilm", True, "KELLMRec (LLM text + knowledge + contrast)"),
    "ungrounded": ("ungrounded_minilm", True, "KELLMRec w/o external knowledge"),
    "kellmrec-no-contrast": ("description_minilm", False, "KELLMRec w/o contrastive learning"),
    # the recipe `kellmrec`: the same item text, and LLM user descriptions written from the CTR profile
    # history (the rows above give users the mean item vector of that history instead)
    "kellmrec+user-text": ("kellmrec", True, "KELLMRec with LLM user descriptions"),
}
# paper Table 3 (MovieLens-1M): model -> variant -> (AUC, LogLoss)
PAPER_CTR = {
    "deepfm": {"id-only": (0.7672, 0.5665), "ungrounded-no-contrast": (0.7786, 0.5567), "kellmrec": (0.7791, 0.5561)},
    "din": {"id-only": (0.7690, 0.5639), "ungrounded-no-contrast": (0.7791, 0.5550), "kellmrec": (0.7795, 0.5554)},
    "dien": {"id-only": (0.7526, 0.5821), "ungrounded-no-contrast": (0.7785, 0.5586), "kellmrec": (0.7797, 0.5559)},
}
# paper Table 4 (WeChat-ArticleRec): model -> variant -> (NDCG@3, NDCG@7, MAP@3, MAP@7)
PAPER_RERANK = {
    "dlcm": {"id-only": (0.6293, 0.7091, 0.5855, 0.6271), "ungrounded-no-contrast": (0.8182, 0.8499, 0.7860, 0.8029),
             "kellmrec": (0.8258, 0.8557, 0.7942, 0.8101)},
    "prm": {"id-only": (0.6330, 0.7115, 0.5792, 0.6214), "ungrounded-no-contrast": (0.8204, 0.8522, 0.7882, 0.8052),
            "kellmrec": (0.8341, 0.8627, 0.8037, 0.8190)},
    "setrank": {"id-only": (0.1860, 0.3436, 0.1579, 0.2371), "ungrounded-no-contrast": (0.2487, 0.3983, 0.2161, 0.2917),
                "kellmrec": (0.7950, 0.8324, 0.7597, 0.7797)},
}
# paper Table 6: (model, metric) -> (KELLMRec, w/o external knowledge, w/o contrastive learning)
PAPER_ABLATION = {("dien", "auc"): (0.7797, 0.7792, 0.7789), ("prm", "ndcg@3"): (0.8341, 0.8283, 0.8321)}
ABLATION_COLUMNS = ("kellmrec", "ungrounded", "kellmrec-no-contrast")
CTR_METRICS = ("auc", "logloss")
RERANK_METRICS = ("ndcg@3", "ndcg@7", "map@3", "map@7")


def kind(model: str) -> str:
    return "ctr" if model in CTR_MODELS else "rerank"


# -- worker -----------------------------------------------------------------------------------------
def _worker(model: str, variant: str, seed: int, epochs: int, settings: dict[str, Any]) -> None:
    import torch

    from kgrec.api import connect
    from kgrec.ctr_training import train_ctr, train_rerank

    torch.set_num_threads(1)
    text, contrast, _ = VARIANTS[variant]
    train = train_ctr if kind(model) == "ctr" else train_rerank
    outcome = train(connect(), DATASET, model, text=text, contrast=contrast, seeds=[seed], write_back=False,
                    epochs=epochs, **settings)
    result = outcome.results[0]
    print(json.dumps({
        "model": model, "kind": kind(model), "variant": variant, "text": text, "contrast": contrast, "seed": seed,
        "max_epochs": epochs, "best_epoch": result.best_epoch, "epochs_run": len(result.history),
        "select_metric": result.select_metric, "valid": result.valid, "test": result.test,
        "seconds_per_epoch": round(result.seconds_per_epoch, 3), "notes": outcome.notes,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "settings": {"epochs": epochs, **settings},
    }))


def _run(job: tuple[str, str, int], epochs: int, settings: dict[str, Any], log: Path) -> dict:
    model, variant, seed = job
    started = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run([sys.executable, __file__, "--worker", model, variant, "--seed", str(seed),
                             "--epochs", str(epochs), "--settings", json.dumps(settings)],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        print(f"{model} {variant} seed {seed} failed:\n{result.stderr[-2000:]}", file=sys.stderr, flush=True)
        return {"model": model, "variant": variant, "seed": seed, "error": result.stderr[-800:]}
    row = json.loads(result.stdout.strip().splitlines()[-1])
    row["wall_s"] = round(time.perf_counter() - started, 1)
    row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    with log.open("a") as handle:  # each finished job is kept, even if the bench is stopped later
        handle.write(json.dumps(row) + "\n")
    metrics = CTR_METRICS if row["kind"] == "ctr" else RERANK_METRICS
    print(f"{model:<8} {variant:<24} seed {seed}  best epoch {row['best_epoch']:>3}/{row['epochs_run']:<3} "
          f"{row['seconds_per_epoch']:7.2f} s/epoch  "
          + "  ".join(f"{m} {row['test'][m]:.4f}" for m in metrics)
          + f"  peak {row['peak_rss_mb']:.0f} MB  wall {row['wall_s']:.0f} s", flush=True)
    return row


# -- log --------------------------------------------------------------------------------------------
def _log_lines(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def read_log(log: Path = LOG) -> list[dict]:
    """Finished jobs, the last one per (model, variant, seed)."""
    rows = {}
    for row in _log_lines(log):
        if "error" not in row and "skipped" not in row:
            rows[(row["model"], row["variant"], row["seed"])] = row
    return list(rows.values())


def read_skips(log: Path = LOG) -> dict[str, dict]:
    """The last recorded skip per variant, unless the variant has finished jobs after it."""
    skips: dict[str, dict] = {}
    for row in _log_lines(log):
        if "skipped" in row:
            skips[row["variant"]] = row
        elif "error" not in row:
            skips.pop(row["variant"], None)
    return skips


def _record_skip(log: Path, variant: str, reason: str, coverage: float) -> None:
    last = read_skips(log).get(variant)
    if last and last["skipped"] == reason:
        return  # the same skip is already recorded
    with log.open("a") as handle:
        handle.write(json.dumps({"variant": variant, "skipped": reason, "coverage": round(coverage, 4),
                                 "date": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")


# -- preparation ------------------------------------------------------------------------------------
def prepare_text(store: Any, name: str, min_coverage: float) -> str | None:
    """Encode vectors ``name`` (a recipe's) when missing; the reason to skip it when its text covers too few items."""
    from knowledge.text_features import MissingTextError
    from knowledge.text_recipes import TEXT_RECIPES
    from knowledge.text_recipes import prepare_text as prepare_recipe

    try:
        prepared = prepare_recipe(store, DATASET, _recipe(name), min_coverage)
    except MissingTextError as exc:
        return str(exc)
    if prepared.user_vectors and name in TEXT_RECIPES and (prepared.user_coverage or 0) < min_coverage:
        return (f"only {prepared.user_coverage:.1%} of the users have the recipe's user text; write it with "
                f"`kgrec enrich users --history ctr-profile --dataset {DATASET}`")
    if prepared.encoded:
        print(f"encoded {prepared.encoded:,} text(s) for '{name}'", flush=True)
    return None


def _recipe(vectors: str) -> str:
    """The text recipe (``kgrec train ctr --text NAME``) named ``vectors``, or the first whose vectors are ``vectors``."""
    from knowledge.text_recipes import TEXT_RECIPES

    if vectors in TEXT_RECIPES:
        return vectors
    return next(name for name, recipe in TEXT_RECIPES.items() if recipe.vectors == vectors)


def _coverage(store: Any, name: str) -> float:
    from knowledge.text_recipes import TEXT_RECIPES, text_coverage

    present, total = text_coverage(store, DATASET, TEXT_RECIPES[_recipe(name)])
    return present / max(total, 1)


def prepare(jobs: list[tuple[str, str, int]], min_coverage: float, log: Path) -> list[tuple[str, str, int]]:
    """Connect, encode the text the jobs need, store split and candidate lists once; the runnable jobs."""
    from kg_store.datasets import list_datasets
    from kg_store.settings import settings_from_env
    from kgrec import api
    from kgrec.ctr_training import load_ctr_data, store_sampled_lists

    if settings_from_env() is None:
        api.start_local_neo4j()
    store = api.connect()
    if DATASET not in {row["name"] for row in list_datasets(store)}:
        raise SystemExit(f"Dataset '{DATASET}' is not in the graph; ingest it first (kgrec ingest ...).")
    skipped: set[str] = set()
    for variant in dict.fromkeys(variant for _, variant, _ in jobs):
        name = VARIANTS[variant][0]
        reason = prepare_text(store, name, min_coverage) if name else None
        if reason:
            print(f"SKIP variant '{variant}': {reason}", flush=True)
            _record_skip(log, variant, reason, _coverage(store, name))
            skipped.add(variant)
    runnable = [job for job in jobs if job[1] not in skipped]
    # the user split and the sampled candidate lists (positives + 9 unseen items) are drawn and stored once
    # here when the graph lacks them, as train-ctr / train-rerank would, rather than raced by parallel jobs
    if runnable:
        data = load_ctr_data(store, DATASET)
        if any(kind(model) == "rerank" for model, _, _ in runnable):
            store_sampled_lists(store, data)
    return runnable


def pending_jobs(models: list[str], names: list[str], seeds: int, log: Path) -> list[tuple[str, str, int]]:
    finished = {(r["model"], r["variant"], r["seed"]) for r in read_log(log)}
    jobs = [(model, variant, FIRST_SEED + k) for k in range(seeds) for variant in names for model in models
            if (model, variant, FIRST_SEED + k) not in finished]
    return sorted(jobs, key=lambda job: job[2])  # one seed of the whole grid at a time


# -- tables -----------------------------------------------------------------------------------------
def _cell(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def _runs(rows: list[dict], model: str, variant: str) -> list[dict]:
    return sorted((r for r in rows if r["model"] == model and r["variant"] == variant), key=lambda r: r["seed"])


def _tail(runs: list[dict]) -> str:
    epochs = ",".join(f"{r['best_epoch']}/{r['epochs_run']}" for r in runs)
    return (f"{epochs} | {np.median([r['seconds_per_epoch'] for r in runs]):.2f} | "
            f"{max(r['peak_rss_mb'] for r in runs):.0f} MB |")


def ctr_table(rows: list[dict], names: list[str]) -> str:
    lines = ["| model | variant | seeds | AUC | LogLoss | paper, ML-1M AUC | paper, ML-1M LogLoss | "
             "best/run epochs | s/epoch | peak RSS |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for model in CTR_MODELS:
        for variant in names:
            runs = _runs(rows, model, variant)
            if not runs:
                continue
            paper = PAPER_CTR[model].get(variant)
            lines.append(f"| {model} | {VARIANTS[variant][2]} | {len(runs)} | "
                         + " | ".join(_cell([r["test"][m] for r in runs]) for m in CTR_METRICS)
                         + (f" | {paper[0]:.4f} | {paper[1]:.4f} | " if paper else " | | | ") + _tail(runs))
    return "\n".join(lines)


def rerank_table(rows: list[dict], names: list[str]) -> str:
    lines = ["| model | variant | seeds | NDCG@3 | NDCG@7 | MAP@3 | MAP@7 | paper, WeChat N@3 / N@7 / M@3 / M@7 | "
             "best/run epochs | s/epoch | peak RSS |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |"]
    for model in RERANK_MODELS:
        for variant in names:
            runs = _runs(rows, model, variant)
            if not runs:
                continue
            paper = PAPER_RERANK[model].get(variant)
            lines.append(f"| {model} | {VARIANTS[variant][2]} | {len(runs)} | "
                         + " | ".join(_cell([r["test"][m] for r in runs]) for m in RERANK_METRICS)
                         + f" | {' / '.join(f'{v:.4f}' for v in paper) if paper else ''} | " + _tail(runs))
    return "\n".join(lines)


def ablation_table(rows: list[dict]) -> str:
    """Table 6's shape for every model: KELLMRec, w/o external knowledge, w/o contrastive learning."""
    lines = ["| model (metric) | KELLMRec | w/o external knowledge | w/o contrastive learning |",
             "| --- | ---: | ---: | ---: |"]
    for model in MODELS:
        metric = "auc" if kind(model) == "ctr" else "ndcg@3"
        means = {}
        cells = []
        for variant in ABLATION_COLUMNS:
            values = [r["test"][metric] for r in _runs(rows, model, variant)]
            means[variant] = float(np.mean(values)) if values else None
            cell = _cell(values)
            base = means.get("kellmrec")
            if values and variant != "kellmrec" and base:
                cell += f" ({(means[variant] - base) / base:+.2%})"
            cells.append(cell)
        if any(cell != "—" for cell in cells):
            lines.append(f"| {model} ({metric}) | " + " | ".join(cells) + " |")
        paper = PAPER_ABLATION.get((model, metric))
        if paper:
            lines.append(f"| {model} ({metric}), paper | {paper[0]:.4f} | {paper[1]:.4f} "
                         f"({(paper[1] - paper[0]) / paper[0]:+.2%}) | {paper[2]:.4f} "
                         f"({(paper[2] - paper[0]) / paper[0]:+.2%}) |")
    return "\n".join(lines)


def summary_table(rows: list[dict], models: tuple[str, ...], metric: str) -> str:
    """One row per model, one column per variant that has runs: ``metric`` as mean ± std (seeds)."""
    names = [v for v in VARIANTS if any(_runs(rows, m, v) for m in models)]
    lines = ["| model | " + " | ".join(VARIANTS[v][2] for v in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    for model in models:
        cells = []
        for variant in names:
            runs = _runs(rows, model, variant)
            cells.append(f"{_cell([r['test'][metric] for r in runs])} ({len(runs)})" if runs else "—")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(rows: list[dict], skips: dict[str, dict]) -> str:
    names = list(VARIANTS)
    parts = [f"# KELLMRec on {DATASET}",
             "",
             "Test scores, mean ± std over seeds (epoch chosen on validation with early stopping; no write-back). "
             "Paper columns are the paper's own datasets (Table 3: MovieLens-1M, Table 4: WeChat-ArticleRec), "
             "for reference only; the paper's LLMRec column is shown against 'LLM text, no knowledge, no contrast'. "
             "`best/run epochs`: per seed, the selected epoch / epochs trained.",
             "",
             "## CTR prediction (Table 3)", "", ctr_table(rows, names), "",
             "## Reranking on sampled candidate lists (Table 4)", "", rerank_table(rows, names), "",
             "## Ablation (Table 6)", "", ablation_table(rows), "",
             "## Summary: test AUC (CTR) and NDCG@3 (rerank), seeds in brackets", "",
             summary_table(rows, CTR_MODELS, "auc"), "", summary_table(rows, RERANK_MODELS, "ndcg@3")]
    if skips:
        parts += ["", "## Skipped variants", ""]
        parts += [f"- `{variant}` ({row['date']}): {row['skipped']}" for variant, row in skips.items()]
    return "\n".join(parts)


# -- main -------------------------------------------------------------------------------------------
def parse_overrides(pairs: list[str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are read as JSON when they parse (numbers, booleans), else as text."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            parser.error(f"--set needs KEY=VALUE, got {pair!r}")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, default=None, metavar=("MODEL", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=FIRST_SEED, help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=int, default=3, help=f"Seeds {FIRST_SEED}, {FIRST_SEED + 1}, ...")
    parser.add_argument("--epochs", type=int, default=30, help="Maximum epochs (early stopping on validation).")
    parser.add_argument("--patience", type=int, default=None, help="Early-stopping patience (trainer default 3).")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--min-coverage", type=float, default=0.95,
                        help="Skip a text variant when fewer items than this share have its text.")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME",
                        help=f"Models ({', '.join(MODELS)}) and/or variants ({', '.join(VARIANTS)}) to run.")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="A model or trainer setting for every job, e.g. contrast_weight=0.01 (repeatable); "
                             "use it with its own --log, since the log keys jobs by model, variant and seed.")
    parser.add_argument("--log", type=Path, default=LOG, help="JSON-lines log (default: %(default)s).")
    parser.add_argument("--report", action="store_true", help="Only rebuild the tables from the log.")
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], args.worker[1], args.seed, args.epochs, json.loads(args.settings))
        return
    log = args.log.resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    unknown = [name for name in args.only or [] if name not in MODELS and name not in VARIANTS]
    if unknown:
        parser.error(f"unknown model or variant: {', '.join(unknown)}")
    models = [m for m in MODELS if m in (args.only or [])] or list(MODELS)
    names = [v for v in VARIANTS if v in (args.only or [])] or list(VARIANTS)
    if not args.report:
        settings = {"lr": args.lr, "batch_size": args.batch_size}
        if args.patience:
            settings["patience"] = args.patience
        settings |= parse_overrides(args.overrides, parser)
        jobs = pending_jobs(models, names, args.seeds, log)
        runnable = prepare(jobs, args.min_coverage, log) if jobs else []
        print(f"{len(runnable)} job(s) to run ({len(jobs) - len(runnable)} skipped for missing text); "
              f"finished ones are skipped", flush=True)
        with ThreadPoolExecutor(max(args.parallel, 1)) as pool:
            list(pool.map(lambda job: _run(job, args.epochs, settings, log), runnable))
    table = markdown(read_log(log), read_skips(log))
    out = log.with_suffix(".md")
    out.write_text(table + "\n")
    print(table)
    print(f"\n(tables written to {out})")


if __name__ == "__main__":
    main()
