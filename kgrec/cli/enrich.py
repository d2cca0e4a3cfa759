"""``kgrec enrich items|users``: LLM descriptions written into the graph.

Thin wrappers over :func:`kgrec.describe_items` and :func:`kgrec.describe_users`. Every command is resumable: answers are cached
in Neo4j as they arrive, so running it again after a kill sends only the prompts never answered.
"""

from __future__ import annotations

import click

from kgrec.cli.common import KgrecGroup, open_store
from kgrec.cli.llm_options import echo_run, llm_options, make_backend
from knowledge.llm.runner import Shard
from knowledge.user_histories import USER_HISTORIES


@click.group(cls=KgrecGroup)
def enrich() -> None:
    """LLM descriptions of items (grounded in Wikipedia or facts) and users (from train history)."""


@enrich.command("items")
@click.option("--dataset", required=True)
@click.option("--domain", default="item", show_default=True, help="What the items are: movie, book, ...")
@llm_options
@click.pass_context
def enrich_items(ctx: click.Context, dataset: str, domain: str, backend: str, model: str, endpoints: tuple[str, ...],
                 batch_size: int, limit: int | None, shard: Shard | None, dry_run: bool, progress: bool | None) -> None:
    """Item.description (+ description_source, description_ungrounded)."""
    from kgrec.pipeline import describe_items

    report = describe_items(dataset, make_backend(backend, model, endpoints), store=open_store(ctx), domain=domain,
                            batch_size=batch_size, limit=limit, dry_run=dry_run, progress=progress,
                            shard=shard).report
    echo_run(report.runs[0], dry_run)
    if not dry_run:
        click.echo(f"Described {sum(report.sources.values()):,} of {report.subjects:,} items; "
                   f"sources {report.sources}; {report.cut_tokens:,} prompt tokens cut to the budget.")


@enrich.command("users")
@click.option("--dataset", required=True)
@click.option("--domain", default="item", show_default=True)
@click.option("--history", type=click.Choice(list(USER_HISTORIES)), default="train", show_default=True,
              help="train: the ranking split's train history, into User.description. ctr-profile: the CTR "
                   "profile history only (before all of a user's CTR targets), into User.description_profile, "
                   "which `kgrec train ctr --text kellmrec` reads.")
@llm_options
@click.pass_context
def enrich_users(ctx: click.Context, dataset: str, domain: str, history: str, backend: str, model: str,
                 endpoints: tuple[str, ...], batch_size: int, limit: int | None, shard: Shard | None, dry_run: bool,
                 progress: bool | None) -> None:
    """User descriptions from demographics and a history (describe the items first)."""
    from kgrec.pipeline import describe_users

    report = describe_users(dataset, make_backend(backend, model, endpoints), history=history, store=open_store(ctx),
                            domain=domain, batch_size=batch_size, limit=limit, dry_run=dry_run,
                            progress=progress, shard=shard).report
    echo_run(report.runs[0], dry_run)
