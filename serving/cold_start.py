"""Cold start from stored vectors, without retraining.

LightGCN-style models (LightGCN, SimGCL, CIKGRec on its CIKG) score ``user · item`` with final
(propagated) embeddings, and a user's next layer is the symmetric-normalised sum of its neighbours,
``e_u = sum_n e_n / sqrt(|N(u)| |N(n)|)``. A new user is placed by **one such propagation step over
the neighbours it names**: its items and, for a model with interest nodes (CIKGRec with interests on),
its interests, whose final vectors the training run left on the ``Interest`` nodes. Its vector is the
**mean** of those final vectors, every neighbour weighted equally, then it is scored against every
item by inner product, the items it named left out.

Why the mean rather than the symmetric-normalised sum: the user-side factor ``1/sqrt(|N(u)|)`` is
one scalar per user, so it rescales every score alike and leaves the ranking unchanged (the mean
keeps scores on the scale of the item-only case). The neighbour-side factor ``1/sqrt(|N(n)|)``
would need each neighbour's degree in the run's CIKG (interactions plus KG edges for an item,
holders for an interest), which the graph does not keep per run and which drifts as users are
added; and the vectors being aggregated are already final (layer-averaged), each carrying its own
normalisation. Equal weights are the stable choice, and with no interests the result is exactly
the items-only mean served before interests entered.

Inferred interests (``infer_interests``) come from the graph, not from an LLM: the interests of the
run's set most held by users who interacted with the given items (``serving/infer_interests``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kg_store.embeddings import InterestVectors, ItemVectors
from kg_store.errors import UnknownItemError
from serving.errors import UnknownInterestError

METHOD = "mean of the given items' final embeddings, inner product with every item (given items excluded)"
METHOD_WITH_INTERESTS = ("one propagation step: mean of the final embeddings of the given items and interests "
                         "(the new user's CIKG neighbours), inner product with every item (given items excluded)")


@dataclass(frozen=True)
class ColdStartResult:
    rows: list[int]             # rows of the ItemIndex, best first
    scores: list[float]


def _unknown(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Rows of ``wanted`` in the sorted ``ids`` and the ids that are not there."""
    if not len(ids):
        return np.zeros(len(wanted), dtype=np.int64), wanted.tolist()
    rows = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
    return rows, wanted[ids[rows] != wanted].tolist()


def _shown(ids: list[int]) -> str:
    return ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")


class ItemIndex:
    """A run's item vectors with an id lookup (ids are sorted, so ``searchsorted`` finds rows)."""

    def __init__(self, vectors: ItemVectors):
        self.ids = vectors.ids
        self.titles = vectors.titles
        self.matrix = vectors.vectors
        # the start of each item's entry in a cold-start answer: {"item":7,"title":"Dune","score":
        self.heads = [f'{{"item":{i},"title":{json.dumps(title, ensure_ascii=False)},"score":'
                      for i, title in zip(self.ids.tolist(), self.titles, strict=True)]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, dataset: str, items: list[int]) -> np.ndarray:
        """Row of each item; raises ``UnknownItemError`` naming (up to ten of) the unknown ids."""
        rows, unknown = _unknown(self.ids, np.asarray(items, dtype=np.int64))
        if unknown:
            raise UnknownItemError(f"Dataset '{dataset}' has no item {_shown(unknown)} (with vectors of this run).")
        return rows

    def title(self, row: int) -> str | None:
        return self.titles[row]

    @cached_property
    def nbytes(self) -> int:
        """Bytes held: vectors, ids, and the titles and answer heads (strings, with two list slots each)."""
        strings = sum(sys.getsizeof(head) for head in self.heads) + sum(sys.getsizeof(t) for t in self.titles if t)
        return int(self.matrix.nbytes + self.ids.nbytes) + strings + 16 * len(self)



class InterestIndex:
    """A run's interest vectors (one interest set) with an id lookup; empty for a model without interests."""

    def __init__(self, vectors: InterestVectors):
        self.set = vectors.set
        self.ids = vectors.ids
        self.labels = vectors.labels
        self.matrix = vectors.vectors

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, dataset: str, interests: list[int]) -> np.ndarray:
        """Row of each interest; raises ``UnknownInterestError`` naming (up to ten of) the unknown ids."""
        rows, unknown = _unknown(self.ids, np.asarray(interests, dtype=np.int64))
        if unknown:
            raise UnknownInterestError(f"Interest set '{self.set}' of dataset '{dataset}' has no interest "
                                       f"{_shown(unknown)} (with vectors of this run).")
        return rows

    def label(self, row: int) -> str | None:
        return self.labels[row]


def aggregate(item_vectors: np.ndarray, interest_vectors: np.ndarray | None = None) -> np.ndarray:
    """The new user's vector: the mean of its neighbours' final vectors, items and interests alike.

    Shapes: (n, D) and (m, D) (m may be 0, or None) -> (D,).
    """
    if interest_vectors is not None and len(interest_vectors):
        item_vectors = np.concatenate([item_vectors, interest_vectors])
    return np.add.reduce(item_vectors, axis=0) / len(item_vectors)     # = mean(axis=0), bit for bit, less overhead


def cold_start(index: ItemIndex, dataset: str, items: list[int], k: int,
               interest_vectors: np.ndarray | None = None) -> ColdStartResult:
    """Top-``k`` items for a new user who interacted with ``items`` (ids), best first.

    ``interest_vectors`` (m, D): final vectors of the user's interests, aggregated with the items'
    (see :func:`aggregate`); None or empty gives the items-only mean.
    """
    rows = np.unique(index.rows(dataset, items))
    user = aggregate(index.matrix[rows], interest_vectors)
    scores = index.matrix @ user
    scores[rows] = -np.inf
    k = min(k, len(index) - len(rows))
    if k <= 0:
        return ColdStartResult([], [])
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return ColdStartResult(top.tolist(), scores[top].tolist())
