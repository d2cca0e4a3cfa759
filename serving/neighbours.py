"""Interests inferred for a cold-start user from memory: the graph's ``serving/infer_interests`` rule
without a query per request.

That query scores each interest ``j`` of the run's set by ``sum over given items i, users u with
(u)-[:INTERACTED]->(i), (u)-[h:HAS_INTEREST]->(j) of h.weight``. The inner sum over users depends
only on ``(i, j)``, so it is read once per run (``serving/item_interest_weights``) into a sparse
item x interest matrix ``W`` (CSR over item rows); a request sums the rows of its items,
``score = sum_i W[i]``, and takes the best ``limit`` interests that have at least one path, ties by
id (the query's ``ORDER BY score DESC, id``).

Memory: ``8 (n_items + 1) + 12 nnz`` bytes (int32 column, float64 weight per nonzero pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kg_store.connection import GraphStore
from kg_store.embeddings import embedding_keys
from serving.cold_start import InterestIndex, ItemIndex


@dataclass(frozen=True)
class InterestNeighbours:
    """``W`` as CSR: ``indptr`` (n_items+1,) int64 over ItemIndex rows, ``columns`` (nnz,) int32
    InterestIndex rows, ``weights`` (nnz,) float64."""

    indptr: np.ndarray
    columns: np.ndarray
    weights: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.columns.nbytes + self.weights.nbytes)

    def infer(self, item_rows: np.ndarray, interests: InterestIndex, limit: int) -> list[int]:
        """Interest ids most held by users of the items at ``item_rows`` (distinct rows), best first."""
        bounds = [(int(self.indptr[row]), int(self.indptr[row + 1])) for row in np.unique(item_rows).tolist()]
        if not bounds or all(start == end for start, end in bounds):
            return []
        columns = np.concatenate([self.columns[start:end] for start, end in bounds])
        weights = np.concatenate([self.weights[start:end] for start, end in bounds])
        scores = np.bincount(columns, weights=weights, minlength=len(interests))
        held = np.flatnonzero(np.bincount(columns, minlength=len(interests)))      # rows, so in id order
        best = held[np.argsort(-scores[held], kind="stable")[:limit]]               # score descending, then id
        return interests.ids[best].tolist()


def load_neighbours(store: GraphStore, dataset: str, model: str, run_id: str, items: ItemIndex,
                    interests: InterestIndex) -> InterestNeighbours:
    """``W`` of one run, over the rows of its item and interest indexes (pairs outside them are dropped)."""
    keys = embedding_keys(model)
    rows = store.read("serving/item_interest_weights", dataset=dataset, interest_set=interests.set,
                      run_property=keys.run_property, run_id=run_id) if interests.set else []
    item_ids = np.asarray([row["item"] for row in rows], dtype=np.int64)
    interest_ids = np.asarray([row["interest"] for row in rows], dtype=np.int64)
    weights = np.asarray([row["weight"] for row in rows], dtype=np.float64)
    item_rows, kept_items = _rows(items.ids, item_ids)
    interest_rows, kept_interests = _rows(interests.ids, interest_ids)
    kept = kept_items & kept_interests
    order = np.lexsort((interest_rows[kept], item_rows[kept]))
    counts = np.bincount(item_rows[kept], minlength=len(items))
    indptr = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return InterestNeighbours(indptr, interest_rows[kept][order].astype(np.int32), weights[kept][order])


def _rows(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``wanted`` in the sorted ``ids``, and which of them are there."""
    if not len(ids):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    rows = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return rows, ids[rows] == wanted
