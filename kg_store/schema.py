"""Applies ``cypher/schema.cypher`` (constraints and indexes); safe to run any number of times."""

from __future__ import annotations

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query, split_statements


def apply_schema(store: GraphStore) -> int:
    """Create missing constraints/indexes and wait until they are online. Returns statements run."""
    statements = split_statements(load_query("schema"))
    for statement in statements:
        store.autocommit_text(statement)
    store.autocommit("store/await_indexes", seconds=300)
    return len(statements)
