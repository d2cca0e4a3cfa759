"""``kgrec query NAME --dataset D --param k=v``: the named inspection queries from the terminal.

A thin layer over :func:`kgrec.run_query` and its kin (:mod:`kgrec.graph_api`); the names,
parameters and columns come from the headers of ``cypher/queries/*.cypher``, so adding a query
needs no change here.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import click

from kg_store.errors import KgrecError
from kgrec.cli.common import KgrecCommand, open_store
from kgrec.graph_api import named_queries, named_query, run_query


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``k=v`` pairs as a dict of strings (typing happens against the query's header)."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise KgrecError(f"--param wants KEY=VALUE, got {pair!r}.")
        params[key.strip()] = value
    return params


def _cell(value: Any) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


def _render(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str) -> str:
    """Rows as an aligned table, JSON or CSV (columns in the header's order)."""
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells)
        return out.getvalue().rstrip("\n")
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [list(columns), *cells]]
    return "\n".join(lines + [f"({len(rows)} rows)"])


def _describe(info) -> str:
    params = ", ".join(f"{p.name}: {p.type}{'?' if p.nullable else ''}"
                       + ("" if p.required else f" = {'null' if p.default is None else p.default}")
                       for p in info.params)
    return f"{info.name}\n    {info.description}\n    params: {params}\n    columns: {', '.join(info.columns)}"


def _echo_list(fmt: str) -> None:
    """The named queries, as JSON or described one by one."""
    infos = named_queries()
    if fmt == "json":
        click.echo(json.dumps([{"name": i.name, "description": i.description, "columns": list(i.columns),
                                "params": [p.name for p in i.params]} for i in infos], indent=2))
    else:
        click.echo("\n".join(_describe(i) for i in infos))


@click.command("query", cls=KgrecCommand)
@click.argument("name", required=False)
@click.option("--dataset", default=None, help="Dataset the query reads (its $dataset parameter).")
@click.option("--param", "pairs", multiple=True, metavar="KEY=VALUE", help="A query parameter; repeatable.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--list", "list_only", is_flag=True, help="List the named queries with parameters and columns.")
@click.pass_context
def query(ctx: click.Context, name: str | None, dataset: str | None, pairs: tuple[str, ...], fmt: str,
          list_only: bool) -> None:
    """Run the named read-only query NAME (see --list) and print its rows."""
    if list_only:
        _echo_list(fmt)
        return
    if not name:
        raise KgrecError("Name a query (see 'kgrec query --list').")
    info = named_query(name)
    params = _parse_params(pairs)
    found = run_query(name, params, dataset=dataset, store=open_store(ctx))
    click.echo(_render(found.rows, info.columns, fmt))
