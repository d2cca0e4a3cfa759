"""``kgrec enrich items|users`` and ``kgrec interests infer``: LLM knowledge written into the graph.

Thin wrappers over :mod:`knowledge.descriptions` and :mod:`knowledge.interests.infer`. Every
command is resumable: answers are cached in Neo4j as they arrive, so running it again after a
kill sends only the prompts that were never answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from kg_store.errors import ConfigError
from knowledge.llm.base import backend_names, create_backend
from knowledge.llm.runner import RunReport, Shard
from knowledge.user_histories import USER_HISTORIES


def llm_options(func: Callable) -> Callable:
    """The options every LLM command shares."""
    options = [
        click.option("--backend", type=click.Choice(backend_names()), default="transformers", show_default=True,
                     help="transformers (local; default model: the packaged SmolLM2), llama-cpp (the same GGUF "
                          "run quantised by llama.cpp, several times faster on a CPU) or openai (any "
                          "OpenAI-compatible endpoint: KGREC_LLM_BASE_URL, KGREC_LLM_MODEL, KGREC_LLM_API_KEY)."),
        click.option("--model", default="", help="Model name, folder or .gguf file (default per backend)."),
        click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True,
                     help="Prompts per generate call / per cache write."),
        click.option("--limit", type=click.IntRange(0), default=None, help="Send at most N new prompts."),
        click.option("--shard", callback=_parse_shard, default=None, metavar="K/N",
                     help="Send only part K (0-based) of N disjoint parts of the prompts, so N processes or "
                          "machines sharing this Neo4j split one job; each writes what is answered so far."),
        click.option("--dry-run", is_flag=True, help="Show the prompts and how many would be sent; send none."),
        click.option("--progress/--no-progress", default=None, help="Force progress bars on or off."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ConfigError as error:
        raise click.BadParameter(str(error)) from None


def make_backend(backend: str, model: str) -> Any:
    return create_backend(backend, **({"model": model} if model else {}))


def echo_run(run: RunReport, dry_run: bool) -> None:
    """The cache/send counts of a run, and in a dry run the first prompts."""
    if dry_run:
        click.echo(f"{run.prompts:,} prompts: {run.cached:,} answered in the cache, {run.would_send:,} would be sent.")
        for _, task, request in run.pending[:3]:
            click.echo(f"--- {task}\n{request.messages_list()[-1]['content']}")
        return
    click.echo(f"{run.prompts:,} prompts: {run.cached:,} from the cache, {run.sent:,} sent; "
               f"{run.completion_tokens:,} tokens in {run.seconds:.1f} s ({run.tokens_per_second:.1f} tokens/s); "
               f"{run.truncated_tokens:,} prompt tokens cut by the backend.")


def register(main: click.Group, store_factory: Callable[[click.Context], Any]) -> None:
    @main.group()
    def enrich() -> None:
        """LLM descriptions of items (grounded in Wikipedia or facts) and users (from train history)."""

    @enrich.command("items")
    @click.option("--dataset", required=True)
    @click.option("--domain", default="item", show_default=True, help="What the items are: movie, book, ...")
    @llm_options
    @click.pass_context
    def enrich_items(ctx: click.Context, dataset: str, domain: str, backend: str, model: str, batch_size: int,
                     limit: int | None, shard: Shard | None, dry_run: bool, progress: bool | None) -> None:
        """Item.description (+ description_source, description_ungrounded)."""
        from knowledge.descriptions import DescribeConfig, describe_items

        report = describe_items(store_factory(ctx), dataset, make_backend(backend, model),
                                DescribeConfig(domain=domain, batch_size=batch_size), limit=limit,
                                dry_run=dry_run, progress=progress, shard=shard)
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
                     batch_size: int, limit: int | None, shard: Shard | None, dry_run: bool,
                     progress: bool | None) -> None:
        """User descriptions from demographics and a history (describe the items first)."""
        from knowledge.descriptions import DescribeConfig, describe_users

        report = describe_users(store_factory(ctx), dataset, make_backend(backend, model),
                                DescribeConfig(domain=domain, batch_size=batch_size), history=history, limit=limit,
                                dry_run=dry_run, progress=progress, shard=shard)
        echo_run(report.runs[0], dry_run)


def register_infer(interests: click.Group, store_factory: Callable[[click.Context], Any]) -> None:
    """``kgrec interests infer``, added to the ``interests`` group."""

    @interests.command("infer")
    @click.option("--dataset", required=True)
    @click.option("--max-items", type=click.IntRange(1), default=30, show_default=True,
                  help="Train items per prompt (the reference shows 30).")
    @click.option("--domain", default="items", show_default=True, help="movies, books, ...")
    @llm_options
    @click.pass_context
    def infer(ctx: click.Context, dataset: str, max_items: int, domain: str, backend: str, model: str,
              batch_size: int, limit: int | None, shard: Shard | None, dry_run: bool, progress: bool | None) -> None:
        """Ask the LLM for each user's interests from train items only (store a valid split first)."""
        from knowledge.interests.infer import InferConfig, infer_interests

        config = InferConfig(max_items=max_items, batch_size=batch_size, domain=domain)
        report = infer_interests(store_factory(ctx), dataset, make_backend(backend, model), config,
                                 limit=limit, dry_run=dry_run, progress=progress, shard=shard)
        echo_run(report.run, dry_run)
        if not dry_run:
            click.echo(f"{report.users:,} users; {report.unparseable:,} answers without a usable phrase. "
                       f"Next: kgrec interests cluster --dataset {dataset} --from-cache --set NAME")
