"""``kgrec ingest cikg|kgat|movielens|recbole|dataset``: thin wrappers over :mod:`kgrec.api`.

One command per registered ingest source; ``kgrec ingest dataset NAME`` finds a catalog
dataset through the one lookup order and reads it with the layout the catalog names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ingest.writer import DEFAULT_INGEST_WORKERS, IngestReport
from kg_store.batching import DEFAULT_BATCH_SIZE
from kgrec.cli.common import KgrecGroup, cli_state, open_store, progress_option, with_options

BULK_HELP = ("Load with Neo4j's import tool: only into an EMPTY database of kgrec's own local server (not "
             "NEO4J_URI/Docker), which is STOPPED AND RESTARTED for it; the graph is the same as without --bulk.")
SPLIT_HELP = "Share of each user's interactions in the test split (sources without a split)."
FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)

_write_options = with_options([
    click.option("--bulk", is_flag=True, help=BULK_HELP),
    click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."),
    progress_option(),
    click.option("--skip-bad-lines", is_flag=True, help="Report and skip malformed lines instead of stopping."),
    click.option("--workers", type=click.IntRange(1), default=DEFAULT_INGEST_WORKERS, show_default=True,
                 help="Sessions that write each step's batches at once (not with --bulk)."),
    click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH_SIZE, show_default=True,
                 help="Rows per transaction."),
])

_split_options = with_options([
    click.option("--split-seed", type=int, default=2024, show_default=True,
                 help="Seed of the per-user split (used when there are no timestamps)."),
    click.option("--test-ratio", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.2,
                 show_default=True, help=SPLIT_HELP),
])


def _common_options(func: Callable) -> Callable:
    return _write_options(click.option("--dataset", required=True, help="Name the dataset gets in the graph.")(func))


def print_report(report: IngestReport, as_json: bool) -> None:
    """The ingest report: skipped lines, notes on missing parts, duplicates, then one summary line."""
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True, default=str))
        return
    for line in report.skipped[:20]:
        where = f"{line.path}" + (f", line {line.line}" if line.line else "")
        click.echo(f"skipped {where}: {line.reason}", err=True)
    if report.skipped:
        click.echo(f"{len(report.skipped)} bad line(s) skipped.", err=True)
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.duplicates:
        counts = ", ".join(f"{name}: {n:,}" for name, n in sorted(report.duplicates.items()))
        click.echo(f"note: repeated lines loaded once ({counts})")
    how = " with the import tool (the local server was restarted)" if report.mode == "bulk" else ""
    click.echo(
        f"Ingested '{report.dataset}'{how} in {report.seconds:.1f} s: {report.nodes_written:,} nodes "
        f"({report.nodes_created:,} new), {report.relationships_written:,} relationships "
        f"({report.relationships_created:,} new); graph version {report.version}."
    )


def _run_source(ctx: click.Context, source: str, path: Path, dataset: str, batch_size: int,
                progress: bool | None, as_json: bool, bulk: bool, workers: int, **options: Any) -> None:
    from kgrec import api

    store = open_store(ctx)
    if bulk:
        report = api.ingest_bulk(store, source, path, dataset, progress, cli_state(ctx).home, **options)
    else:
        report = api.ingest(store, source, path, dataset, batch_size, progress, workers, **options)
    print_report(report, as_json)


@click.group(cls=KgrecGroup)
def ingest() -> None:
    """Load datasets into the graph (idempotent: re-running never duplicates)."""


@ingest.command("cikg")
@click.argument("path", type=FOLDER)
@_common_options
@click.pass_context
def ingest_cikg(ctx: click.Context, path: Path, dataset: str, **options: Any) -> None:
    """Load a folder in the CIKG layout (train/test, kg_final, lists, user interests)."""
    _run_source(ctx, "cikg", path, dataset, **options)


@ingest.command("kgat")
@click.argument("path", type=FOLDER)
@_common_options
@click.pass_context
def ingest_kgat(ctx: click.Context, path: Path, dataset: str, **options: Any) -> None:
    """Load a folder in KGAT's layout (amazon-book, last-fm, yelp2018; kg_final may be zipped)."""
    _run_source(ctx, "kgat", path, dataset, **options)


@ingest.command("movielens")
@click.argument("path", type=FOLDER)
@_common_options
@_split_options
@click.pass_context
def ingest_movielens(ctx: click.Context, path: Path, dataset: str, **options: Any) -> None:
    """Load MovieLens 100K or 1M raw files (split per user: by time, else seeded)."""
    _run_source(ctx, "movielens", path, dataset, **options)


@ingest.command("recbole")
@click.argument("path", type=FOLDER)
@_common_options
@_split_options
@click.pass_context
def ingest_recbole(ctx: click.Context, path: Path, dataset: str, **options: Any) -> None:
    """Load RecBole atomic files (.inter, .item, .user, .kg, .link; split files when present)."""
    _run_source(ctx, "recbole", path, dataset, **options)


@ingest.command("dataset")
@click.argument("name")
@click.option("--path", "explicit", type=FOLDER, default=None, help="Read from this folder instead.")
@click.option("--as", "dataset", default=None, help="Name in the graph (default: NAME).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check each file's sha256 against the catalog before reading.")
@_write_options
@click.pass_context
def ingest_dataset(ctx: click.Context, name: str, explicit: Path | None, dataset: str | None, verify: bool,
                   **options: Any) -> None:
    """Load a catalog dataset found by the lookup order (--path, KGREC_DATA_DIR, data home, shipped)."""
    from kgrec import api

    report = api.ingest_named(open_store(ctx), name, dataset=dataset, path=explicit,
                              batch_size=options["batch_size"], progress=options["progress"],
                              skip_bad_lines=options["skip_bad_lines"], verify=verify,
                              bulk=options["bulk"], local_home=cli_state(ctx).home, workers=options["workers"])
    print_report(report, options["as_json"])
