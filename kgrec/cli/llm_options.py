"""The options and output every LLM-driven command shares (``kgrec enrich ...``, ``kgrec interests infer``).

No commands here: this is the one place that says how a backend is picked and how a run is reported,
so every command that prompts a model offers the same options.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from kg_store.errors import ConfigError
from kgrec.cli.common import progress_option, with_options
from kgrec.llm_api import llm_backend
from knowledge.llm.base import backend_names
from knowledge.llm.runner import RunReport, Shard


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ConfigError as error:
        raise click.BadParameter(str(error)) from None


def endpoint_option() -> Callable:
    """``--endpoint URL``, repeatable: the servers an HTTP backend sends to."""
    return click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
                        help="Base URL of an OpenAI-compatible server (e.g. http://host:8000/v1) for the openai and "
                             "openai-batch backends. Repeat it to spread the prompts over several servers of the same "
                             "model; a failing server is skipped. Default: KGREC_LLM_BASE_URL (commas: several).")


def llm_options(func: Callable) -> Callable:
    """The options every LLM command shares."""
    return with_options([
        click.option("--backend", type=click.Choice(backend_names()), default="transformers", show_default=True,
                     help="transformers (local; default model: the packaged SmolLM2), llama-cpp (the same GGUF "
                          "run quantised by llama.cpp), openai (any OpenAI-compatible endpoint: KGREC_LLM_BASE_URL, "
                          "KGREC_LLM_MODEL, KGREC_LLM_API_KEY) or openai-batch (the OpenAI Batch API: one "
                          "resumable job, answered within 24 h)."),
        click.option("--model", default="", help="Model name, folder or .gguf file (default per backend)."),
        endpoint_option(),
        click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True,
                     help="Prompts per generate call / per cache write."),
        click.option("--limit", type=click.IntRange(0), default=None, help="Send at most N new prompts."),
        click.option("--shard", callback=_parse_shard, default=None, metavar="K/N",
                     help="Send only part K (0-based) of N disjoint parts of the prompts, so N processes or "
                          "machines sharing this Neo4j split one job; each writes what is answered so far."),
        click.option("--dry-run", is_flag=True, help="Show the prompts and how many would be sent; send none."),
        progress_option("Force progress bars on or off."),
    ])(func)


def make_backend(backend: str, model: str, endpoints: tuple[str, ...] = ()) -> Any:
    return llm_backend(backend, model, endpoints=endpoints)


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
