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

Names, indexes, batched writes and matrix reads are :mod:`kg_store.vectors`; this module says which
property a model owns and what a run writes and reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kg_store import vectors as node_vectors
from kg_store.connection import GraphStore
from kg_store.errors import UnsafeNameError
from kg_store.interest_sets import check_interest_set_name
from kg_store.progress import Progress
from kg_store.vectors import EmbeddingKeys as EmbeddingKeys  # re-exported: serving reads the names
from recommender import registry

LABELS = node_vectors.VECTOR_LABELS
WRITE_BATCH = 2000
INDEX_WAIT_SECONDS = node_vectors.INDEX_WAIT_SECONDS


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
    return node_vectors.embedding_keys(model, registry.embedding_property(model))


def ensure_index(store: GraphStore, label: str, keys: EmbeddingKeys, dimensions: int) -> str | None:
    """Create the cosine index of (label, property) unless present; a note when one of another size exists.

    One index serves every dataset, so a run with another dimension keeps its vectors unindexed
    rather than dropping the index other datasets use.
    """
    try:
        node_vectors.ensure_index(store, keys.index_key(label), dimensions)
    except node_vectors.IndexSizeError as error:
        return (f"vector index '{error.index}' holds {error.found}-d vectors; these {dimensions}-d "
                f"vectors are stored but not indexed")
    return None


def _write(store: GraphStore, report: EmbeddingReport, label: str, keys: EmbeddingKeys, ids: np.ndarray,
           matrix: np.ndarray, run_id: str, progress: Progress, **params: str) -> None:
    """Write one label's vectors of a run, then index them (or note why not)."""
    dataset = params["dataset"]
    node_vectors.write_vectors(store, f"embeddings/set_{label.lower()}_embeddings", ids, matrix, batch_size=WRITE_BATCH,
                               description=f"{dataset}: {label} vectors of {keys.model}", progress=progress,
                               property=keys.property, run_property=keys.run_property, run_id=run_id, **params)
    note = ensure_index(store, label, keys, report.dimensions)
    report.notes.extend([note] if note else [])
    report.indexes.extend([] if note else [keys.index(label)])


def write_embeddings(store: GraphStore, dataset: str, model: str, run_id: str, user_ids: np.ndarray,
                     item_ids: np.ndarray, user_vectors: np.ndarray, item_vectors: np.ndarray,
                     progress: Progress = None) -> EmbeddingReport:
    """Store final user and item vectors of ``run_id`` on the nodes and make sure both indexes exist."""
    keys = embedding_keys(model)
    report = EmbeddingReport(keys.property, int(np.asarray(item_vectors).shape[1]), len(user_ids), len(item_ids))
    _write(store, report, "User", keys, user_ids, user_vectors, run_id, progress, dataset=dataset)
    _write(store, report, "Item", keys, item_ids, item_vectors, run_id, progress, dataset=dataset)
    return report


def write_interest_embeddings(store: GraphStore, dataset: str, model: str, run_id: str, interest_set: str,
                              interest_ids: np.ndarray, vectors: np.ndarray,
                              progress: Progress = None) -> EmbeddingReport:
    """Store final interest vectors of ``run_id`` on the ``Interest`` nodes of ``interest_set`` (same property
    as the run's user and item vectors) and make sure ``embedding_interest_<model>`` exists."""
    keys = embedding_keys(model)
    check_interest_set_name(interest_set)
    report = EmbeddingReport(keys.property, int(np.asarray(vectors).shape[1]), 0, 0)
    _write(store, report, "Interest", keys, interest_ids, vectors, run_id, progress, dataset=dataset,
           interest_set=interest_set)
    return report


def _read(store: GraphStore, query: str, dataset: str, model: str, run_id: str) -> node_vectors.StoredMatrix:
    keys = embedding_keys(model)
    return node_vectors.read_matrix(store, query, dataset=dataset, property=keys.property,
                                    run_property=keys.run_property, run_id=run_id)


def load_interest_vectors(store: GraphStore, dataset: str, model: str, run_id: str) -> InterestVectors:
    """The interest vectors ``run_id`` wrote (empty, with set None, for a run or model that wrote none)."""
    found = _read(store, "embeddings/interest_embeddings", dataset, model, run_id)
    return InterestVectors(set=found.rows[0]["set"] if found.rows else None, ids=found.ids,
                           labels=[row["label"] for row in found.rows], vectors=found.vectors)


def load_item_vectors(store: GraphStore, dataset: str, model: str, run_id: str) -> ItemVectors:
    """The item vectors ``run_id`` wrote (empty when it wrote none, e.g. a run from before vectors were kept)."""
    found = _read(store, "embeddings/item_embeddings", dataset, model, run_id)
    return ItemVectors(ids=found.ids, titles=[row["title"] for row in found.rows], vectors=found.vectors)
