"""Applies a schema file (``cypher/schema.cypher``, or another package's, e.g. the LLM cache's);
constraints and indexes, safe to run any number of times.

Applying it costs a round trip per statement plus an index wait, and every ingest and write-back
asks for it, so it runs once per process and database: constraints and indexes do not go away
while kgrec runs (wiping nodes keeps them). ``force=True`` applies it again, for callers that
dropped the schema themselves.
"""

from __future__ import annotations

import threading

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query, split_statements

_applied: set[tuple[str, str, str]] = set()
_applied_lock = threading.Lock()


def apply_schema(store: GraphStore, force: bool = False, schema: str = "schema", definitions_only: bool = False) -> int:
    """Create missing constraints/indexes and wait until they are online, once per (uri, database, schema).

    ``schema`` names the Cypher file (``cypher/<schema>.cypher``) of ``;``-separated statements.
    Returns the number of statements run (0 when this process already applied the schema there).
    The lock is held while applying, so concurrent callers wait instead of running it twice; a
    failed attempt is not remembered, so the next call tries again. ``definitions_only`` runs the
    CREATE/DROP statements alone, not the upgrades of older data (for a database just imported by
    ``ingest --bulk``, which holds no older data).
    """
    key = (store.settings.uri, store.settings.database, schema)
    with _applied_lock:
        if key in _applied and not force:
            return 0
        statements = _run_schema(store, schema, definitions_only)
        _applied.add(key)
        return statements


def _run_schema(store: GraphStore, schema: str, definitions_only: bool = False) -> int:
    statements = split_statements(load_query(schema))
    if definitions_only:
        statements = [s for s in statements if s.split(None, 1)[0].upper() in ("CREATE", "DROP")]
    for statement in statements:
        store.autocommit_text(statement)
    store.autocommit("store/await_indexes", seconds=300)
    return len(statements)
