"""Rerank candidate lists as arrays: drawing a sampled list, labelling a ranker's list, and batching
a stored list set as ``RerankBatch``.

A **sampled list** holds a user's positive targets plus ``n_negatives`` items the user never
interacted with, in a seeded shuffled order; a **ranker list** holds a first-stage ranker's top-K,
labelled 1 where the item is a positive target. Both are returned as
:class:`kg_store.ctr_arrays.CandidateRows` in graph ids for ``kg_store.ctr_lists`` to store, and read
back into :class:`CandidateLists` grouped by the users' CTR split.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from kg_store.ctr_arrays import SPLITS, CandidateRows
from recommender.errors import DataError
from recommender.features.batch import RerankBatch
from recommender.features.data import CTRData, partner_ids
from recommender.features.swing import SwingPositives

DEFAULT_NEGATIVES = 9


@dataclass(frozen=True)
class DrawnList:
    """A list drawn from ``CTRData``: its rows, and (sampled lists) the users left out or short of negatives."""

    rows: CandidateRows
    users: int
    users_without_positives: int = 0
    short_of_negatives: int = 0


def _candidate_rows(data: CTRData, rows: list[list]) -> CandidateRows:
    """[user index, item index, position, label, score | None] rows as graph-id arrays."""
    column = lambda k, dtype: np.array([row[k] for row in rows], dtype=dtype)  # noqa: E731
    scores = np.array([np.nan if row[4] is None else float(row[4]) for row in rows], dtype=np.float64)
    users, items = column(0, np.int64), column(1, np.int64)
    return CandidateRows(users=data.user_ids[users], items=data.item_ids[items], positions=column(2, np.int64),
                         labels=column(3, np.float64).astype(np.int64), scores=scores,
                         has_scores=bool(len(rows)) and rows[0][4] is not None)


def sampled_lists(data: CTRData, n_negatives: int = DEFAULT_NEGATIVES, seed: int = 2024,
                  max_positives: int | None = None) -> DrawnList:
    """Each split user's positive targets plus ``n_negatives`` never-seen items, in a seeded shuffled order.

    ``max_positives`` keeps a seeded sample of at most that many positives per user.
    """
    rng, seq = np.random.default_rng(seed), data.sequences
    rows: list[list] = []
    skipped = short = users = 0
    for user in np.flatnonzero(seq.split >= 0):
        positives = seq.positive_targets(user)
        if len(positives) == 0:
            skipped += 1
            continue
        if max_positives is not None and len(positives) > max_positives:
            positives = np.sort(rng.choice(positives, max_positives, replace=False))
        unseen = np.setdiff1d(np.arange(data.spec.n_items), seq.interacted(user))
        negatives = rng.choice(unseen, min(n_negatives, len(unseen)), replace=False)
        short += len(negatives) < n_negatives
        candidates = np.r_[positives, negatives]
        labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        order = rng.permutation(len(candidates))
        rows += [[user, candidates[k], position, labels[k], None] for position, k in enumerate(order)]
        users += 1
    return DrawnList(_candidate_rows(data, rows), users, skipped, short)


def ranker_lists(data: CTRData, users: np.ndarray, items: np.ndarray, scores: np.ndarray | None = None) -> DrawnList:
    """A first-stage ranker's top-K, labelled 1 where the item is a positive target.

    ``users`` (n,) and ``items`` (n, K) are indices into ``data`` in ranked order, -1 padding a
    shorter list; ``scores`` (n, K) are the ranker's scores.
    """
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    check_ranker_arrays(data, users, items, scores)
    rows: list[list] = []
    for k, user in enumerate(users):
        liked = set(data.sequences.positive_targets(user).tolist())
        real = np.flatnonzero(items[k] >= 0)
        rows += [[user, items[k, j], position, int(items[k, j] in liked),
                  None if scores is None else float(scores[k, j])] for position, j in enumerate(real)]
    return DrawnList(_candidate_rows(data, rows), len(users))


def check_ranker_arrays(data: CTRData, users: np.ndarray, items: np.ndarray, scores: np.ndarray | None) -> None:
    if users.ndim != 1 or items.ndim != 2 or len(items) != len(users):
        raise DataError(f"Ranker lists need users (n,) and items (n, K); got {users.shape} and {items.shape}.")
    if scores is not None and np.shape(scores) != items.shape:
        raise DataError(f"Ranker scores must have the items' shape {items.shape}; got {np.shape(scores)}.")
    if len(users) and (users.min() < 0 or users.max() >= data.spec.n_users):
        raise DataError(f"Ranker users must be user indices in [0, {data.spec.n_users}).")
    if items.size and (items.min() < -1 or items.max() >= data.spec.n_items):
        raise DataError(f"Ranker items must be item indices in [0, {data.spec.n_items}) or -1 for padding.")
    if len(np.unique(users)) != len(users):
        raise DataError("Ranker lists name a user twice; give one list per user.")
    unsplit = users[data.sequences.split[users] < 0]
    if len(unsplit):
        raise DataError(f"{len(unsplit)} ranker user(s) have no CTR split (no interactions), e.g. user id "
                        f"{int(data.user_ids[unsplit[0]])}.")


@dataclass
class ListArrays:
    """One split's lists: users (n,), items/labels/scores (n, N) padded, mask True = real."""

    users: np.ndarray
    items: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    scores: np.ndarray | None

    def __len__(self) -> int:
        return len(self.users)


def _list_arrays(entries: list[tuple[int, list[list[Any]]]], with_scores: bool) -> ListArrays:
    width = max((len(c) for _, c in entries), default=0)
    items = np.zeros((len(entries), width), dtype=np.int64)
    labels = np.zeros((len(entries), width), dtype=np.float32)
    scores = np.zeros((len(entries), width), dtype=np.float32)
    mask = np.zeros((len(entries), width), dtype=bool)
    for row, (_, candidates) in enumerate(entries):
        n = len(candidates)
        items[row, :n] = [c[0] for c in candidates]
        labels[row, :n] = [c[1] for c in candidates]
        scores[row, :n] = [c[2] if c[2] is not None else 0.0 for c in candidates]
        mask[row, :n] = True
    return ListArrays(np.array([u for u, _ in entries], dtype=np.int64), items, labels, mask,
                      scores if with_scores else None)


@dataclass
class CandidateLists:
    """A stored candidate list set, per split, batched as ``RerankBatch``."""

    data: CTRData
    name: str
    splits: dict[str, ListArrays]

    @property
    def longest_list(self) -> int:
        """Candidates in the longest list of any split (models with position tables size them by it)."""
        return max((int(arrays.mask.sum(axis=1).max(initial=0)) for arrays in self.splits.values()), default=0)

    def rerank_batches(self, split: str, batch_size: int, shuffle: bool = False, seed: int = 0) -> Iterator[RerankBatch]:
        """Rerank batches of one split; lists padded to the longest in each batch."""
        if split not in self.splits:
            raise DataError(f"Unknown rerank split {split!r}; choose one of {', '.join(SPLITS)}.")
        if batch_size < 1:
            raise DataError(f"batch_size must be positive; got {batch_size}.")
        lists = self.splits[split]
        order = np.random.default_rng(seed).permutation(len(lists)) if shuffle else np.arange(len(lists))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            width = max(1, int(lists.mask[rows].sum(axis=1).max()))
            mask = torch.from_numpy(lists.mask[rows, :width].copy())
            scores = None if lists.scores is None else torch.from_numpy(lists.scores[rows, :width].copy())
            yield self._batch(torch.from_numpy(lists.users[rows]), torch.from_numpy(lists.items[rows, :width].copy()),
                              mask, torch.from_numpy(lists.labels[rows, :width].copy()), scores)

    def partners(self, batch: RerankBatch, positives: SwingPositives) -> RerankBatch:
        """Row k: the SWING partner of row k's user and of each of its candidates (padding stays 0)."""
        items = torch.where(batch.mask.cpu(), partner_ids(batch.items, positives.item_positive), 0)
        return self._batch(partner_ids(batch.users, positives.user_positive), items, batch.mask.cpu(),
                           batch.labels.cpu(), batch.initial_scores)

    def _batch(self, users: torch.Tensor, items: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor,
               scores: torch.Tensor | None) -> RerankBatch:
        data = self.data
        text = None if data.item_text is None else data.item_text[items] * mask[..., None]
        return RerankBatch(users=users, user_fields=torch.from_numpy(data.user_fields)[users], items=items,
                           item_fields=torch.from_numpy(data.item_fields)[items],
                           genres=torch.from_numpy(data.genres)[items] * mask[..., None], mask=mask, labels=labels,
                           initial_scores=scores, user_text=None if data.user_text is None else data.user_text[users],
                           item_text=text)


def candidate_lists(data: CTRData, name: str, stored: CandidateRows) -> CandidateLists:
    """A stored list (graph ids, grouped by user) as ``CandidateLists`` grouped by the users' CTR split."""
    if len(stored.users) == 0:
        raise DataError(f"Dataset '{data.dataset}' has no candidate list '{name}': write it first "
                        "(store_sampled_lists or store_ranker_lists).")
    user_index = {int(u): k for k, u in enumerate(data.user_ids)}
    item_index = {int(i): k for k, i in enumerate(data.item_ids)}
    starts = np.flatnonzero(np.r_[True, stored.users[1:] != stored.users[:-1]])
    ends = np.r_[starts[1:], len(stored.users)]
    grouped: dict[str, list[tuple[int, list[list]]]] = {split: [] for split in SPLITS}
    for start, end in zip(starts, ends, strict=True):
        user = user_index[int(stored.users[start])]
        candidates = [[item_index[int(stored.items[k])], int(stored.labels[k]),
                       None if np.isnan(stored.scores[k]) else float(stored.scores[k])] for k in range(start, end)]
        grouped[SPLITS[data.sequences.split[user]]].append((user, candidates))
    return CandidateLists(data, name, {split: _list_arrays(entries, stored.has_scores)
                                       for split, entries in grouped.items()})
