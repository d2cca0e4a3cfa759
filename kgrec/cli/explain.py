"""``kgrec explain --dataset D --user U --item I``: why an item may suit a user, in words.

A thin layer over :func:`kgrec.explain` (scoring described in :mod:`kg_store.explain`).
"""

from __future__ import annotations

import json

import click

from kgrec.cli.common import KgrecCommand, open_store


@click.command("explain", cls=KgrecCommand)
@click.option("--dataset", required=True)
@click.option("--user", required=True, help="The user's id (a linked dataset: the user's key).")
@click.option("--item", required=True, help="The item's id (a linked dataset: the item's key).")
@click.option("--set", "set_name", default=None, help="Use only this interest set (default: every set).")
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Paths to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@click.pass_context
def explain(ctx: click.Context, dataset: str, user: str, item: str, set_name: str | None,
            top: int, as_json: bool) -> None:
    """The top paths (interest, KG, collaborative) that explain why ITEM suits USER."""
    from dataclasses import asdict

    from kgrec.models_api import explain as explain_paths

    result = explain_paths(dataset, user, item, interest_set=set_name, top=top, store=open_store(ctx))
    click.echo(json.dumps(asdict(result), indent=2, ensure_ascii=False) if as_json else result.render())
