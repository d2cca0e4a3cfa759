"""The named inspection queries of ``cypher/queries/``: listed from their headers, run by name.

Each file starts with a comment header that is both documentation and the contract checked here::

    // NAME: one line saying what it answers.
    // Parameters: $dataset: string, $user: int, $set: string? = null, $limit: int = 50
    // Returns: set, id, label, ...
    // :param dataset => 'dbbook2014'      (for Neo4j Browser; never executable)

Names are checked against the files that exist (an allow-list), so a name can never carry Cypher;
values travel as parameters, typed by the header, so ``user=42`` reaches Neo4j as the integer 42
while ``set=2024`` stays the string '2024'. Queries run in read transactions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import KgrecError

FOLDER = "queries"
MAX_ROWS = 10_000
"""Upper bound for the ``limit``/``k`` parameters, so no named query returns an unbounded result."""

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_PARAM = re.compile(r"^\$([a-z_][a-z0-9_]*):\s*(string|int|float|bool)(\?)?(?:\s*=\s*(\S+))?$")
_TYPES = {"string": str, "int": int, "float": float, "bool": bool}


class QueryError(KgrecError):
    """A named query does not exist, or its parameters are missing or of the wrong type."""

    exit_code = 2


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: str
    nullable: bool = False
    default: Any = None
    required: bool = True


@dataclass(frozen=True)
class QueryInfo:
    name: str
    params: tuple[QueryParam, ...]
    columns: tuple[str, ...]
    description: str


def _query_files() -> dict[str, str]:
    """Name -> text of every ``cypher/queries/*.cypher`` file."""
    folder = resources.files("cypher").joinpath(FOLDER)
    return {entry.name.removesuffix(".cypher"): entry.read_text(encoding="utf-8")
            for entry in folder.iterdir() if entry.name.endswith(".cypher")}


def _header(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    return lines


def _parse_param(spec: str, query: str) -> QueryParam:
    match = _PARAM.match(spec.strip())
    if not match:
        raise QueryError(f"Query '{query}': bad parameter spec {spec!r} in its header.")
    name, kind, nullable, default = match.groups()
    param = QueryParam(name, kind, nullable is not None)
    if default is None:
        return param
    value = None if default == "null" else _coerce(param, default, query)
    return QueryParam(name, kind, param.nullable, value, required=False)


def _parse_info(name: str, text: str) -> QueryInfo:
    """Read name, description, parameters and columns from a file's header comment."""
    fields = {"description": "", "Parameters": "", "Returns": ""}
    for line in _header(text):
        key, _, value = line.partition(":")
        if key == name:
            fields["description"] = value.strip()
        elif key in fields:
            fields[key] = value.strip()
    if not fields["description"] or not fields["Returns"]:
        raise QueryError(f"Query '{name}' lacks a '// {name}: ...' or '// Returns: ...' header line.")
    specs = [s for s in fields["Parameters"].split(",") if s.strip()]
    return QueryInfo(name, tuple(_parse_param(s, name) for s in specs),
                     tuple(c.strip() for c in fields["Returns"].split(",")), fields["description"])


@cache
def _infos() -> dict[str, QueryInfo]:
    return {name: _parse_info(name, text) for name, text in sorted(_query_files().items())}


def list_queries() -> list[QueryInfo]:
    """Every named query, sorted by name, described by its header."""
    return list(_infos().values())


def query_info(name: str) -> QueryInfo:
    """The header of one query; the name must match the pattern *and* be an existing file."""
    if not _NAME.match(name) or name not in _infos():
        known = ", ".join(_infos())
        raise QueryError(f"No named query {name!r}; known: {known}.")
    return _infos()[name]


def _coerce(param: QueryParam, value: Any, query: str) -> Any:
    """A CLI string (or an already typed value) as the parameter's declared type."""
    if value is None or (param.nullable and value == "null"):
        if not param.nullable:
            raise QueryError(f"Query '{query}': parameter '{param.name}' cannot be null.")
        return None
    if not isinstance(value, str):
        if type(value) is _TYPES[param.type] or (param.type == "float" and type(value) is int):
            return value
        raise QueryError(f"Query '{query}': parameter '{param.name}' must be {param.type}, got {value!r}.")
    try:
        if param.type == "bool":
            return {"true": True, "false": False}[value.lower()]
        return _TYPES[param.type](value)
    except (KeyError, ValueError):
        raise QueryError(f"Query '{query}': parameter '{param.name}' must be {param.type}, got {value!r}.") from None


def _check_bound(name: str, value: Any, query: str) -> None:
    if name in {"limit", "k"} and value is not None and not 1 <= value <= MAX_ROWS:
        raise QueryError(f"Query '{query}': '{name}' must be between 1 and {MAX_ROWS}.")


def bind_params(info: QueryInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """Typed parameters for one query: defaults filled in, unknown or missing names refused."""
    unknown = set(params) - {p.name for p in info.params}
    if unknown:
        raise QueryError(f"Query '{info.name}' takes no parameter(s) {', '.join(sorted(unknown))}.")
    bound = {}
    for param in info.params:
        if param.name not in params and param.required:
            raise QueryError(f"Query '{info.name}' needs parameter '{param.name}' ({param.type}).")
        value = _coerce(param, params[param.name], info.name) if param.name in params else param.default
        _check_bound(param.name, value, info.name)
        bound[param.name] = value
    return bound


def run_named_query(store: GraphStore, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``cypher/queries/<name>.cypher`` as dicts, run in a read transaction. On a linked dataset
    the queries that apply are answered from its graph and kgrec's nodes (:mod:`kg_store.linked.queries`)."""
    info = query_info(name)
    linked = _linked_dataset(store, params.get("dataset"))
    if linked is not None:
        return _run_linked(store, info, linked, params)
    bound = bind_params(info, params)
    text = load_query(f"{FOLDER}/{info.name}")
    return store.read_with(lambda tx: [record.data() for record in tx.run(text, bound)])


def _linked_dataset(store: GraphStore, dataset: Any) -> dict[str, Any] | None:
    """The Dataset node of ``dataset`` when it is a linked dataset; else None (an unknown one too)."""
    if not isinstance(dataset, str):
        return None
    rows = store.read("store/dataset_info", dataset=dataset)
    return rows[0] if rows and rows[0].get("linked") else None


def _run_linked(store: GraphStore, info: QueryInfo, dataset: dict[str, Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    from kg_store.linked.queries import ANSWERED, key_params, linked_param_info, refusal

    if info.name not in ANSWERED:
        raise QueryError(refusal(info.name, dataset["name"]))
    bound = bind_params(linked_param_info(info), key_params(params))
    return ANSWERED[info.name](store, dataset, bound)
