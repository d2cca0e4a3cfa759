"""CTR and rerank metrics against scikit-learn and brute-force references written here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss, ndcg_score, roc_auc_score

from recommender.errors import DataError
from recommender.features.metrics import (
    auc,
    ctr_metrics,
    logloss,
    map_at_k,
    map_per_list,
    ndcg_at_k,
    ndcg_per_list,
    rerank_metrics,
)


def brute_auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ranked(labels: list[float], scores: list[float]) -> list[float]:
    """Labels by descending score, ties in the initial order."""
    return [labels[i] for i in sorted(range(len(labels)), key=lambda i: (-scores[i], i))]


def brute_ndcg(labels: list[float], scores: list[float], k: int) -> float:
    dcg = sum(g / math.log2(r + 2) for r, g in enumerate(ranked(labels, scores)[:k]))
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(labels, reverse=True)[:k]))
    return dcg / idcg


def brute_ap(labels: list[float], scores: list[float], k: int) -> float:
    top = ranked(labels, scores)[:k]
    hits, total = 0, 0.0
    for r, rel in enumerate(top, start=1):
        if rel > 0:
            hits += 1
            total += hits / r
    return total / min(k, sum(1 for g in labels if g > 0))


def test_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = rng.integers(0, 10, 300).astype(float)  # many ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auc(y, s) == pytest.approx(brute_auc(y, s), abs=1e-12)
    assert auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    assert auc([0, 1], [0.5, 0.5]) == 0.5


def test_logloss_matches_sklearn_and_clips() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = rng.uniform(0.01, 0.99, 200)
    assert logloss(y, p) == pytest.approx(log_loss(y, p), abs=1e-12)
    # a certain mistake costs -log(eps), finite
    assert logloss([1, 0], [0.0, 1.0], eps=1e-7) == pytest.approx(-math.log(1e-7), rel=1e-6)
    assert ctr_metrics(y, p) == {"auc": auc(y, p), "logloss": logloss(y, p)}


def test_ctr_metrics_refuse_bad_input() -> None:
    with pytest.raises(DataError, match="both labels"):
        auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="0 or 1"):
        auc([0, 2], [0.1, 0.2])
    with pytest.raises(DataError, match="shape"):
        auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match="NaN"):
        auc([0, 1], [0.1, float("nan")])
    with pytest.raises(DataError, match="logits"):
        logloss([0, 1], [-2.0, 3.0])


def test_ndcg_matches_sklearn_on_full_lists() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, (40, 10)).astype(float)
    y[:, 0] = 1  # every list holds a relevant candidate
    s = rng.normal(size=(40, 10))
    for k in (1, 3, 7, 10):
        assert ndcg_at_k(y, s, None, k) == pytest.approx(ndcg_score(y, s, k=k), abs=1e-12)
    graded = rng.integers(0, 4, (40, 10)).astype(float)
    graded[:, 3] = 2
    assert ndcg_at_k(graded, s, None, 3) == pytest.approx(ndcg_score(graded, s, k=3), abs=1e-12)


def test_masked_lists_match_brute_force_on_the_real_part() -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(2, 12, 30)
    y = np.zeros((30, 12))
    s = rng.normal(size=(30, 12))
    mask = np.arange(12)[None, :] < lengths[:, None]
    for b, n in enumerate(lengths):
        y[b, :n] = rng.integers(0, 2, n)
        y[b, rng.integers(0, n)] = 1
    s[~mask] = 100.0   # padding with top scores and positive labels must change nothing
    y_padded = np.where(mask, y, 1.0)
    for k in (3, 7):
        expected_ndcg = [brute_ndcg(list(y[b, :n]), list(s[b, :n]), k) for b, n in enumerate(lengths)]
        expected_ap = [brute_ap(list(y[b, :n]), list(s[b, :n]), k) for b, n in enumerate(lengths)]
        np.testing.assert_allclose(ndcg_per_list(y_padded, s, mask, k), expected_ndcg, atol=1e-12)
        np.testing.assert_allclose(map_per_list(y_padded, s, mask, k), expected_ap, atol=1e-12)
        assert map_at_k(y_padded, s, mask, k) == pytest.approx(np.mean(expected_ap), abs=1e-12)


def test_map_by_hand_and_tie_order() -> None:
    # ranked: 1, 0, 1, 0, 1  -> AP@3 = (1/1 + 2/3) / min(3, 3); AP@7 = (1 + 2/3 + 3/5) / 3
    labels = [[1, 0, 1, 0, 1]]
    scores = [[5, 4, 3, 2, 1]]
    assert map_at_k(labels, scores, None, 3) == pytest.approx((1 + 2 / 3) / 3)
    assert map_at_k(labels, scores, None, 7) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # one relevant item normalises by min(K, 1) = 1
    assert map_at_k([[0, 1, 0]], [[3, 2, 1]], None, 3) == pytest.approx(0.5)
    # equal scores keep the initial order
    assert ndcg_at_k([[0, 1]], [[1.0, 1.0]], None, 1) == 0.0
    assert ndcg_at_k([[1, 0]], [[1.0, 1.0]], None, 1) == 1.0


def test_lists_without_relevant_items_are_left_out() -> None:
    y = np.array([[0, 0, 0], [0, 1, 0]], dtype=float)
    s = np.array([[3, 2, 1], [3, 2, 1]], dtype=float)
    assert np.isnan(ndcg_per_list(y, s, None, 3)[0])
    assert ndcg_at_k(y, s, None, 3) == pytest.approx(1 / math.log2(3))
    with pytest.raises(DataError, match="no list holds a relevant"):
        map_at_k(np.zeros((2, 3)), s, None, 3)
    with pytest.raises(DataError, match="positive integer"):
        ndcg_at_k(y, s, None, 0)
    with pytest.raises(DataError, match="mask"):
        ndcg_at_k(y, s, np.ones((2, 4), dtype=bool), 3)
    assert set(rerank_metrics(y, s)) == {"ndcg@3", "map@3", "ndcg@7", "map@7"}
