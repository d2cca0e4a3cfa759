"""``kgrec export --dataset D --format F OUT``: a thin wrapper over :func:`kgrec.export`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kg_store.formats import format_names
from kgrec.cli.common import KgrecCommand, open_store


@click.command("export", cls=KgrecCommand)
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dataset", required=True, help="Dataset in the graph to export.")
@click.option("--format", "format_name", required=True, type=click.Choice(format_names()),
              help="cikg / kgat (list files, kg_final), recbole (atomic files), pykeen (labelled triples).")
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
@click.pass_context
def export(ctx: click.Context, out: Path, dataset: str, format_name: str, as_json: bool) -> None:
    """Write a dataset as files another tool reads, into OUT (absent or empty).

    cikg, kgat and recbole read back with 'kgrec ingest <format>' to the same counts; only cikg
    keeps user interests. pykeen writes triples.tsv for TriplesFactory.from_path.
    """
    from kgrec.models_api import export as export_files

    paths = export_files(dataset, format_name, out, store=open_store(ctx)).files
    if as_json:
        click.echo(json.dumps({"dataset": dataset, "format": format_name, "out": str(out),
                               "files": [str(path) for path in paths]}, indent=2))
        return
    click.echo(f"Exported '{dataset}' as {format_name} to {out}: {len(paths)} files "
               f"({', '.join(path.name for path in paths)}).")
