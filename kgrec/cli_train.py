"""``kgrec train``, ``kgrec evaluate`` and ``kgrec recommend``: thin wrappers over kgrec.training."""

from __future__ import annotations

import json
from typing import Any

import click

from kg_store.writeback import read_recommendations, training_runs

MODEL_NAMES = ("bprmf", "lightgcn", "simgcl", "cikgrec", "transe")


def _format_summary(summary: dict[str, dict[str, float]]) -> str:
    order = [m for k in (20, 50, 100) for m in (f"recall@{k}", f"ndcg@{k}") if m in summary]
    return "  ".join(f"{m} {summary[m]['mean']:.4f}±{summary[m]['std']:.4f}" for m in order)


def register(main: click.Group, store_factory) -> None:
    @main.command("train")
    @click.argument("model", type=click.Choice(MODEL_NAMES))
    @click.option("--dataset", required=True)
    @click.option("--epochs", type=click.IntRange(1), default=None, help="Maximum epochs (early stopping on validation).")
    @click.option("--seeds", type=click.IntRange(1), default=1, show_default=True, help="Runs with seeds 2024, 2025, ...")
    @click.option("--lr", type=float, default=None)
    @click.option("--batch-size", type=click.IntRange(1), default=None)
    @click.option("--layers", "n_layers", type=click.IntRange(1), default=None)
    @click.option("--patience", type=click.IntRange(1), default=None)
    @click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
    @click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch.")
    @click.option("--k", "top_k", type=click.IntRange(1), default=20, show_default=True, help="Recommendations written per user.")
    @click.option("--no-write", is_flag=True, help="Do not write recommendations back.")
    @click.option("--interests", "interest_set", default=None, metavar="SET",
                  help="Interest set to train on (default: authors; 'kgrec interests list' shows the sets).")
    @click.option("--no-interests", is_flag=True, help="CIKGRec ablation 'w/o UIK'.")
    @click.option("--no-reconstruction", is_flag=True, help="CIKGRec ablation 'w/o UIR'.")
    @click.option("--no-contrastive", is_flag=True, help="CIKGRec ablation 'w/o CL'.")
    @click.option("--no-kg", is_flag=True, help="Leave the item KG out.")
    @click.option("--mask-schedule", type=click.Choice(["exponential", "linear", "fixed"]), default=None,
                  help="'fixed' is the 'w/o DMR' ablation.")
    @click.option("--progress/--no-progress", default=None,
                  help="Force progress bars on or off (default: bars on a terminal, one line per stage in a log).")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def train(ctx: click.Context, model: str, dataset: str, seeds: int, no_write: bool, top_k: int,
              no_interests: bool, no_reconstruction: bool, no_contrastive: bool, no_kg: bool,
              mask_schedule: str | None, progress: bool | None, as_json: bool, interest_set: str | None,
              **options: Any) -> None:
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
        outcome = train_and_write(store_factory(ctx), dataset, model, seeds=[2024 + n for n in range(seeds)],
                                  k=top_k, write_back=not no_write, progress=progress, interest_set=interest_set,
                                  **overrides)
        if as_json:
            click.echo(json.dumps({"run_id": outcome.run_id, **outcome.metrics()}, indent=2, default=str))
            return
        for note in outcome.notes:
            click.echo(f"note: {note}", err=True)
        first = outcome.results[0]
        click.echo(f"{model} on {dataset}: {len(outcome.seeds)} seed(s), best epoch {first.best_epoch}, "
                   f"{first.seconds_per_epoch:.2f} s/epoch")
        click.echo(f"test  {_format_summary(outcome.summary)}")
        if first.sparsity:
            groups = ", ".join(f"≤{g['max_train_items']}: {g['value']:.4f}" for g in first.sparsity)
            click.echo(f"NDCG@50 by train-interaction group: {groups}")
        if outcome.recommendations_written:
            click.echo(f"Wrote {outcome.recommendations_written:,} recommendations (run {outcome.run_id}).")

    @main.command("evaluate")
    @click.option("--dataset", required=True)
    @click.option("--run-id", default=None, help="Recompute this run's metrics from its saved model.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def evaluate(ctx: click.Context, dataset: str, run_id: str | None, as_json: bool) -> None:
        """Test metrics of the training runs on DATASET (or recompute one run's)."""
        from kgrec.training import evaluate_saved

        store = store_factory(ctx)
        if run_id:
            result = evaluate_saved(store, run_id)
            click.echo(json.dumps(result, indent=2))
            return
        runs = [dict(r, metrics=json.loads(r["metrics"])) for r in training_runs(store, dataset)]
        if as_json:
            click.echo(json.dumps(runs, indent=2))
            return
        for run in runs:
            click.echo(f"{run['run_id']}  {run['finished']}  {_format_summary(run['metrics']['test_mean_std'])}")

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
