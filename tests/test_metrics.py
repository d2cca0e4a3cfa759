"""Full-ranking metrics against a brute-force implementation written independently."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recommender.data import carve_validation
from recommender.evaluate import evaluate_ranking, sparsity_groups


def brute_force(scores: np.ndarray, train: dict, test: dict, k: int) -> tuple[float, float]:
    recalls, ndcgs = [], []
    for user, truth in test.items():
        ranked = sorted((i for i in range(scores.shape[1]) if i not in train.get(user, set())),
                        key=lambda i: -scores[user, i])[:k]
        hits = [1 if i in truth else 0 for i in ranked]
        recalls.append(sum(hits) / len(truth))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(truth), k)))
        ndcgs.append(dcg / idcg)
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def test_metrics_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 40
    scores = rng.normal(size=(n_users, n_items))
    pairs = np.array([(u, i) for u in range(n_users) for i in range(n_items) if rng.random() < 0.2])
    rng.shuffle(pairs)
    half = len(pairs) // 2
    train_pairs, test_pairs = pairs[:half], pairs[half:]
    train = {}
    for u, i in train_pairs:
        train.setdefault(u, set()).add(i)
    test = {}
    for u, i in test_pairs:
        if i not in train.get(u, set()):
            test.setdefault(u, set()).add(i)
    test_pairs = np.array([(u, i) for u, items in test.items() for i in items])
    table = torch.from_numpy(scores)
    per_user = evaluate_ranking(lambda users: table[users].clone(), n_users, n_items, test_pairs,
                                [train_pairs], ks=(5, 10), batch_size=7)
    for k in (5, 10):
        recall, ndcg = brute_force(scores, train, test, k)
        assert per_user[f"recall@{k}"].mean() == pytest.approx(recall, abs=1e-9)
        assert per_user[f"ndcg@{k}"].mean() == pytest.approx(ndcg, abs=1e-9)
    assert sorted(per_user["users"].tolist()) == sorted(test)


def test_perfect_scores_give_one() -> None:
    held_out = np.array([[0, 3], [1, 0], [1, 2]])
    table = torch.zeros(2, 5)
    table[0, 3] = 1.0
    table[1, 0] = table[1, 2] = 1.0
    per_user = evaluate_ranking(lambda users: table[users].clone(), 2, 5, held_out, [], ks=(2,))
    assert per_user["recall@2"].tolist() == [1.0, 1.0]
    assert per_user["ndcg@2"].tolist() == [1.0, 1.0]


def test_carve_validation_per_user() -> None:
    train = np.array([(u, i) for u in range(5) for i in range(16)] + [(5, 0)])
    kept, valid = carve_validation(train, 1 / 8, seed=1)
    assert len(kept) + len(valid) == len(train)
    assert set(map(tuple, kept)) | set(map(tuple, valid)) == set(map(tuple, train))
    for user in range(5):
        assert (valid[:, 0] == user).sum() == 2
    assert (kept[:, 0] == 5).sum() == 1  # a user with one item keeps it in train
    again_kept, again_valid = carve_validation(train, 1 / 8, seed=1)
    assert np.array_equal(valid, again_valid)


def test_sparsity_groups_balance_interactions() -> None:
    counts = np.array([1, 1, 1, 1, 2, 2, 4, 8])
    users = np.arange(8)
    groups = sparsity_groups(counts, users, np.arange(8, dtype=float), n_groups=4)
    assert [g["max_train_items"] for g in groups] == sorted(g["max_train_items"] for g in groups)
    assert sum(g["users"] for g in groups) == 8


def test_ties_are_broken_by_item_index_and_known_items_never_count() -> None:
    """Every item scores the same: the held-out item's rank is how many unmasked items have a lower
    index. User 0 holds out item 4; items 1 and 2 are known (masked), so items 0 and 3 are ahead:
    rank 2, a hit at K=3 (NDCG 1/log2(4) = 0.5), none at K=2."""
    from recommender.evaluate import held_out_ranks

    table = torch.zeros(1, 6)
    per_user = evaluate_ranking(lambda users: table[users].clone(), 1, 6, np.array([[0, 4]]),
                                [np.array([[0, 1], [0, 2]])], ks=(2, 3))
    assert per_user["recall@2"].tolist() == [0.0] and per_user["recall@3"].tolist() == [1.0]
    assert per_user["ndcg@3"].tolist() == pytest.approx([0.5])
    scores = torch.tensor([[0.3, 0.9, 0.3, 0.3, -torch.inf]])
    ranks = held_out_ranks(scores, torch.tensor([0, 0, 0]), torch.tensor([3, 1, 0]), chunk=2)
    assert ranks.tolist() == [3, 0, 1]     # 0.9 ahead, then ties by index


def test_compiled_ranks_are_the_tensor_passes_ranks() -> None:
    """CPU ranks (one compiled pass per pair) against the tensor passes used on other devices, with
    ties of several items, known items at -inf, a held-out item at -inf and a NaN score."""
    from recommender.evaluate import _block_ranks, held_out_ranks

    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(40, 300, generator=generator)
    scores[:, ::5] = torch.round(scores[:, ::5])                       # many ties
    scores[torch.rand(40, 300, generator=generator) < 0.05] = -torch.inf
    scores[3, 7] = torch.nan
    rows, items = torch.randint(0, 40, (500,), generator=generator), torch.randint(0, 300, (500,), generator=generator)
    rows[:2], items[:2] = torch.tensor([3, 3]), torch.tensor([7, 8])
    expected = _block_ranks(scores, rows, items, chunk=64)
    assert torch.equal(held_out_ranks(scores, rows, items), expected)
    assert (expected > 0).any() and expected.max() < 300
