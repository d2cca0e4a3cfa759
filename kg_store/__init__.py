"""Neo4j access for kgrec: settings, the driver, schema, the graph model, dataset queries.

``kg_store`` imports no other kgrec package; ``ingest`` and ``recommender`` build on it.
The package attributes below are loaded on first use (PEP 562), so importing a driver-free
submodule (``kg_store.errors``, ``kg_store.graph_export``) does not load the Neo4j driver.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kg_store.connection import GraphStore, close_all_drivers
    from kg_store.datasets import DatasetStats, dataset_stats, drop_dataset, list_datasets
    from kg_store.errors import KgrecError
    from kg_store.schema import apply_schema
    from kg_store.settings import Neo4jSettings, resolve_settings

_HOMES = {
    "GraphStore": "connection", "close_all_drivers": "connection",
    "DatasetStats": "datasets", "dataset_stats": "datasets", "drop_dataset": "datasets",
    "list_datasets": "datasets", "KgrecError": "errors", "apply_schema": "schema",
    "Neo4jSettings": "settings", "resolve_settings": "settings",
}

__all__ = [
    "DatasetStats", "GraphStore", "KgrecError", "Neo4jSettings", "apply_schema", "close_all_drivers",
    "dataset_stats", "drop_dataset", "list_datasets", "resolve_settings",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access."""
    if name not in _HOMES:
        raise AttributeError(f"module 'kg_store' has no attribute {name!r}")
    return getattr(import_module(f"kg_store.{_HOMES[name]}"), name)
