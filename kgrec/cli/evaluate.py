"""``kgrec evaluate`` and ``kgrec recommend``: what training runs left in the graph, read back.

Also the metric formatting ``kgrec train`` prints with, so a run reads the same when trained and
when listed later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import click

from kgrec.cli.common import KgrecCommand, open_store

# display order of every kind's metrics: ranking (Recall/NDCG@20/50/100), CTR, then rerank lists
METRIC_ORDER = (*(m for k in (20, 50, 100) for m in (f"recall@{k}", f"ndcg@{k}")), "auc", "logloss",
                *(m for k in (3, 7) for m in (f"ndcg@{k}", f"map@{k}")))


def _ordered(names: Iterable[str]) -> list[str]:
    present = set(names)
    return [m for m in METRIC_ORDER if m in present]


def format_summary(summary: dict[str, dict[str, float]]) -> str:
    """``metric mean±std`` over seeds, in :data:`METRIC_ORDER`."""
    return "  ".join(f"{m} {summary[m]['mean']:.4f}±{summary[m]['std']:.4f}" for m in _ordered(summary))


def format_metrics(metrics: dict[str, float]) -> str:
    """``metric value`` of one run, in :data:`METRIC_ORDER`."""
    return "  ".join(f"{m} {metrics[m]:.4f}" for m in _ordered(metrics))


def _echo_runs(runs: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return
    for run in runs:
        metrics = run["metrics"]
        kind = f"{metrics.get('kind', 'ranking')}, {metrics.get('protocol', 'valid')}"
        click.echo(f"{run['run_id']}  {run['finished']}  ({kind})  {format_summary(metrics['test_mean_std'])}")


@click.command("evaluate", cls=KgrecCommand)
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
    from kg_store.run_ids import check_run_id
    from kgrec.models_api import evaluate as evaluate_saved
    from kgrec.models_api import training_runs

    if rankings is not None and not run_id:
        raise click.UsageError("--rankings needs --run-id.")
    if not run_id and not dataset:
        raise click.UsageError("Give --dataset (list its runs) or --run-id (recompute one run).")
    if run_id:
        check_run_id(run_id)    # before the store is opened or any path is built from it
    store = open_store(ctx)
    if run_id:
        result = evaluate_saved(run_id, dataset=dataset, store=store, rankings=rankings, rankings_k=rankings_k)
        click.echo(json.dumps(result.report, indent=2))
        return
    _echo_runs([dict(r, metrics=json.loads(r["metrics"])) for r in training_runs(dataset, store=store)], as_json)


@click.command("recommend", cls=KgrecCommand)
@click.option("--dataset", required=True)
@click.option("--user", required=True, help="The user's id in the graph (a linked dataset: the user's key).")
@click.option("--model", default=None, help="Only this model's recommendations.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def recommend(ctx: click.Context, dataset: str, user: str, model: str | None, limit: int, as_json: bool) -> None:
    """Recommendations stored in the graph for one user."""
    from kgrec.models_api import recommend as read_recommendations

    found = read_recommendations(dataset, user, model=model, limit=limit, store=open_store(ctx)).items
    rows = [{"model": r.model, "rank": r.rank, "item": r.item, "title": r.title, "score": r.score,
             "run_id": r.run_id} for r in found]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"No recommendations for user {user} in {dataset}; run 'kgrec train' first.")
    for row in rows:
        click.echo(f"{row['model']:<10}{row['rank']:>4}  item {row['item']!s:<8} {row['score']:8.4f}  {row['title'] or ''}")
