"""Results back into the graph: top-K recommendations as edges, and a node per training run.

``(:User)-[:RECOMMENDED {score, rank, model, run_id}]->(:Item)`` replaces the same model's
previous edges user by user (delete + create in one transaction per batch of users, sent as
parallel lists), so readers never see a user with two runs mixed; ``(:TrainingRun)`` keeps the
config and metrics as JSON text, and where the run's model file and vectors are (``kg_store.embeddings`` writes the vectors).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError, UnknownUserError, UnsafeNameError
from kg_store.progress import Progress, stage
from kg_store.schema import apply_schema

# Users per transaction: 2,000 users x top-20 = 40,000 edges, a few MB of transaction state.
WRITE_BATCH_USERS = 2_000


def _column_batches(user_ids: np.ndarray, item_ids: np.ndarray, top_items: np.ndarray, top_scores: np.ndarray,
                    batch_users: int) -> Iterator[dict[str, list]]:
    """Parallel lists per batch of users: each distinct item once, the lists as positions into it."""
    for start in range(0, len(top_items), batch_users):
        block = top_items[start:start + batch_users]
        used, positions = np.unique(block, return_inverse=True)
        yield {"users": user_ids[start:start + batch_users].astype(np.int64).tolist(),
               "item_ids": item_ids[used].astype(np.int64).tolist(),
               "items": positions.reshape(block.shape).tolist(),
               "scores": top_scores[start:start + batch_users].astype(np.float64).tolist()}


def write_recommendations(store: GraphStore, dataset: str, model: str, run_id: str, user_ids: np.ndarray,
                          item_ids: np.ndarray, top_items: np.ndarray, top_scores: np.ndarray,
                          progress: Progress = None, batch_users: int = WRITE_BATCH_USERS) -> int:
    """Write ranked items per user. ``top_items``/``top_scores``: (n_users, K) indices into ``item_ids``.

    One transaction per batch of users deletes their old edges of ``model`` and creates the new
    ones, so readers never see a user with two runs mixed. Returns the number of edges written.
    """
    dataset_info(store, dataset)
    apply_schema(store)
    if batch_users < 1:
        raise ConfigError(f"batch_users must be at least 1, got {batch_users}.")
    with stage(f"{dataset}: recommendations of {model}", len(top_items), progress) as advance:
        for batch in _column_batches(np.asarray(user_ids), np.asarray(item_ids), np.asarray(top_items),
                                     np.asarray(top_scores), batch_users):
            store.write_batch("recommend/replace_recommendations", batch, dataset=dataset, model=model, run_id=run_id)
            advance(len(batch["users"]))
    store.autocommit("recommend/delete_stale_recommendations", dataset=dataset, model=model, run_id=run_id)
    return int(top_items.size)


def save_training_run(store: GraphStore, dataset: str, model: str, run_id: str, config: dict[str, Any],
                      metrics: dict[str, Any], started: datetime, finished: datetime | None = None,
                      artifacts: dict[str, str | int] | None = None) -> None:
    """``artifacts``: scalar properties saying where the run's model and vectors live (``model_path``,
    ``model_sha256``, ``embedding_property`` ...), so a process that sees only the graph can find them."""
    finished = finished or datetime.now(UTC)
    store.write("recommend/save_training_run", dataset=dataset, model=model, run_id=run_id,
                config=json.dumps(config, sort_keys=True, default=str),
                metrics=json.dumps(metrics, sort_keys=True, default=str),
                started=started.isoformat(), finished=finished.isoformat(), artifacts=dict(artifacts or {}))


def require_user(store: GraphStore, dataset: str, user: int) -> None:
    """Raise ``UnknownUserError`` unless ``user`` is a user id of ``dataset``."""
    if not store.read("store/user_exists", dataset=dataset, user=user)[0]["exists"]:
        raise UnknownUserError(f"User {user} is not in dataset {dataset}.")


def read_recommendations(store: GraphStore, dataset: str, user: int, model: str | None = None,
                         limit: int = 100) -> list[dict[str, Any]]:
    """Stored recommendations of one user, best first per model.

    An unknown dataset or user raises, so an empty list always means "not trained yet" rather
    than a mistyped id.
    """
    dataset_info(store, dataset)
    require_user(store, dataset, user)
    return store.read("recommend/user_recommendations", dataset=dataset, user=user, model=model, limit=limit)


def training_runs(store: GraphStore, dataset: str) -> Sequence[dict[str, Any]]:
    return store.read("recommend/training_runs", dataset=dataset)


def write_entity_embeddings(store: GraphStore, dataset: str, entity_ids: np.ndarray, vectors: np.ndarray,
                            property_name: str = "transe_embedding", batch_size: int = 2000) -> int:
    """Store one vector per entity as a list property (e.g. for Browser or vector indexes)."""
    if not property_name.replace("_", "").isalnum():
        raise UnsafeNameError(f"Property name {property_name!r} is not letters, digits and underscores.")
    rows = [[int(e), [float(x) for x in v]] for e, v in zip(entity_ids, vectors, strict=True)]
    write_in_batches(store, "recommend/set_entity_embeddings", rows, batch_size=batch_size,
                     description=f"{dataset}: entity vectors", dataset=dataset, property=property_name)
    return len(rows)
