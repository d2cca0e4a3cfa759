"""``kgrec ingest <source>|dataset``: thin wrappers over :func:`kgrec.ingest`.

One command per source of :mod:`ingest.registry`, generated from the source's class (its
``description`` is the help, its ``cli_options`` the options beyond the common ones);
``kgrec ingest dataset NAME`` finds a catalog dataset through the one lookup order and reads it
with the layout the catalog names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ingest import registry as sources
from ingest.protocol import SourceOption
from ingest.writer import DEFAULT_INGEST_WORKERS, IngestReport
from kg_store.batching import DEFAULT_BATCH_SIZE
from kgrec.cli.common import KgrecCommand, KgrecGroup, cli_state, open_store, progress_option, with_options

BULK_HELP = ("Load with Neo4j's import tool: only into an EMPTY database of kgrec's own local server (not "
             "NEO4J_URI/Docker), which is STOPPED AND RESTARTED for it; the graph is the same as without --bulk.")
FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)

_REPORT_OPTIONS = [click.option("--json", "as_json", is_flag=True, help="Print the report as JSON."), progress_option()]
_write_options = with_options([
    click.option("--bulk", is_flag=True, help=BULK_HELP),
    *_REPORT_OPTIONS,
    click.option("--skip-bad-lines", is_flag=True, help="Report and skip malformed lines instead of stopping."),
    click.option("--workers", type=click.IntRange(1), default=DEFAULT_INGEST_WORKERS, show_default=True,
                 help="Sessions that write each step's batches at once (not with --bulk)."),
    click.option("--batch-size", type=click.IntRange(1), default=DEFAULT_BATCH_SIZE, show_default=True,
                 help="Rows per transaction."),
])
_report_options = with_options(_REPORT_OPTIONS)    # a source that writes its own nodes (writes_records False)


def _source_option(option: SourceOption) -> Callable[[Callable], Callable]:
    """The click option of one ``cli_options`` entry of a source."""
    kind: Any = option.type
    if option.bounds is not None:
        low, high = option.bounds
        kind = (click.FloatRange(low, high, max_open=True) if option.type is float
                else click.IntRange(int(low), int(high), max_open=True))
    return click.option(option.flag, option.field, type=kind, default=option.default, show_default=True,
                        help=option.help)


def _common_options(func: Callable, writes_records: bool = True) -> Callable:
    options = _write_options if writes_records else _report_options
    return options(click.option("--dataset", required=True, help="Name the dataset gets in the graph.")(func))


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


def _run_source(ctx: click.Context, source: str, path: Path, dataset: str, progress: bool | None, as_json: bool,
                **options: Any) -> None:
    """``options``: the source's own, and the record writer's (bulk, batch_size, workers) when it has them."""
    from kgrec.pipeline import ingest as ingest_source

    report = ingest_source(source, path, dataset=dataset, store=open_store(ctx), progress=progress,
                           local_home=cli_state(ctx).home, **options)
    print_report(report, as_json)


@click.group(cls=KgrecGroup)
def ingest() -> None:
    """Load datasets into the graph (idempotent: re-running never duplicates)."""


def _source_command(name: str) -> click.Command:
    """``kgrec ingest <name>``: PATH, the common options, then the source's own options."""
    source = sources.get(name)

    def run(ctx: click.Context, path: Path, dataset: str, **options: Any) -> None:
        _run_source(ctx, name, path, dataset, **options)

    run.__doc__ = source.description
    command = with_options([_source_option(option) for option in source.cli_options])(click.pass_context(run))
    path = FILE if source.reads == "file" else FOLDER
    return click.command(name, cls=KgrecCommand)(click.argument("path", type=path)(
        _common_options(command, source.writes_records)))


for _name in sources.names():
    ingest.add_command(_source_command(_name))


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
    from kgrec.pipeline import ingest as ingest_named

    report = ingest_named(name, explicit, dataset=dataset, store=open_store(ctx), catalog_only=True,
                          batch_size=options["batch_size"], progress=options["progress"],
                          skip_bad_lines=options["skip_bad_lines"], verify=verify,
                          bulk=options["bulk"], local_home=cli_state(ctx).home, workers=options["workers"])
    print_report(report, options["as_json"])
