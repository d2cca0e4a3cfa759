"""Small graphs several test modules share, built on the real Neo4j."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kg_store.connection import GraphStore
from kg_store.embeddings import embedding_keys
from kg_store.vectors import drop_index
from kg_store.writeback import write_recommendations
from kgrec import api


def ingest_with_two_recommenders(store: GraphStore, folder: Path, dataset: str) -> None:
    """The CIKG fixture plus two models' recommendations for user 0 (model_a: 1, 2, 3; model_b: 2, 4): a TOP_K
    list per run, and the RECOMMENDED edges Browser draws (a small write-back writes them)."""
    api.ingest_cikg(store, folder, dataset, progress=False)
    users, items = np.arange(12), np.arange(10)
    write_recommendations(store, dataset, "model_a", "run_a", users[:1], items,
                          np.array([[1, 2, 3]]), np.array([[0.9, 0.8, 0.7]]))
    write_recommendations(store, dataset, "model_b", "run_b", users[:1], items,
                          np.array([[2, 4]]), np.array([[0.6, 0.5]]))


def drop_embedding_indexes(store: GraphStore, *models: str) -> None:
    """Drop the models' vector indexes, so this module's runs create them at their own size (one index
    serves every dataset, and another test file may have made it for another size first)."""
    for model in models:
        keys = embedding_keys(model)
        for label in ("User", "Item", "Interest"):
            drop_index(store, keys.index(label))

