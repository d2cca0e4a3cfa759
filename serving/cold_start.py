"""Cold start from stored vectors, without retraining.

LightGCN-style models score ``user · item`` with final (propagated) embeddings, and a user's
first-layer embedding is the normalised sum of its items' embeddings. A new user is therefore
placed at the mean of its items' final vectors — one aggregation step over the items it names —
and scored against every item by inner product, the items it named left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kg_store.embeddings import ItemVectors
from kg_store.errors import UnknownItemError

METHOD = "mean of the given items' final embeddings, inner product with every item (given items excluded)"


@dataclass(frozen=True)
class ColdStartResult:
    rows: list[int]             # rows of the ItemIndex, best first
    scores: list[float]


class ItemIndex:
    """A run's item vectors with an id lookup (ids are sorted, so ``searchsorted`` finds rows)."""

    def __init__(self, vectors: ItemVectors):
        self.ids = vectors.ids
        self.titles = vectors.titles
        self.matrix = vectors.vectors

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, dataset: str, items: list[int]) -> np.ndarray:
        """Row of each item; raises ``UnknownItemError`` naming (up to ten of) the unknown ids."""
        wanted = np.asarray(items, dtype=np.int64)
        rows = np.clip(np.searchsorted(self.ids, wanted), 0, max(len(self.ids) - 1, 0))
        unknown = [int(i) for i, row in zip(wanted, rows, strict=True) if not len(self.ids) or self.ids[row] != i]
        if unknown:
            shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
            raise UnknownItemError(f"Dataset '{dataset}' has no item {shown} (with vectors of this run).")
        return rows

    def title(self, row: int) -> str | None:
        return self.titles[row]


def cold_start(index: ItemIndex, dataset: str, items: list[int], k: int) -> ColdStartResult:
    """Top-``k`` items for a new user who interacted with ``items`` (ids), best first."""
    rows = np.unique(index.rows(dataset, items))
    user = index.matrix[rows].mean(axis=0)
    scores = index.matrix @ user
    scores[rows] = -np.inf
    k = min(k, len(index) - len(rows))
    if k <= 0:
        return ColdStartResult([], [])
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return ColdStartResult([int(r) for r in top], [float(scores[r]) for r in top])
