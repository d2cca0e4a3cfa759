"""The schema is applied once per process and database, unless forced."""

from __future__ import annotations

from kg_store.connection import GraphStore
from kg_store.schema import apply_schema


def test_schema_runs_once_per_database_unless_forced(store: GraphStore) -> None:
    ran = apply_schema(store, force=True)
    assert ran > 0
    assert apply_schema(store) == 0
    assert apply_schema(store, force=True) == ran
    names = store.read_with(lambda tx: tx.run("SHOW CONSTRAINTS YIELD name RETURN name").value())
    assert {"dataset_name", "user_key", "training_run_id"} <= set(names)
