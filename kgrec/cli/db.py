"""``kgrec db list|stats|drop|check|lists-from-edges``: the datasets in the graph, through :mod:`kgrec.graph_api`."""

from __future__ import annotations

import json
import sys

import click

from kgrec.cli.common import KgrecGroup, echo_json, json_option, open_store
from kgrec.graph_api import check_dataset, dataset_stats, drop_dataset, list_datasets, lists_from_edges


@click.group(cls=KgrecGroup)
def db() -> None:
    """Inspect and manage datasets in the graph."""


@db.command("list")
@json_option()
@click.pass_context
def db_list(ctx: click.Context, as_json: bool) -> None:
    """Datasets in the graph."""
    rows = list_datasets(store=open_store(ctx))
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['source']}\t{row['status']}\tversion {row['version']}")


@db.command("stats")
@click.option("--dataset", required=True)
@json_option()
@click.pass_context
def db_stats(ctx: click.Context, dataset: str, as_json: bool) -> None:
    """Counts per label and relationship type, and interactions per split."""
    stats = dataset_stats(dataset, store=open_store(ctx))
    if as_json:
        echo_json(stats.as_dict())
        return
    click.echo(f"Dataset {stats.dataset} ({stats.source}, {stats.status}, version {stats.version})")
    for label, count in stats.nodes.items():
        click.echo(f"  :{label:<22}{count:>10,}")
    for split, count in stats.interactions.items():
        click.echo(f"  interactions/{split:<11}{count:>10,}")
    click.echo(f"  KG triples{'':<13}{stats.kg_triples:>10,}  over {stats.kg_relations} relations")
    click.echo(f"  interest edges{'':<9}{stats.interest_edges:>10,}")
    for rel_type, count in stats.relationships.items():
        click.echo(f"  [:{rel_type}]{'':<{max(1, 19 - len(rel_type))}}{count:>10,}")


@db.command("drop")
@click.option("--dataset", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def db_drop(ctx: click.Context, dataset: str, yes: bool) -> None:
    """Delete one dataset's nodes and relationships."""
    if not yes:
        click.confirm(f"Delete dataset '{dataset}' from the graph?", abort=True)
    drop_dataset(dataset, store=open_store(ctx))
    click.echo(f"Dropped dataset '{dataset}'.")


@db.command("lists-from-edges")
@click.option("--dataset", required=True)
@click.pass_context
def db_lists_from_edges(ctx: click.Context, dataset: str) -> None:
    """Upgrade: TOP_K lists (what readers use) from the RECOMMENDED edges of runs written before lists."""
    runs = lists_from_edges(dataset, store=open_store(ctx))
    for run in runs:
        click.echo(f"{dataset}: run {run['run_id']} ({run['model']}): {run['lists']:,} lists from its edges")
    if not runs:
        click.echo(f"{dataset}: every run already has its lists.")


@db.command("check")
@click.option("--dataset", required=True)
@json_option()
@click.option("--strict", is_flag=True, help="Exit 1 when any error-severity check finds something.")
@click.option("--examples", type=click.IntRange(0, 100), default=5, show_default=True,
              help="Examples shown per check.")
@click.option("--max-items", type=click.IntRange(1), default=1, show_default=True,
              help="An entity linked to more items than this is reported.")
@click.pass_context
def db_check(ctx: click.Context, dataset: str, as_json: bool, strict: bool, examples: int,
             max_items: int) -> None:
    """KG quality checks (cypher/checks/*.cypher): counts with examples."""
    found = check_dataset(dataset, examples=examples, max_items=max_items, store=open_store(ctx))
    if as_json:
        echo_json({"dataset": dataset, "checks": [r.as_dict() for r in found.checks]})
    else:
        click.echo(f"KG checks for dataset {dataset}")
        for r in found.checks:
            mark = "ok" if r.count == 0 else r.severity.upper()
            click.echo(f"  [{mark:<7}] {r.name}: {r.count:,}  ({r.description})")
            for example in r.examples:
                click.echo("             " + json.dumps(example, sort_keys=True, default=str))
    if strict and found.has_errors:
        sys.exit(1)
