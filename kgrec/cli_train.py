"""``kgrec train``, ``kgrec evaluate``, ``kgrec recommend`` and ``kgrec db lists-from-edges``: thin wrappers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kg_store.writeback import EDGE_MODES, EDGES_AUTO_MAX_ROWS, read_recommendations, training_runs
from recommender.config import CHOICES, PRESETS

MODEL_NAMES = ("bprmf", "lightgcn", "simgcl", "cikgrec", "transe")
PRESET_NAMES = tuple(sorted({name for presets in PRESETS.values() for name in presets}))
PROTOCOL_HELP = ("valid: epoch chosen on a validation split carved from train, test scored once (default); "
                 "refit: then retrain on all of train for that many epochs; test-selected: the paper's protocol, "
                 "epoch chosen on test (for comparison only).")


def _choice(name: str) -> click.Choice:
    return click.Choice(CHOICES[name])


# display order of every kind's metrics: ranking (Recall/NDCG@20/50/100), CTR, then rerank lists
METRIC_ORDER = (*(m for k in (20, 50, 100) for m in (f"recall@{k}", f"ndcg@{k}")), "auc", "logloss",
                *(m for k in (3, 7) for m in (f"ndcg@{k}", f"map@{k}")))


def _ordered(names: Any) -> list[str]:
    return [m for m in METRIC_ORDER if m in names]


def _format_summary(summary: dict[str, dict[str, float]]) -> str:
    return "  ".join(f"{m} {summary[m]['mean']:.4f}±{summary[m]['std']:.4f}" for m in _ordered(summary))


def _format_metrics(metrics: dict[str, float]) -> str:
    return "  ".join(f"{m} {metrics[m]:.4f}" for m in _ordered(metrics))


def _echo_outcome(outcome: Any, model: str, dataset: str) -> None:
    first = outcome.results[0]
    click.echo(f"{model} on {dataset} ({outcome.protocol} protocol): {len(outcome.seeds)} seed(s), "
               f"best epoch {first.best_epoch}, {first.seconds_per_epoch:.2f} s/epoch")
    if outcome.protocol == "refit":
        click.echo(f"refit on all of train for {first.refit_epochs} epoch(s); "
                   f"test of the valid-phase model {_format_metrics(first.valid_protocol_test or {})}")
    if outcome.protocol == "test-selected":
        click.echo(f"epoch chosen on test, for comparison only; the saved model is the first seed's "
                   f"({outcome.selected_seed}): test never chooses among seeds")
    click.echo(f"test  {_format_summary(outcome.summary)}")
    if first.sparsity:
        groups = ", ".join(f"≤{g['max_train_items']}: {g['value']:.4f}" for g in first.sparsity)
        click.echo(f"NDCG@50 by train-interaction group: {groups}")


TRAIN_HELP = """Train a model on DATASET from the graph and write its run (and top-K) back.

\b
kgrec train MODEL --dataset D ...            a ranking model: bprmf, lightgcn, simgcl, cikgrec (or transe)
kgrec train ctr --model din --text kellmrec  a CTR model (deepfm, din, dien) on the CTR split
kgrec train rerank --model prm ...           a reranker (dlcm, prm, setrank) on stored candidate lists
"""


def _bind_model(template: click.Command, model: str) -> click.Command:
    """``template`` (which takes MODEL as its argument) as the subcommand ``kgrec train <model>``."""
    from functools import partial

    return click.Command(model, params=[p for p in template.params if p.name != "model"],
                         callback=partial(template.callback, model=model),
                         help=(template.help or "").replace("MODEL", model) if model == "transe" else
                         f"Train {model} on DATASET from the graph; print test metrics; write top-K back.",
                         short_help="TransE on the KG alone (PyKEEN): entity vectors." if model == "transe"
                         else f"Train {model}: top-K ranking.")


def register(main: click.Group, store_factory) -> None:
    @main.group("train", help=TRAIN_HELP)
    def train_group() -> None:
        pass

    @click.command("train")
    @click.argument("model", type=click.Choice(MODEL_NAMES))
    @click.option("--dataset", required=True)
    @click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs (early stopping as --protocol says).")
    @click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Runs with seeds 2024, 2025, ...")
    @click.option("--protocol", type=_choice("protocol"), default=None, help=PROTOCOL_HELP)
    @click.option("--preset", type=click.Choice(PRESET_NAMES), default=None,
                  help="Named settings applied over the defaults, before explicit options (e.g. the reference "
                       "code's: 'reference').")
    @click.option("--valid-ratio", type=click.FloatRange(0, 1, max_open=True), default=None,
                  help="Share of each user's train pairs carved for validation (1/8 by default).")
    @click.option("--lr", type=float, default=None)
    @click.option("--batch-size", type=click.IntRange(1), default=None)
    @click.option("--layers", "n_layers", type=click.IntRange(1), default=None)
    @click.option("--patience", type=click.IntRange(1), default=None)
    @click.option("--min-epochs", type=click.IntRange(0), default=None,
                  help="Early stopping may not end a run before this many epochs (CIKGRec: 30).")
    @click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
    @click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch.")
    @click.option("--k", "top_k", type=click.IntRange(1), default=20, show_default=True, help="Recommendations written per user.")
    @click.option("--no-write", is_flag=True, help="Do not write recommendations back.")
    @click.option("--edges", type=click.Choice(EDGE_MODES), default="auto", show_default=True,
                  help="Also write RECOMMENDED edges (the Browser view; readers use the TOP_K lists): auto = "
                       f"only up to {EDGES_AUTO_MAX_ROWS:,} rows (users x k).")
    @click.option("--interests", "interest_set", default=None, metavar="SET",
                  help="Interest set to train on (default: authors; 'kgrec interests list' shows the sets).")
    @click.option("--no-interests", is_flag=True, help="CIKGRec ablation 'w/o UIK'.")
    @click.option("--no-reconstruction", is_flag=True, help="CIKGRec ablation 'w/o UIR'.")
    @click.option("--no-contrastive", is_flag=True, help="CIKGRec ablation 'w/o CL'.")
    @click.option("--no-kg", is_flag=True, help="Leave the item KG out.")
    @click.option("--mask-schedule", type=click.Choice(["exponential", "linear", "fixed"]), default=None,
                  help="'fixed' is the 'w/o DMR' ablation.")
    @click.option("--contrast-mode", type=_choice("contrast_mode"), default=None,
                  help="CIKGRec contrastive loss over the batch, all users and items (paper), or as coded (reference).")
    @click.option("--replace-rate", type=click.FloatRange(0, 1, max_open=True), default=None,
                  help="Share of masked interests given another interest's embedding instead of the mask token.")
    @click.option("--reconstruction-edge-dropout", type=click.FloatRange(0, 1, max_open=True), default=None)
    @click.option("--projection-init", type=_choice("projection_init"), default=None)
    @click.option("--transe-triples", type=_choice("transe_triples"), default=None)
    @click.option("--transe-distance", type=_choice("transe_distance"), default=None)
    @click.option("--transe-steps", type=_choice("transe_steps"), default=None)
    @click.option("--progress/--no-progress", default=None,
                  help="Force progress bars on or off (default: bars on a terminal, one line per stage in a log).")
    @click.option("--estimate", is_flag=True,
                  help="Print the expected time per epoch, evaluation time and peak memory (from the graph's "
                       "counts and a few calibration steps), then stop without training.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def train(ctx: click.Context, model: str, dataset: str, seeds: int, no_write: bool, top_k: int,
              no_interests: bool, no_reconstruction: bool, no_contrastive: bool, no_kg: bool,
              mask_schedule: str | None, progress: bool | None, as_json: bool, interest_set: str | None,
              preset: str | None, estimate: bool, edges: str, **options: Any) -> None:
        """Train MODEL on DATASET from the graph; print test metrics; write top-K back.

        ``transe`` trains TransE with PyKEEN on the KG alone and writes each entity's vector to
        ``Entity.transe_embedding``.
        """
        from dataclasses import replace

        from kgrec.training import train_and_write, train_transe_and_write

        if model == "transe":
            report = train_transe_and_write(store_factory(ctx), dataset, epochs=options["epochs"] or 50,
                                            device=options["device"], write_back=not no_write)
            click.echo(json.dumps(report, indent=2) if as_json else
                       f"TransE on {dataset}: " + "  ".join(f"{k} {v:.4f}" for k, v in report["metrics"].items())
                       + f"; wrote {report['entities_written']:,} entity vectors.")
            return
        from recommender.schedules import MaskSchedule

        overrides = {k: v for k, v in options.items() if v is not None}
        overrides.update({"use_interests": not no_interests, "use_reconstruction": not no_reconstruction,
                          "use_contrastive": not no_contrastive, "use_kg": not no_kg})
        if mask_schedule:
            overrides["mask"] = replace(MaskSchedule(), kind=mask_schedule)
        if estimate:
            from kgrec.estimate import describe, estimate_training

            found = estimate_training(store_factory(ctx), dataset, model, interest_set=interest_set, preset=preset,
                                      **overrides)
            click.echo(json.dumps(found.as_dict(), indent=2) if as_json else describe(found))
            return
        outcome = train_and_write(store_factory(ctx), dataset, model, seeds=[2024 + n for n in range(seeds)],
                                  k=top_k, write_back=not no_write, progress=progress, interest_set=interest_set,
                                  preset=preset, edges=edges, **overrides)
        if as_json:
            click.echo(json.dumps({"run_id": outcome.run_id, **outcome.metrics()}, indent=2, default=str))
            return
        for note in outcome.notes:
            click.echo(f"note: {note}", err=True)
        _echo_outcome(outcome, model, dataset)
        if outcome.recommendations_written:
            click.echo(f"Wrote {outcome.recommendations_written:,} recommendations (run {outcome.run_id}).")

    for name in MODEL_NAMES:
        train_group.add_command(_bind_model(train, name))

    @main.command("evaluate")
    @click.option("--dataset", default=None, help="List this dataset's runs (with --run-id: checked against the run's).")
    @click.option("--run-id", default=None, help="Recompute this run's metrics from its saved model and split.")
    @click.option("--rankings", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="With --run-id: write each test user's top items as 'user item rank score' lines "
                       "(tab separated, original ids, rank 1-based, header line; train and validation masked).")
    @click.option("--rankings-k", type=click.IntRange(1), default=100, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def evaluate(ctx: click.Context, dataset: str | None, run_id: str | None, rankings: Path | None,
                 rankings_k: int, as_json: bool) -> None:
        """Test metrics of the training runs on DATASET (or recompute one run's, --run-id)."""
        from kgrec.training import evaluate_saved

        if rankings is not None and not run_id:
            raise click.UsageError("--rankings needs --run-id.")
        if not run_id and not dataset:
            raise click.UsageError("Give --dataset (list its runs) or --run-id (recompute one run).")
        store = store_factory(ctx)
        if run_id:
            result = evaluate_saved(store, run_id, dataset=dataset, rankings=rankings, rankings_k=rankings_k)
            click.echo(json.dumps(result, indent=2))
            return
        runs = [dict(r, metrics=json.loads(r["metrics"])) for r in training_runs(store, dataset)]
        if as_json:
            click.echo(json.dumps(runs, indent=2))
            return
        for run in runs:
            metrics = run["metrics"]
            kind = f"{metrics.get('kind', 'ranking')}, {metrics.get('protocol', 'valid')}"
            click.echo(f"{run['run_id']}  {run['finished']}  ({kind})  {_format_summary(metrics['test_mean_std'])}")

    @main.command("recommend")
    @click.option("--dataset", required=True)
    @click.option("--user", type=int, required=True, help="The user's id in the graph.")
    @click.option("--model", default=None, help="Only this model's recommendations.")
    @click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def recommend(ctx: click.Context, dataset: str, user: int, model: str | None, limit: int, as_json: bool) -> None:
        """Recommendations stored in the graph for one user."""
        rows = read_recommendations(store_factory(ctx), dataset, user, model, limit)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        if not rows:
            click.echo(f"No recommendations for user {user} in {dataset}; run 'kgrec train' first.")
        for row in rows:
            click.echo(f"{row['model']:<10}{row['rank']:>4}  item {row['item']:<8} {row['score']:8.4f}  {row['title'] or ''}")
