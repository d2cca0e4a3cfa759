"""The per-user validation carve: which train pairs a run validates on when the graph stores no split.

numpy only, so both sides that must agree on it can import it: the trainer
(``recommender.data.from_export``) carves it from the export's arrays, and the RecBole export
(``kg_store.formats.recbole``) writes the same pairs as ``<D>.valid.inter``, so RecBole's early
stopping looks at the very pairs kgrec's does.

The carve depends on the pairs' order, their first column and the seed only: pairs sorted by
(user, item) give the same split whether they hold graph ids or the export's indices, because the
indices number the ids in sorted order.
"""

from __future__ import annotations

import numpy as np

DEFAULT_CARVE_RATIO = 1 / 8    # recommender.config.TrainConfig.valid_ratio (the paper's 7:1:2 split)
DEFAULT_CARVE_SEED = 2024      # recommender.config.TrainConfig.seed


def carve_order(train: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, is_valid)``: ``train[order]`` groups the (n, 2) [user, item] rows by user in a seeded
    random order within each user, and ``is_valid[k]`` says whether ``train[order[k]]`` goes to
    validation. Each user gives ``round(n_u * ratio)`` rows, keeping at least one in train."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    order = order[np.argsort(train[order, 0], kind="stable")]  # grouped by user, random within
    users, starts, counts = np.unique(train[order, 0], return_index=True, return_counts=True)
    n_valid = np.minimum(np.round(counts * ratio).astype(int), counts - 1)
    rank = np.arange(len(order)) - np.repeat(starts, counts)
    return order, rank < np.repeat(n_valid, counts)


def carve_validation(train: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Move ``ratio`` of each user's train pairs (rounded, keeping >= 1 train) to validation."""
    order, is_valid = carve_order(train, ratio, seed)
    shuffled = train[order]
    return shuffled[~is_valid], shuffled[is_valid]


def valid_mask(train: np.ndarray, ratio: float = DEFAULT_CARVE_RATIO, seed: int = DEFAULT_CARVE_SEED) -> np.ndarray:
    """A boolean per row of ``train`` (any row order): True for the rows :func:`carve_validation`
    moves to validation once the rows are sorted by (user, item), as an export's arrays are."""
    train = np.asarray(train, dtype=np.int64).reshape(-1, 2)
    by_pair = np.lexsort((train[:, 1], train[:, 0]))
    order, is_valid = carve_order(train[by_pair], ratio, seed)
    mask = np.zeros(len(train), dtype=bool)
    mask[by_pair[order[is_valid]]] = True
    return mask
