"""CTR samples and the data object both CTR models and rerankers train on, built from arrays.

**Labels.** An interaction is positive when its rating is > 3 and negative when it is <= 3.

**Time order and the leakage rule.** A split user's interactions are ordered by ``ts``, ties by item
id (:class:`kg_store.ctr_arrays.CTRGraph`). The first ``max(1, floor(profile_share * n))`` of the
``n`` interactions are the user's **profile history**; the others are its **targets**, one CTR sample
each. A target's sequence history is every interaction of that user before it in this order (profile
and earlier targets, positive or negative), truncated to the last ``max_history``. So every history
item has ``(ts, item id)`` below its target's, ``ts <= target ts``. User descriptions, user text
features and SWING may use only profile histories: a profile precedes every target of its user, so
nothing of a user's targets leaks into that user's features.

**Features.** User index, gender, age bucket, occupation; item index, year bucket, genres
(multi-hot). Categorical index 0 = unknown. User and item indices are positions in the dataset's
users and items sorted by id (all of them, split or not).

Nothing here reads the graph: ``kg_store.ctr_data`` reads it into a ``CTRGraph`` and
``kgrec.ctr_training.load_ctr_data`` hands that to :func:`build_ctr_data`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from kg_store.ctr_arrays import SPLITS, CTRGraph, CTRSplitReport
from recommender.errors import DataError
from recommender.features.batch import CTRBatch, FeatureSpec
from recommender.features.swing import DEFAULT_ALPHA, SwingPositives, swing_positives

DEFAULT_MAX_HISTORY = 30
AGE_EDGES = (18, 25, 35, 45, 50, 56)                      # MovieLens-1M's age groups
YEAR_EDGES = (1940, 1950, 1960, 1970, 1980, 1990, 1995)   # before 1940, decades, then 1990-94 and 1995+
USER_FIELDS = ("gender", "age", "occupation")


# -- features ---------------------------------------------------------------------------------------
def _vocabulary(values: list[Any]) -> dict[Any, int]:
    """Index 1.. for each distinct known value (sorted), 0 for unknown."""
    return {v: k + 1 for k, v in enumerate(sorted({v for v in values if v not in (None, "")}, key=str))}


def _bucket(values: list[Any], edges: tuple[int, ...]) -> np.ndarray:
    """1 + the bucket of each number among ``edges``; 0 when unknown."""
    known = np.array([v is not None for v in values])
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.float64)
    return np.where(known, np.digitize(numbers, edges) + 1, 0).astype(np.int64)


def _user_features(graph: CTRGraph) -> tuple[np.ndarray, tuple[tuple[str, int], ...]]:
    genders, occupations = list(graph.gender), list(graph.occupation)
    gender, occupation = _vocabulary(genders), _vocabulary(occupations)
    columns = [np.array([gender.get(v, 0) for v in genders], dtype=np.int64),
               _bucket(list(graph.age), AGE_EDGES),
               np.array([occupation.get(v, 0) for v in occupations], dtype=np.int64)]
    sizes = (len(gender) + 1, len(AGE_EDGES) + 2, len(occupation) + 1)
    return np.stack(columns, axis=1).reshape(len(genders), 3), tuple(zip(USER_FIELDS, sizes, strict=True))


def _item_features(graph: CTRGraph) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    names = tuple(sorted({g for item in graph.genres for g in item}))
    index = {g: k for k, g in enumerate(names)}
    genres = np.zeros((len(graph.genres), len(names)), dtype=np.float32)
    for k, item in enumerate(graph.genres):
        genres[k, [index[g] for g in item]] = 1.0
    years = _bucket(list(graph.year), YEAR_EDGES).reshape(len(graph.genres), 1)
    return years, genres, names


# -- samples ----------------------------------------------------------------------------------------
@dataclass
class CTRSamples:
    """One split's samples; ``history`` is (n, max_history) padded at the end, ``history_len`` its real length."""

    users: np.ndarray
    items: np.ndarray
    labels: np.ndarray
    history: np.ndarray
    history_len: np.ndarray

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class CTRDataReport:
    split: CTRSplitReport
    samples: dict[str, int]
    positives: dict[str, int]
    users_without_targets: int      # their interactions all fall in the profile (e.g. a single one)


@dataclass
class Sequences:
    """Every split user's interactions in time order, concatenated (CSR-like, by user index)."""

    offsets: np.ndarray    # (n_users + 1,)
    items: np.ndarray      # (total,) item indices
    ts: np.ndarray         # (total,)
    labels: np.ndarray     # (total,) 0/1
    cut: np.ndarray        # (n_users,) profile length, 0 for users without interactions
    split: np.ndarray      # (n_users,) index into SPLITS, -1 for users without a split

    def profile(self, user: int) -> np.ndarray:
        return self.items[self.offsets[user]:self.offsets[user] + self.cut[user]]

    def interacted(self, user: int) -> np.ndarray:
        return self.items[self.offsets[user]:self.offsets[user + 1]]

    def positive_targets(self, user: int) -> np.ndarray:
        start, end = self.offsets[user] + self.cut[user], self.offsets[user + 1]
        return self.items[start:end][self.labels[start:end] == 1]


def _samples(seq: Sequences, split: int, max_history: int) -> CTRSamples:
    """One sample per target of the split's users, with the (truncated) history before it."""
    users = np.flatnonzero(seq.split == split)
    starts, ends = seq.offsets[users] + seq.cut[users], seq.offsets[users + 1]
    counts = np.maximum(ends - starts, 0)
    sample_users = np.repeat(users, counts)
    positions = np.repeat(starts, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    first = np.maximum(seq.offsets[sample_users], positions - max_history)
    history_len = positions - first
    steps = np.arange(max_history)[None, :]
    real = steps < history_len[:, None]
    history = np.where(real, seq.items[np.where(real, first[:, None] + steps, 0)], 0)
    return CTRSamples(users=sample_users.astype(np.int64), items=seq.items[positions],
                      labels=seq.labels[positions].astype(np.float32), history=history.astype(np.int64),
                      history_len=history_len.astype(np.int64))


def _check_labels(dataset: str, name: str, samples: CTRSamples) -> None:
    if len(samples) == 0:
        raise DataError(f"The CTR '{name}' split of '{dataset}' holds no samples (too few users or targets).")
    distinct = np.unique(samples.labels)
    if len(distinct) < 2:
        which = "positive (rating > 3)" if distinct[0] == 1 else "negative (rating <= 3)"
        raise DataError(f"The CTR '{name}' split of '{dataset}' holds only {which} labels ({len(samples)} samples); "
                        "AUC and LogLoss need both.")


# -- the data object --------------------------------------------------------------------------------
def _as_text(matrix: Any, rows: int, what: str) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(matrix) if not isinstance(matrix, torch.Tensor) else matrix, dtype=torch.float32)
    if tensor.dim() != 2 or tensor.shape[0] != rows:
        raise DataError(f"{what} must be ({rows}, text_dim), one row per index; got {tuple(tensor.shape)}.")
    return tensor


@dataclass
class CTRData:
    """Arrays for CTR training and evaluation; optional text matrices are sliced into batches."""

    dataset: str
    spec: FeatureSpec
    user_ids: np.ndarray         # (n_users,) graph ids, sorted; index = position
    item_ids: np.ndarray         # (n_items,)
    user_fields: np.ndarray      # (n_users, 3) gender, age bucket, occupation
    item_fields: np.ndarray      # (n_items, 1) year bucket
    genres: np.ndarray           # (n_items, n_genres) float32 multi-hot
    genre_names: tuple[str, ...]
    sequences: Sequences
    splits: dict[str, CTRSamples]
    report: CTRDataReport
    user_text: torch.Tensor | None = field(default=None, repr=False)   # (n_users, T), from profile-only text
    item_text: torch.Tensor | None = field(default=None, repr=False)   # (n_items, T)

    def with_text(self, user_text: Any = None, item_text: Any = None) -> CTRData:
        """The same data carrying text vectors (the hook for ``knowledge.text_features``)."""
        users = None if user_text is None else _as_text(user_text, self.spec.n_users, "user_text")
        items = None if item_text is None else _as_text(item_text, self.spec.n_items, "item_text")
        dims = {t.shape[1] for t in (users, items) if t is not None}
        if len(dims) > 1:
            raise DataError(f"user_text and item_text must have the same width; got {sorted(dims)}.")
        return replace(self, user_text=users, item_text=items, spec=replace(self.spec, text_dim=dims.pop() if dims else 0))

    def profile_matrix(self) -> sp.csr_matrix:
        """(n_users, n_items) binary matrix of profile histories only: what SWING and descriptions may see."""
        seq = self.sequences
        rows = np.repeat(np.arange(self.spec.n_users), seq.cut)
        cols = np.concatenate([seq.profile(u) for u in range(self.spec.n_users)] or [np.zeros(0, np.int64)])
        matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(self.spec.n_users, self.spec.n_items))
        matrix.data[:] = 1.0
        return matrix

    def swing_positives(self, alpha: float = DEFAULT_ALPHA) -> SwingPositives:
        """SWING partners from profile histories (never targets)."""
        return swing_positives(self.profile_matrix(), alpha)

    def _user_part(self, users: torch.Tensor) -> dict[str, torch.Tensor | None]:
        return {"users": users, "user_fields": torch.from_numpy(self.user_fields)[users],
                "user_text": None if self.user_text is None else self.user_text[users]}

    def _item_part(self, items: torch.Tensor) -> dict[str, torch.Tensor | None]:
        return {"items": items, "item_fields": torch.from_numpy(self.item_fields)[items],
                "genres": torch.from_numpy(self.genres)[items],
                "item_text": None if self.item_text is None else self.item_text[items]}

    def _history_part(self, history: np.ndarray, lengths: np.ndarray) -> dict[str, torch.Tensor | None]:
        width = max(1, int(lengths.max()) if len(lengths) else 1)
        items = torch.from_numpy(history[:, :width].copy())
        mask = torch.arange(width)[None, :] < torch.from_numpy(lengths)[:, None]
        text = None if self.item_text is None else self.item_text[items] * mask[..., None]
        return {"history_items": items, "history_mask": mask, "history_text": text}

    def batches(self, split: str, batch_size: int, shuffle: bool = False, seed: int = 0) -> Iterator[CTRBatch]:
        """CTR batches of one split; histories padded to the longest in each batch."""
        samples = self._split(split)
        if batch_size < 1:
            raise DataError(f"batch_size must be positive; got {batch_size}.")
        order = np.random.default_rng(seed).permutation(len(samples)) if shuffle else np.arange(len(samples))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            yield CTRBatch(**self._user_part(torch.from_numpy(samples.users[rows])),
                           **self._item_part(torch.from_numpy(samples.items[rows])),
                           **self._history_part(samples.history[rows], samples.history_len[rows]),
                           labels=torch.from_numpy(samples.labels[rows]))

    def partners(self, batch: CTRBatch, positives: SwingPositives) -> CTRBatch:
        """Row k: the SWING partner of row k's user (with its profile tail as history) and of its item.

        A user or item without a partner keeps itself.
        """
        users = partner_ids(batch.users, positives.user_positive)
        items = partner_ids(batch.items, positives.item_positive)
        history, lengths = self._profile_tails(users.numpy())
        return CTRBatch(**self._user_part(users), **self._item_part(items),
                        **self._history_part(history, lengths), labels=batch.labels)

    def _profile_tails(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = self.spec.max_history
        history = np.zeros((len(users), width), dtype=np.int64)
        lengths = np.zeros(len(users), dtype=np.int64)
        for row, user in enumerate(users):
            tail = self.sequences.profile(int(user))[-width:]
            history[row, :len(tail)], lengths[row] = tail, len(tail)
        return history, lengths

    def _split(self, split: str) -> CTRSamples:
        if split not in self.splits:
            raise DataError(f"Unknown CTR split {split!r}; choose one of {', '.join(SPLITS)}.")
        return self.splits[split]


def partner_ids(ids: torch.Tensor, best: np.ndarray) -> torch.Tensor:
    """Each id's SWING partner (``best``, -1 for none), or the id itself without one."""
    partner = torch.from_numpy(best)[ids.cpu()]
    return torch.where(partner >= 0, partner, ids.cpu())


def build_ctr_data(graph: CTRGraph, split: CTRSplitReport, max_history: int = DEFAULT_MAX_HISTORY) -> CTRData:
    """Samples, features and the report of one dataset's graph arrays (``split``: how its split was drawn)."""
    seq = Sequences(offsets=graph.offsets, items=graph.items, ts=graph.ts, labels=graph.labels, cut=graph.cut,
                    split=graph.split)
    user_fields, user_field_sizes = _user_features(graph)
    year, genres, genre_names = _item_features(graph)
    splits = {name: _samples(seq, k, max_history) for k, name in enumerate(SPLITS)}
    for name, samples in splits.items():
        _check_labels(graph.dataset, name, samples)
    spec = FeatureSpec(n_users=len(graph.user_ids), n_items=len(graph.item_ids), user_fields=user_field_sizes,
                       item_fields=(("year", len(YEAR_EDGES) + 2),), n_genres=len(genre_names), max_history=max_history)
    no_targets = int(((seq.split >= 0) & (np.diff(seq.offsets) <= seq.cut)).sum())
    report = CTRDataReport(split, {n: len(s) for n, s in splits.items()},
                           {n: int(s.labels.sum()) for n, s in splits.items()}, no_targets)
    return CTRData(graph.dataset, spec, graph.user_ids, graph.item_ids, user_fields, year, genres, genre_names, seq,
                   splits, report)
