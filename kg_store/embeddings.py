"""Trained models kept in the graph: final user and item vectors on the nodes, with vector indexes.

Each ranking model owns one property, the one its entry in ``recommender.registry`` declares (the
one list of ranking models, read without importing any model code), e.g.
``User.emb_lightgcn`` / ``Item.emb_lightgcn``: a float32 array written with
``db.create.setNodeVectorProperty``, plus ``emb_lightgcn_run`` naming the run that wrote it. A
cosine vector index per (label, property) — ``embedding_user_lightgcn``, ``embedding_item_lightgcn``
— spans all datasets, as Neo4j indexes do, for nearest-neighbour queries in Cypher and Browser.

Properties rather than ``(:Embedding)`` nodes: a vector index covers one label and property, and a
node-level vector needs no extra hop when served; the latest run overwrites the previous one, while
``TrainingRun.model_path`` keeps every run's full state.

Models that propagate over interest nodes (CIKGRec with interests on) also leave their final interest
vectors, under the same property, on the ``Interest`` nodes of the set the run trained with (an
``Interest`` is keyed by dataset, set and id), indexed as ``embedding_interest_<model>``; cold start
uses them as the new user's interest neighbours. Models without interest nodes write none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.errors import UnsafeNameError
from kg_store.interest_sets import check_interest_set_name
from kg_store.progress import Progress
from recommender import registry

LABELS = ("User", "Item", "Interest")
WRITE_BATCH = 2000
INDEX_WAIT_SECONDS = 300


@dataclass(frozen=True)
class EmbeddingKeys:
    """Property and index names of one model kind; every name comes from the registry (plain identifiers)."""

    model: str
    property: str

    @property
    def run_property(self) -> str:
        return f"{self.property}_run"

    def index(self, label: str) -> str:
        return f"embedding_{label.lower()}_{self.model}"


@dataclass
class EmbeddingReport:
    property: str
    dimensions: int
    users: int
    items: int
    indexes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InterestVectors:
    """One run's interest vectors in id order, with labels and the interest set they belong to."""

    set: str | None            # None when the run wrote no interest vectors
    ids: np.ndarray            # (n,) int64 interest ids within the set
    labels: list[str | None]
    vectors: np.ndarray        # (n, d) float32


@dataclass(frozen=True)
class ItemVectors:
    """One run's item vectors in id order, with titles (what cold start scores against)."""

    ids: np.ndarray            # (n,) int64 graph ids
    titles: list[str | None]
    vectors: np.ndarray        # (n, d) float32


def embedding_keys(model: str) -> EmbeddingKeys:
    """Names for ``model``; a model the ranking registry lacks never reaches a query."""
    if model not in registry.model_names():
        raise UnsafeNameError(f"No embedding property for model '{model}': it is no registered ranking model "
                              f"(registered: {', '.join(registry.model_names())}).")
    return EmbeddingKeys(model, registry.embedding_property(model))


def _rows(ids: np.ndarray, vectors: np.ndarray) -> list[list]:
    return [[int(node), row] for node, row in zip(ids, np.asarray(vectors, dtype=np.float32).tolist(), strict=True)]


def ensure_index(store: GraphStore, label: str, keys: EmbeddingKeys, dimensions: int) -> str | None:
    """Create the cosine index of (label, property) unless present; a note when one of another size exists.

    One index serves every dataset, so a run with another dimension keeps its vectors unindexed
    rather than dropping the index other datasets use.
    """
    name = keys.index(label)
    found = store.read("text/vector_index", name=name)
    if found:
        if found[0]["dimensions"] != dimensions:
            return (f"vector index '{name}' holds {found[0]['dimensions']}-d vectors; these {dimensions}-d "
                    f"vectors are stored but not indexed")
        return None
    store.write("text/create_vector_index", name=name, label=label, property=keys.property, dimensions=int(dimensions))
    store.autocommit("store/await_indexes", seconds=INDEX_WAIT_SECONDS)
    return None


def write_embeddings(store: GraphStore, dataset: str, model: str, run_id: str, user_ids: np.ndarray,
                     item_ids: np.ndarray, user_vectors: np.ndarray, item_vectors: np.ndarray,
                     progress: Progress = None) -> EmbeddingReport:
    """Store final user and item vectors of ``run_id`` on the nodes and make sure both indexes exist."""
    keys = embedding_keys(model)
    dimensions = int(np.asarray(item_vectors).shape[1])
    report = EmbeddingReport(keys.property, dimensions, len(user_ids), len(item_ids))
    for label, ids, vectors in (("User", user_ids, user_vectors), ("Item", item_ids, item_vectors)):
        write_in_batches(store, f"embeddings/set_{label.lower()}_embeddings", _rows(ids, vectors),
                         batch_size=WRITE_BATCH, description=f"{dataset}: {label} vectors of {model}",
                         progress=progress, dataset=dataset, property=keys.property,
                         run_property=keys.run_property, run_id=run_id)
        note = ensure_index(store, label, keys, dimensions)
        report.notes.extend([note] if note else [])
        report.indexes.extend([] if note else [keys.index(label)])
    return report


def write_interest_embeddings(store: GraphStore, dataset: str, model: str, run_id: str, interest_set: str,
                              interest_ids: np.ndarray, vectors: np.ndarray,
                              progress: Progress = None) -> EmbeddingReport:
    """Store final interest vectors of ``run_id`` on the ``Interest`` nodes of ``interest_set`` (same property
    as the run's user and item vectors) and make sure ``embedding_interest_<model>`` exists."""
    keys = embedding_keys(model)
    check_interest_set_name(interest_set)
    dimensions = int(np.asarray(vectors).shape[1])
    report = EmbeddingReport(keys.property, dimensions, 0, 0)
    write_in_batches(store, "embeddings/set_interest_embeddings", _rows(interest_ids, vectors),
                     batch_size=WRITE_BATCH, description=f"{dataset}: Interest vectors of {model}",
                     progress=progress, dataset=dataset, interest_set=interest_set, property=keys.property,
                     run_property=keys.run_property, run_id=run_id)
    note = ensure_index(store, "Interest", keys, dimensions)
    report.notes.extend([note] if note else [])
    report.indexes.extend([] if note else [keys.index("Interest")])
    return report


def load_interest_vectors(store: GraphStore, dataset: str, model: str, run_id: str) -> InterestVectors:
    """The interest vectors ``run_id`` wrote (empty, with set None, for a run or model that wrote none)."""
    keys = embedding_keys(model)
    rows = store.read("embeddings/interest_embeddings", dataset=dataset, property=keys.property,
                      run_property=keys.run_property, run_id=run_id)
    vectors = np.asarray([row["vector"] for row in rows], dtype=np.float32)
    return InterestVectors(set=rows[0]["set"] if rows else None,
                           ids=np.asarray([row["id"] for row in rows], dtype=np.int64),
                           labels=[row["label"] for row in rows],
                           vectors=vectors.reshape(len(rows), -1) if rows else np.zeros((0, 0), dtype=np.float32))


def load_item_vectors(store: GraphStore, dataset: str, model: str, run_id: str) -> ItemVectors:
    """The item vectors ``run_id`` wrote (empty when it wrote none, e.g. a run from before vectors were kept)."""
    keys = embedding_keys(model)
    rows = store.read("embeddings/item_embeddings", dataset=dataset, property=keys.property,
                      run_property=keys.run_property, run_id=run_id)
    vectors = np.asarray([row["vector"] for row in rows], dtype=np.float32)
    return ItemVectors(ids=np.asarray([row["id"] for row in rows], dtype=np.int64),
                       titles=[row["title"] for row in rows],
                       vectors=vectors.reshape(len(rows), -1) if rows else np.zeros((0, 0), dtype=np.float32))
