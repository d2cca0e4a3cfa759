"""``kgrec split valid``: draw a dataset's validation split once and store it in the graph."""

from __future__ import annotations

import json

import click

from kgrec.cli.common import KgrecGroup, open_store


@click.group("split", cls=KgrecGroup)
def split() -> None:
    """Stored splits of a dataset's interactions."""


@split.command("valid")
@click.option("--dataset", required=True)
@click.option("--ratio", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.125,
              show_default=True, help="Share of each user's train interactions moved to validation.")
@click.option("--seed", type=int, default=2024, show_default=True)
@click.option("--force", is_flag=True, help="Draw again even when the dataset already has a validation split.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def valid(ctx: click.Context, dataset: str, ratio: float, seed: int, force: bool, as_json: bool) -> None:
    """Mark a seeded RATIO of each user's train interactions (users with >= 2) as 'valid'."""
    from kgrec.pipeline import split as store_split

    report = store_split(dataset, ratio=ratio, seed=seed, force=force, store=open_store(ctx))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    elif report.drawn:
        click.echo(f"{dataset}: {report.valid_edges:,} interactions of {report.users:,} users are now 'valid' "
                   f"(version {report.version}).")
    else:
        click.echo(f"{dataset} already has {report.valid_edges:,} 'valid' interactions; left alone "
                   "(--force draws again).")
