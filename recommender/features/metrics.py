"""CTR and reranking metrics: AUC, LogLoss, NDCG@K and MAP@K over padded candidate lists.

Definitions (binary or graded relevance for NDCG, binary for MAP):

- **AUC**: the probability that a random positive scores above a random negative, ties counting
  one half (Mann-Whitney U with average ranks); equal to scikit-learn's ``roc_auc_score``.
- **LogLoss**: mean binary cross-entropy with probabilities clipped to ``[eps, 1 - eps]`` so a
  confident mistake costs a large finite amount instead of infinity.
- **NDCG@K** per list: DCG@K = sum over ranks r = 1..K of gain_r / log2(r + 1), with gain = the
  label (linear gains, as scikit-learn's ``ndcg_score``), divided by the DCG@K of the ideal order
  of the same list.
- **MAP@K** per list: AP@K = (1 / min(K, R)) * sum over ranks r = 1..K of P@r * rel_r, where R is
  the number of relevant candidates in the list and P@r the precision of the top r.

Lists are ranked by descending score; equal scores keep the list's initial order (stable sort), so
a tie never depends on the sort algorithm. Padded positions (mask False) are never ranked. Lists
without any relevant candidate have no defined NDCG or AP and are left out of the mean.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from recommender.errors import DataError

DEFAULT_KS = (3, 7)
LOGLOSS_EPS = 1e-7


def _binary_labels(labels: ArrayLike, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels, dtype=np.float64).ravel()
    if not np.isin(y, (0.0, 1.0)).all():
        raise DataError(f"{name} must be 0 or 1; found {sorted(set(np.unique(y)) - {0.0, 1.0})[:5]}.")
    return y


def _scores_like(scores: ArrayLike, shape: tuple[int, ...], name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != shape and s.ravel().shape != shape:
        raise DataError(f"{name} have shape {s.shape} but the labels have shape {shape}.")
    s = s.reshape(shape)
    if np.isnan(s).any():
        raise DataError(f"{name} contain {int(np.isnan(s).sum())} NaN value(s).")
    return s


def auc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve; needs both labels present."""
    y = _binary_labels(labels)
    s = _scores_like(scores, y.shape)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise DataError(f"AUC needs both labels, but all {len(y)} labels are {int(y[0]) if len(y) else 'absent'}.")
    ranks = _average_ranks(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their positions (what the Mann-Whitney U needs)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def logloss(labels: ArrayLike, probs: ArrayLike, eps: float = LOGLOSS_EPS) -> float:
    """Mean binary cross-entropy of probabilities clipped to ``[eps, 1 - eps]``."""
    if not 0 < eps < 0.5:
        raise DataError(f"eps must lie in (0, 0.5); got {eps}.")
    y = _binary_labels(labels)
    if len(y) == 0:
        raise DataError("LogLoss of an empty set of samples is undefined.")
    p = _scores_like(probs, y.shape, "probabilities")
    if ((p < 0) | (p > 1)).any():
        raise DataError("probabilities must lie in [0, 1]; pass sigmoid(logits), not logits.")
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def ctr_metrics(labels: ArrayLike, probs: ArrayLike) -> dict[str, float]:
    """``{"auc": ..., "logloss": ...}`` for one split."""
    return {"auc": auc(labels, probs), "logloss": logloss(labels, probs)}


def _lists(labels: ArrayLike, scores: ArrayLike, mask: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
    """(labels, order): labels (B, N) with padding zeroed, and each list's ranking (B, N) by score."""
    y = np.asarray(labels, dtype=np.float64)
    if y.ndim != 2:
        raise DataError(f"Rerank labels must be (lists, candidates); got shape {y.shape}.")
    s = _scores_like(scores, y.shape)
    m = np.ones(y.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if m.shape != y.shape:
        raise DataError(f"The mask has shape {m.shape} but the labels have shape {y.shape}.")
    if (y[m] < 0).any():
        raise DataError("Rerank labels must be non-negative gains.")
    y = np.where(m, y, 0.0)
    order = np.argsort(np.where(m, -s, np.inf), axis=1, kind="stable")  # padding last
    return y, order


def _check_k(k: int) -> None:
    if int(k) != k or k < 1:
        raise DataError(f"K must be a positive integer; got {k!r}.")


def _discounts(k: int, n: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, min(k, n) + 2))


def ndcg_per_list(labels: ArrayLike, scores: ArrayLike, mask: ArrayLike | None, k: int) -> np.ndarray:
    """NDCG@K of every list (B,), NaN for lists without a relevant candidate."""
    _check_k(k)
    y, order = _lists(labels, scores, mask)
    disc = _discounts(k, y.shape[1])
    ranked = np.take_along_axis(y, order, axis=1)[:, : len(disc)]
    ideal = -np.sort(-y, axis=1)[:, : len(disc)]
    idcg = ideal @ disc
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(idcg > 0, (ranked @ disc) / idcg, np.nan)


def map_per_list(labels: ArrayLike, scores: ArrayLike, mask: ArrayLike | None, k: int) -> np.ndarray:
    """AP@K of every list (B,) normalised by min(K, #relevant); NaN for lists without one."""
    _check_k(k)
    y, order = _lists(labels, scores, mask)
    rel = (np.take_along_axis(y, order, axis=1)[:, :k] > 0).astype(np.float64)
    precision = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
    n_relevant = (y > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_relevant > 0, (precision * rel).sum(axis=1) / np.minimum(k, n_relevant), np.nan)


def _mean_defined(values: np.ndarray, what: str) -> float:
    defined = values[~np.isnan(values)]
    if len(defined) == 0:
        raise DataError(f"{what} is undefined: no list holds a relevant candidate.")
    return float(defined.mean())


def ndcg_at_k(labels: ArrayLike, scores: ArrayLike, mask: ArrayLike | None = None, k: int = 3) -> float:
    """Mean NDCG@K over the lists that hold a relevant candidate."""
    return _mean_defined(ndcg_per_list(labels, scores, mask, k), f"NDCG@{k}")


def map_at_k(labels: ArrayLike, scores: ArrayLike, mask: ArrayLike | None = None, k: int = 3) -> float:
    """Mean AP@K over the lists that hold a relevant candidate."""
    return _mean_defined(map_per_list(labels, scores, mask, k), f"MAP@{k}")


def rerank_metrics(labels: ArrayLike, scores: ArrayLike, mask: ArrayLike | None = None,
                   ks: tuple[int, ...] = DEFAULT_KS) -> dict[str, float]:
    """``{"ndcg@3": ..., "map@3": ..., "ndcg@7": ..., "map@7": ...}`` for the given K values."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"ndcg@{k}"] = ndcg_at_k(labels, scores, mask, k)
        out[f"map@{k}"] = map_at_k(labels, scores, mask, k)
    return out
