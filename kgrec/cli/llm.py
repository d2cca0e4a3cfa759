"""``kgrec llm try`` and ``kgrec llm cache export|import|stats``: one prompt, and the Neo4j response cache.

A thin click layer over :mod:`kgrec.llm_api`; errors surface as kgrec errors (one sentence, exit code).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kgrec.cli.common import KgrecGroup, open_store
from kgrec.cli.llm_options import endpoint_option
from kgrec.llm_api import ask, export_llm_cache, import_llm_cache, llm_backend, llm_cache_stats
from knowledge.llm.base import backend_names


@click.group("llm", cls=KgrecGroup)
def llm() -> None:
    """Language models: try a prompt, manage the response cache in Neo4j."""


@llm.command("try")
@click.argument("prompt")
@click.option("--backend", type=click.Choice(backend_names()), default="transformers", show_default=True,
              help="transformers: a local model (default: the packaged SmolLM2); openai: an HTTP endpoint "
                   "(KGREC_LLM_BASE_URL, KGREC_LLM_MODEL, KGREC_LLM_API_KEY); openai-batch: the OpenAI Batch API.")
@click.option("--model", default="", help="Model name, folder or .gguf file (default per backend).")
@endpoint_option()
@click.option("--max-new-tokens", type=int, default=64, show_default=True)
@click.option("--task", default="try", show_default=True, help="Task name stored with the response.")
@click.pass_context
def try_prompt(ctx: click.Context, prompt: str, backend: str, model: str, endpoints: tuple[str, ...],
               max_new_tokens: int, task: str) -> None:
    """Send one PROMPT (or answer it from the cache) and store the answer."""
    chat = llm_backend(backend, model, endpoints=endpoints)      # first, so a bad backend setting fails before any connection
    answer = ask(prompt, chat, max_new_tokens=max_new_tokens, task=task, store=open_store(ctx))
    click.echo(answer.text)
    source = "from the cache" if answer.cached else f"{answer.tokens_per_second:.1f} tokens/s"
    click.echo(f"[{answer.model}: {answer.prompt_tokens} prompt + {answer.completion_tokens} completion "
               f"tokens, {source}]", err=True)


@llm.group("cache", cls=KgrecGroup)
def cache() -> None:
    """The (:LLMResponse) cache: export, import, stats."""


@cache.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--task", default=None, help="Only responses of this task.")
@click.pass_context
def cache_export(ctx: click.Context, file: Path, task: str | None) -> None:
    """Write cached responses to FILE as JSONL (one object per response, every field)."""
    count = export_llm_cache(file, task=task, store=open_store(ctx))
    click.echo(f"Exported {count} responses to {file}.")


@cache.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def cache_import(ctx: click.Context, file: Path) -> None:
    """Read a JSONL export into the cache; every line is checked before anything is written."""
    done = import_llm_cache(file, store=open_store(ctx))
    click.echo(f"Imported {file}: {done.responses} responses, {done.created} new.")


@cache.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def cache_stats(ctx: click.Context, as_json: bool) -> None:
    """Responses and tokens per model and task."""
    rows = llm_cache_stats(store=open_store(ctx))
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("The LLM cache is empty.")
    for row in rows:
        click.echo(f"{row['model']}  {row['task']}: {row['responses']} responses, {row['prompt_tokens']} prompt "
                   f"+ {row['completion_tokens']} completion tokens ({row['truncated_tokens']} cut)")
