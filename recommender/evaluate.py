"""Full-ranking evaluation: Recall@K and NDCG@K over all items, known items masked.

Scores for a batch of users are computed on the model's device; items the user saw in train
(and validation, when testing) get -inf, then the top max(K) are compared with the held-out set.
Users without held-out items are left out of the means.

``write_rankings`` writes the ranked lists themselves (original ids), so anyone can recompute
the metrics: ``user<TAB>item<TAB>rank<TAB>score`` after a header line, rank 1-based, best first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch


def group_by_user(pairs: np.ndarray, n_users: int) -> list[np.ndarray]:
    """Item indices of each user, from (n, 2) [user, item] pairs."""
    order = np.argsort(pairs[:, 0], kind="stable")
    sorted_pairs = pairs[order]
    bounds = np.searchsorted(sorted_pairs[:, 0], np.arange(n_users + 1))
    return [sorted_pairs[bounds[u]:bounds[u + 1], 1] for u in range(n_users)]


def rank_metrics(top_items: np.ndarray, held_out: Sequence[np.ndarray], ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-user Recall@K and NDCG@K from ranked item lists. Shapes: (U, maxK) -> {name: (U,)}."""
    hits = np.zeros(top_items.shape, dtype=np.float64)
    sizes = np.array([len(items) for items in held_out], dtype=np.float64)
    for row, items in enumerate(held_out):
        hits[row] = np.isin(top_items[row], items)
    discounts = 1.0 / np.log2(np.arange(2, top_items.shape[1] + 2))
    metrics: dict[str, np.ndarray] = {}
    for k in ks:
        found = hits[:, :k].sum(1)
        metrics[f"recall@{k}"] = found / np.maximum(sizes, 1)
        dcg = (hits[:, :k] * discounts[:k]).sum(1)
        ideal = np.array([discounts[:min(int(n), k)].sum() for n in sizes])
        metrics[f"ndcg@{k}"] = dcg / np.maximum(ideal, 1e-12)
    return metrics


def top_unseen(score_users: Callable[[torch.Tensor], torch.Tensor], users: np.ndarray,
               known: Sequence[np.ndarray], n_users: int, k: int, batch_size: int = 1024,
               device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items per user with the ``known`` (n, 2) pairs masked: (indices, scores), (U, k) each."""
    masks = [group_by_user(pairs, n_users) for pairs in known if len(pairs)]
    tops, values = [], []
    with torch.no_grad():
        for start in range(0, len(users), batch_size):
            batch = users[start:start + batch_size]
            scores = score_users(torch.from_numpy(batch).to(device)).float()
            rows = [np.full(len(grouped[user]), offset) for offset, user in enumerate(batch) for grouped in masks]
            cols = [grouped[user] for user in batch for grouped in masks]
            if rows:
                scores[torch.from_numpy(np.concatenate(rows)).to(scores.device),
                       torch.from_numpy(np.concatenate(cols)).to(scores.device)] = -torch.inf
            best = torch.topk(scores, k, dim=1)
            tops.append(best.indices.cpu().numpy())
            values.append(best.values.cpu().numpy())
    if not tops:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return np.concatenate(tops), np.concatenate(values)


def users_with(held_out: np.ndarray, n_users: int) -> np.ndarray:
    """Indices of the users with at least one held-out pair, ascending: the users that are evaluated."""
    return np.flatnonzero(np.bincount(held_out[:, 0], minlength=n_users) if len(held_out) else np.zeros(n_users))


def evaluate_ranking(score_users: Callable[[torch.Tensor], torch.Tensor], n_users: int, n_items: int,
                     held_out: np.ndarray, known: Sequence[np.ndarray], ks: Sequence[int] = (20, 50, 100),
                     batch_size: int = 1024, device: torch.device | str = "cpu") -> dict[str, np.ndarray]:
    """Per-user metrics (users with held-out items only) plus the ``users`` evaluated."""
    targets = group_by_user(held_out, n_users)
    users = users_with(held_out, n_users)
    top, _ = top_unseen(score_users, users, known, n_users, min(max(ks), n_items), batch_size, device)
    metrics = rank_metrics(top, [targets[u] for u in users], ks)
    metrics["users"] = users
    return metrics


def summarize(per_user: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(values.mean()) for name, values in per_user.items() if name != "users"}


def sparsity_groups(train_counts: np.ndarray, users: np.ndarray, values: np.ndarray,
                    n_groups: int = 4) -> list[dict[str, float]]:
    """Mean of ``values`` per user group, groups ordered sparse -> dense by train count, each group
    holding about the same total number of train interactions (as in KGAT and CIKGRec's Fig. 3)."""
    counts = train_counts[users]
    order = np.argsort(counts, kind="stable")
    cumulative = np.cumsum(counts[order])
    edges = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, n_groups) / n_groups)
    groups = []
    for part in np.split(order, edges):
        if len(part):
            groups.append({"users": int(len(part)), "max_train_items": int(counts[part].max()),
                           "value": float(values[part].mean())})
    return groups


RANKINGS_HEADER = "user\titem\trank\tscore"


def write_rankings(path: Path, users: np.ndarray, top_items: np.ndarray, top_scores: np.ndarray,
                   user_ids: np.ndarray, item_ids: np.ndarray) -> int:
    """Ranked lists as ``user item rank score`` lines (tab separated, original ids, rank 1-based) after
    a header line. Masked items (score -inf) are left out, so a user may have fewer lines than K.
    Returns the number of ranking lines written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w") as out:
        out.write(RANKINGS_HEADER + "\n")
        for user, items, scores in zip(users, top_items, top_scores, strict=True):
            for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
                if np.isfinite(score):
                    out.write(f"{user_ids[user]}\t{item_ids[item]}\t{rank}\t{float(score):.9g}\n")
                    written += 1
    return written
