"""Cypher lives in ``cypher/**/*.cypher``; this module finds a query by name.

A name is a path relative to ``cypher/`` without the suffix, e.g. ``ingest/merge_users``.
Queries are read once and cached; no query text is ever assembled in Python.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from kg_store.errors import KgrecError

_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)*$")


@cache
def load_query(name: str) -> str:
    """Text of ``cypher/<name>.cypher``."""
    if not _NAME.match(name):
        raise KgrecError(f"Bad Cypher file name {name!r}.")
    resource = resources.files("cypher")
    for part in f"{name}.cypher".split("/"):
        resource = resource.joinpath(part)
    if not resource.is_file():
        raise KgrecError(f"No Cypher file 'cypher/{name}.cypher'.")
    return resource.read_text(encoding="utf-8").strip()


def split_statements(text: str) -> list[str]:
    """Statements of a multi-statement file (``;``-terminated, ``//`` comments dropped)."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("//")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]
