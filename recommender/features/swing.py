"""SWING similarity (KELLMRec Eq. 1-2) for the knowledge-contrast positives.

The paper's printed equations are garbled, so this is standard SWING (Yang et al., 2020) with
the smoothing term alpha (the paper takes alpha = 1):

    s(i, j) = sum over ordered pairs (u, v) of distinct users in U_i ∩ U_j of 1 / (alpha + |I_u ∩ I_v|)
    s(u, v) = sum over ordered pairs (i, j) of distinct items in I_u ∩ I_v of 1 / (alpha + |U_i ∩ U_j|)

(the user side is the dual: the same formula on the transposed matrix). Two users who share
many items form a weak "swing" and add little; a rare pair of users who share both i and j
says more about i and j. Ordered pairs count each unordered pair twice, which scales every
score by 2 and changes no ranking.

Computed with sparse matrix products: the co-occurrence counts C = A Aᵀ give the weights, then
for each chunk of co-occurring pairs (u, v) the rows x_uv = a_u ∘ a_v (the items both hold)
are stacked into X and s += Xᵀ diag(w) X. The cost is the sum over pairs of |I_u ∩ I_v|², as
in any exact SWING; no Python loop runs over pairs.

The interaction matrix given here must hold only what a user's features may see (for CTR, the
users' profile histories; see ``recommender.features.data``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.errors import DataError

DEFAULT_ALPHA = 1.0
PAIRS_PER_CHUNK = 200_000
TIE_TOLERANCE = 1e-9   # relative: scores this close are equal (float sums differ by order)


@dataclass(frozen=True)
class SwingPositives:
    """Each user's and item's most SWING-similar other user/item; -1 where none co-occurs."""

    user_positive: np.ndarray   # (n_users,) int64
    item_positive: np.ndarray   # (n_items,) int64


def _binary_csr(interactions: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
    matrix = sp.csr_matrix(interactions, dtype=np.float64, copy=True)
    matrix.sum_duplicates()
    if matrix.ndim != 2:
        raise DataError(f"SWING needs a 2-D (users, items) interaction matrix; got {matrix.ndim} dimensions.")
    if (matrix.data < 0).any():
        raise DataError("SWING interactions must be non-negative (nonzero = interacted).")
    matrix.eliminate_zeros()
    matrix.data[:] = 1.0
    return matrix


def swing_scores(interactions: sp.spmatrix | np.ndarray, alpha: float = DEFAULT_ALPHA,
                 pairs_per_chunk: int = PAIRS_PER_CHUNK) -> sp.csr_matrix:
    """Item-item SWING scores (n_items, n_items) of a (n_users, n_items) matrix; diagonal zero.

    For user-user scores pass the transpose.
    """
    if alpha < 0:
        raise DataError(f"SWING's alpha must be >= 0; got {alpha}.")
    if pairs_per_chunk < 1:
        raise DataError(f"pairs_per_chunk must be positive; got {pairs_per_chunk}.")
    a = _binary_csr(interactions)
    co = sp.triu(a @ a.T, k=1).tocoo()   # |I_u ∩ I_v| for u < v that co-occur
    n_items = a.shape[1]
    scores = sp.csr_matrix((n_items, n_items), dtype=np.float64)
    for start in range(0, co.nnz, pairs_per_chunk):
        us, vs = co.row[start:start + pairs_per_chunk], co.col[start:start + pairs_per_chunk]
        x = a[us].multiply(a[vs]).tocsr()
        weights = 2.0 / (alpha + co.data[start:start + pairs_per_chunk])  # (u, v) and (v, u)
        scores = scores + (x.T @ sp.diags(weights) @ x).tocsr()
    scores = (scores - sp.diags(scores.diagonal())).tocsr()
    scores.eliminate_zeros()
    return scores


def most_similar(scores: sp.spmatrix, rows_per_chunk: int = 1024) -> np.ndarray:
    """For each row, the column of its highest positive score (smallest index among ties), else -1."""
    matrix = sp.csr_matrix(scores)
    best = np.full(matrix.shape[0], -1, dtype=np.int64)
    for start in range(0, matrix.shape[0], rows_per_chunk):
        block = matrix[start:start + rows_per_chunk].toarray()
        np.fill_diagonal(block[:, start:], 0.0)   # never the row itself
        top = block.max(axis=1, keepdims=True)
        near_top = (block >= top - TIE_TOLERANCE * np.maximum(np.abs(top), 1.0)) & (block > 0)
        found = near_top.any(axis=1)
        best[start:start + len(block)][found] = near_top[found].argmax(axis=1)
    return best


def swing_positives(interactions: sp.spmatrix | np.ndarray, alpha: float = DEFAULT_ALPHA) -> SwingPositives:
    """Each user's most similar user (SWING on items) and each item's most similar item."""
    a = _binary_csr(interactions)
    return SwingPositives(user_positive=most_similar(swing_scores(a.T, alpha)),
                          item_positive=most_similar(swing_scores(a, alpha)))
