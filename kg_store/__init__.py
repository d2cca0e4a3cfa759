"""Neo4j access for kgrec: settings, the driver, schema, the graph model, dataset queries.

``kg_store`` imports no other kgrec package; ``ingest`` and ``recommender`` build on it.
"""

from kg_store.connection import GraphStore, close_all_drivers
from kg_store.datasets import DatasetStats, dataset_stats, drop_dataset, list_datasets
from kg_store.errors import KgrecError
from kg_store.schema import apply_schema
from kg_store.settings import Neo4jSettings, resolve_settings

__all__ = [
    "DatasetStats", "GraphStore", "KgrecError", "Neo4jSettings", "apply_schema", "close_all_drivers",
    "dataset_stats", "drop_dataset", "list_datasets", "resolve_settings",
]
