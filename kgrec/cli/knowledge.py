"""``kgrec wiki ingest|stats|imdb`` and ``kgrec link``: Wikipedia pages, item text and item->page links.

Thin wrappers over :mod:`kgrec.knowledge_api`; this module only parses options and prints one
summary line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ingest.wikipedia import DEFAULT_MAX_CHARS
from kg_store.batching import DEFAULT_BATCH_SIZE
from kgrec.admin_results import WikiIngest
from kgrec.cli.common import KgrecCommand, KgrecGroup, open_store, progress_option
from kgrec.knowledge_api import import_imdb_details, ingest_wikipedia, link_items, wikipedia_stats
from knowledge.linking import LinkConfig

DUMP = click.Path(exists=True, dir_okay=False, path_type=Path)


def _echo(data: dict[str, Any] | list[dict[str, Any]], as_json: bool, line: str) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str) if as_json else line)


def _wiki_line(report: WikiIngest) -> str:
    for skipped in report.skipped[:20]:
        click.echo(f"skipped {skipped}", err=True)
    return (f"Loaded {report.pages:,} pages ({report.pages_created:,} new) from {report.file} as source "
            f"'{report.source}' in {report.seconds:.1f} s; skipped {report.redirects:,} redirects, "
            f"{report.other_namespaces:,} non-article pages, {len(report.skipped):,} bad pages; "
            f"{report.truncated:,} texts cut to their first {report.max_chars:,} characters.")


@click.group(cls=KgrecGroup)
def wiki() -> None:
    """Wikipedia pages and item text for grounding LLM knowledge (KELLMRec)."""


@wiki.command("ingest")
@click.argument("path", type=DUMP)
@click.option("--source", default=None, help="Name of this dump in the graph (default: the file name).")
@click.option("--max-chars", type=click.IntRange(1), default=DEFAULT_MAX_CHARS, show_default=True,
              help="Characters of each page's text kept (the lead is what grounding uses).")
@click.option("--skip-bad-lines", is_flag=True, help="Report and skip pages without a title instead of stopping.")
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH_SIZE, show_default=True)
@progress_option()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def wiki_ingest(ctx: click.Context, path: Path, as_json: bool, **options: Any) -> None:
    """Stream a MediaWiki XML dump (.xml, .xml.bz2) or JSON lines of {title, text} into (:WikiPage)."""
    report = ingest_wikipedia(path, store=open_store(ctx), **options)
    _echo(report.as_dict(), as_json, _wiki_line(report))


@wiki.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def wiki_stats_command(ctx: click.Context, as_json: bool) -> None:
    """Loaded dumps: status (loading|complete), pages and item links."""
    rows = wikipedia_stats(store=open_store(ctx))
    lines = [f"{r['source']}: {r['status']}, {r['pages_in_graph']:,} pages, {r['links']:,} item links "
             f"(text cut at {r['max_chars']:,} chars)" for r in rows]
    _echo(rows, as_json, "\n".join(lines) or "No Wikipedia dump loaded.")


@wiki.command("imdb")
@click.argument("path", type=DUMP)
@click.option("--dataset", required=True, help="Dataset whose items (ML-100K ids) get the text.")
@progress_option()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def wiki_imdb(ctx: click.Context, path: Path, dataset: str, progress: bool | None, as_json: bool) -> None:
    """Set plot, directors, writers and cast on items from movielens100k_details.json."""
    report = import_imdb_details(path, dataset, progress=progress, store=open_store(ctx))
    _echo(report.as_dict(), as_json,
          f"IMDb details: {report.matched:,} of {report.records:,} records matched items of '{dataset}'.")


@click.command("link", cls=KgrecCommand)
@click.option("--dataset", required=True, help="Dataset whose item titles are linked.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True), default=LinkConfig.threshold,
              show_default=True, help="Minimum similarity after the year and kind adjustments.")
@click.option("--source", default=None, help="Link only to pages of this dump (default: all).")
@click.option("--kind", default=LinkConfig.kind_hint, show_default=True,
              help="Preferred disambiguation, e.g. film, novel; 'none' for no preference.")
@progress_option()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def link(ctx: click.Context, dataset: str, threshold: float, source: str | None, kind: str,
         progress: bool | None, as_json: bool) -> None:
    """Link items to Wikipedia pages: (:Item)-[:DESCRIBED_BY {similarity, method}]->(:WikiPage)."""
    config = LinkConfig(threshold=threshold, kind_hint=None if kind.lower() == "none" else kind.lower())
    report = link_items(dataset, config=config, source=source, progress=progress, store=open_store(ctx))
    _echo(report.as_dict(), as_json,
          f"Linked {report.linked:,} of {report.items:,} items of '{dataset}' to {report.pages:,} candidate "
          f"pages (threshold {report.threshold}).")
