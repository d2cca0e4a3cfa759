"""CTR samples and rerank candidate lists for one dataset, built in Cypher and stored on the graph.

**Labels.** An interaction is positive when its rating is > 3 and negative when it is <= 3.

**Users split 8:1:1.** Users with at least one interaction are split (seeded) into train, valid
and test. The split is drawn once and stored (``User.ctr_split``; seed, ratios and profile share on
``:Dataset`` as ``ctr_split_seed``, ``ctr_split_ratios``, ``ctr_profile_share``), so every model sees
the same split; later calls reuse it and refuse other settings unless asked to redraw.

**Time order and the leakage rule.** A user's interactions are ordered by ``ts``, ties by item id.
The first ``max(1, floor(profile_share * n))`` of the ``n`` interactions are the user's **profile
history** (stored as ``User.ctr_profile_cut``, the count, and ``User.ctr_profile_ts``, the ``ts`` of
the last profile interaction); the others are its **targets**, one CTR sample each. A target's
sequence history is every interaction of that user before it in this order (profile and earlier
targets, positive or negative), truncated to the last ``max_history``. So every history item has
``(ts, item id)`` below its target's, ``ts <= target ts``. User descriptions, user text features
and SWING may use only profile histories: a profile precedes every target of its user, so nothing
of a user's targets leaks into that user's features.

The CTR split ignores the ``split`` property of ``INTERACTED`` edges (the ranking split): every
interaction of a split user is a profile entry or a target.

**Features.** User index, gender, age bucket, occupation; item index, year bucket, genres
(multi-hot). Categorical index 0 = unknown. User and item indices are positions in the dataset's
users and items sorted by id (all of them, split or not).

**Rerank candidate lists** are ``(:User)-[:CANDIDATE {list, position, label, score}]->(:Item)``
edges, one per candidate, ``position`` the initial (first-stage) order, ``score`` null for sampled
lists; the list names are kept in ``Dataset.ctr_candidate_lists``. A sampled list holds a user's
positive targets plus ``n_negatives`` items the user never interacted with, in a seeded shuffled
order; a ranker list holds a first-stage ranker's top-K, labelled 1 where the item is a positive
target. Each list is written once; later calls reuse it unless asked to redraw. Redrawing the user
split deletes every candidate list, since they depend on the targets.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError
from recommender.ctr.batch import CTRBatch, FeatureSpec, RerankBatch
from recommender.ctr.swing import DEFAULT_ALPHA, SwingPositives, swing_positives
from recommender.errors import DataError

SPLITS = ("train", "valid", "test")
POSITIVE_ABOVE = 3               # rating > 3 is positive
DEFAULT_MAX_HISTORY = 30
AGE_EDGES = (18, 25, 35, 45, 50, 56)                      # MovieLens-1M's age groups
YEAR_EDGES = (1940, 1950, 1960, 1970, 1980, 1990, 1995)   # before 1940, decades, then 1990-94 and 1995+
USER_FIELDS = ("gender", "age", "occupation")
SAMPLED_LIST = "sampled"
DEFAULT_NEGATIVES = 9


# -- the stored user split ------------------------------------------------------------------------
@dataclass(frozen=True)
class CTRSplitConfig:
    """How the user split and the profile cut are drawn."""

    seed: int = 2024
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    profile_share: float = 0.5

    def check(self) -> CTRSplitConfig:
        if len(self.ratios) != 3 or min(self.ratios) < 0 or not math.isclose(sum(self.ratios), 1.0, abs_tol=1e-9):
            raise ConfigError(f"CTR split ratios must be three non-negative shares summing to 1; got {self.ratios}.")
        if not 0 < self.profile_share < 1:
            raise ConfigError(f"profile_share must lie strictly between 0 and 1; got {self.profile_share}.")
        return self


@dataclass(frozen=True)
class CTRSplitReport:
    dataset: str
    drawn: bool                      # False: the stored split was reused
    config: CTRSplitConfig
    users: dict[str, int]            # users per split
    users_without_interactions: int  # not split: they have nothing to predict or describe


def draw_user_split(users: list[int], ratios: tuple[float, float, float], seed: int) -> dict[int, str]:
    """Seeded split of users: round(n * valid) valid, round(n * test) test, the rest train."""
    ordered = np.array(sorted(users), dtype=np.int64)
    n_valid, n_test = round(len(ordered) * ratios[1]), round(len(ordered) * ratios[2])
    shuffled = ordered[np.random.default_rng(seed).permutation(len(ordered))]
    names = ["valid"] * n_valid + ["test"] * n_test + ["train"] * (len(ordered) - n_valid - n_test)
    return {int(user): name for user, name in zip(shuffled, names, strict=True)}


def _stored_config(row: dict[str, Any]) -> CTRSplitConfig | None:
    if row["seed"] is None or row["split_users"] == 0:
        return None
    return CTRSplitConfig(int(row["seed"]), tuple(float(r) for r in row["ratios"]), float(row["profile_share"]))


def prepare_ctr_split(store: GraphStore, dataset: str, config: CTRSplitConfig | None = None,
                      redraw: bool = False) -> CTRSplitReport:
    """Draw and store the user split and profile cuts once; reuse them on later calls.

    ``config`` None means "whatever is stored, else the defaults"; a config that differs from the
    stored one is refused unless ``redraw``, which also deletes every candidate list.
    """
    dataset_info(store, dataset)
    counts = store.read("ctr/user_interaction_counts", dataset=dataset)
    untimed = sum(row["interactions"] - row["timed"] for row in counts)
    if untimed:
        raise DataError(f"Dataset '{dataset}' has {untimed} interactions without a timestamp; CTR histories "
                        "need time order (ML-1M's copy without timestamps cannot be used).")
    active = [row["user"] for row in counts if row["interactions"] > 0]
    if not active:
        raise DataError(f"Dataset '{dataset}' has no interactions to build CTR samples from.")
    stored = _stored_config(store.read("ctr/split_state", dataset=dataset)[0])
    if stored is not None and not redraw:
        if config is not None and config.check() != stored:
            raise ConfigError(f"Dataset '{dataset}' already has a CTR split drawn with {stored}; "
                              f"pass redraw=True to replace it with {config}.")
        return CTRSplitReport(dataset, False, stored, _split_sizes(store, dataset), len(counts) - len(active))
    config = (config or CTRSplitConfig()).check()
    chosen = draw_user_split(active, config.ratios, config.seed)

    def work(tx: Any) -> None:
        params = {"dataset": dataset}
        tx.run(load_query("ctr/reset_split"), params).consume()
        tx.run(load_query("ctr/assign_split"), {**params, "rows": [[u, s] for u, s in chosen.items()]}).consume()
        tx.run(load_query("ctr/set_profile_cuts"), {**params, "share": config.profile_share}).consume()
        tx.run(load_query("ctr/record_split"), {**params, "seed": config.seed, "ratios": list(config.ratios),
                                            "share": config.profile_share}).consume()

    store.write_with(work)
    sizes = {name: sum(1 for s in chosen.values() if s == name) for name in SPLITS}
    return CTRSplitReport(dataset, True, config, sizes, len(counts) - len(active))


def _split_sizes(store: GraphStore, dataset: str) -> dict[str, int]:
    found = {row["split"]: row["users"] for row in store.read("ctr/split_sizes", dataset=dataset)}
    return {name: found.get(name, 0) for name in SPLITS}


# -- features ---------------------------------------------------------------------------------------
def _vocabulary(values: list[Any]) -> dict[Any, int]:
    """Index 1.. for each distinct known value (sorted), 0 for unknown."""
    return {v: k + 1 for k, v in enumerate(sorted({v for v in values if v not in (None, "")}, key=str))}


def _bucket(values: list[Any], edges: tuple[int, ...]) -> np.ndarray:
    """1 + the bucket of each number among ``edges``; 0 when unknown."""
    known = np.array([v is not None for v in values])
    numbers = np.array([v if v is not None else 0 for v in values], dtype=np.float64)
    return np.where(known, np.digitize(numbers, edges) + 1, 0).astype(np.int64)


def _user_features(rows: list[dict[str, Any]]) -> tuple[np.ndarray, tuple[tuple[str, int], ...]]:
    gender, occupation = _vocabulary([r["gender"] for r in rows]), _vocabulary([r["occupation"] for r in rows])
    columns = [np.array([gender.get(r["gender"], 0) for r in rows], dtype=np.int64),
               _bucket([r["age"] for r in rows], AGE_EDGES),
               np.array([occupation.get(r["occupation"], 0) for r in rows], dtype=np.int64)]
    sizes = (len(gender) + 1, len(AGE_EDGES) + 2, len(occupation) + 1)
    return np.stack(columns, axis=1).reshape(len(rows), 3), tuple(zip(USER_FIELDS, sizes, strict=True))


def _item_features(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    names = tuple(sorted({g for r in rows for g in (r["genres"] or [])}))
    index = {g: k for k, g in enumerate(names)}
    genres = np.zeros((len(rows), len(names)), dtype=np.float32)
    for k, row in enumerate(rows):
        genres[k, [index[g] for g in (row["genres"] or [])]] = 1.0
    years = _bucket([r["year"] for r in rows], YEAR_EDGES).reshape(len(rows), 1)
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


def _sequences(rows: list[dict[str, Any]], user_index: dict[int, int], item_index: dict[int, int]) -> Sequences:
    n_users = len(user_index)
    lengths, cut, split = np.zeros(n_users, np.int64), np.zeros(n_users, np.int64), np.full(n_users, -1, np.int64)
    per_user: dict[int, list[list[Any]]] = {}
    for row in rows:
        u = user_index[row["user"]]
        per_user[u], cut[u], split[u] = row["sequence"], row["cut"], SPLITS.index(row["split"])
        lengths[u] = len(row["sequence"])
    flat = [entry for u in sorted(per_user) for entry in per_user[u]]
    return Sequences(offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
                     items=np.array([item_index[e[0]] for e in flat], dtype=np.int64),
                     ts=np.array([e[1] for e in flat], dtype=np.int64),
                     labels=np.array([e[2] for e in flat], dtype=np.int64), cut=cut, split=split)


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
        users = _partner(batch.users, positives.user_positive)
        items = _partner(batch.items, positives.item_positive)
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


def _partner(ids: torch.Tensor, best: np.ndarray) -> torch.Tensor:
    partner = torch.from_numpy(best)[ids.cpu()]
    return torch.where(partner >= 0, partner, ids.cpu())


def load_ctr_data(store: GraphStore, dataset: str, max_history: int = DEFAULT_MAX_HISTORY,
                  config: CTRSplitConfig | None = None, redraw: bool = False) -> CTRData:
    """CTR data for ``dataset``; draws and stores the user split first if it has none."""
    if max_history < 1:
        raise ConfigError(f"max_history must be at least 1; got {max_history}.")
    split_report = prepare_ctr_split(store, dataset, config, redraw)
    users, items = store.read("ctr/users", dataset=dataset), store.read("ctr/items", dataset=dataset)
    user_ids = np.array([r["id"] for r in users], dtype=np.int64)
    item_ids = np.array([r["id"] for r in items], dtype=np.int64)
    seq = _sequences(store.read("ctr/sequences", dataset=dataset, threshold=POSITIVE_ABOVE),
                     {int(u): k for k, u in enumerate(user_ids)}, {int(i): k for k, i in enumerate(item_ids)})
    user_fields, user_field_sizes = _user_features(users)
    year, genres, genre_names = _item_features(items)
    splits = {name: _samples(seq, k, max_history) for k, name in enumerate(SPLITS)}
    for name, samples in splits.items():
        _check_labels(dataset, name, samples)
    spec = FeatureSpec(n_users=len(user_ids), n_items=len(item_ids), user_fields=user_field_sizes,
                       item_fields=(("year", len(YEAR_EDGES) + 2),), n_genres=len(genre_names), max_history=max_history)
    no_targets = int(((seq.split >= 0) & (np.diff(seq.offsets) <= seq.cut)).sum())
    report = CTRDataReport(split_report, {n: len(s) for n, s in splits.items()},
                           {n: int(s.labels.sum()) for n, s in splits.items()}, no_targets)
    return CTRData(dataset, spec, user_ids, item_ids, user_fields, year, genres, genre_names, seq, splits, report)


# -- rerank candidate lists -------------------------------------------------------------------------
LIST_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
WRITE_ROWS = 5000


@dataclass(frozen=True)
class CandidateReport:
    dataset: str
    list: str
    written: bool                  # False: the stored list was reused
    users: int
    candidates: int
    users_without_positives: int = 0   # sampled lists: users left out (no positive target to rank)
    short_of_negatives: int = 0        # sampled lists: users with fewer unseen items than asked


def _check_list_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= LIST_NAME_CHARS:
        raise ConfigError(f"Candidate list name {name!r} must be 1-64 letters, digits, '_', '.' or '-'.")
    return name


def _stored_list(store: GraphStore, dataset: str, name: str) -> CandidateReport | None:
    row = store.read("ctr/candidate_edges", dataset=dataset, list=name)[0]
    return CandidateReport(dataset, name, False, row["users"], row["edges"]) if row["edges"] else None


def _write_list(store: GraphStore, data: CTRData, name: str, rows: list[list[Any]]) -> None:
    """Replace list ``name`` with ``rows`` ([user index, item index, position, label, score]) in one transaction."""
    graph_rows = [[int(data.user_ids[u]), int(data.item_ids[i]), int(p), int(label), score] for u, i, p, label, score in rows]
    params = {"dataset": data.dataset, "list": name}

    def work(tx: Any) -> None:
        tx.run(load_query("ctr/delete_candidate_list"), params).consume()
        for start in range(0, len(graph_rows), WRITE_ROWS):
            tx.run(load_query("ctr/write_candidates"), {**params, "rows": graph_rows[start:start + WRITE_ROWS]}).consume()
        tx.run(load_query("ctr/record_candidate_list"), params).consume()

    store.write_with(work)


def store_sampled_lists(store: GraphStore, data: CTRData, name: str = SAMPLED_LIST,
                        n_negatives: int = DEFAULT_NEGATIVES, seed: int = 2024,
                        max_positives: int | None = None, redraw: bool = False) -> CandidateReport:
    """The paper's lists: each split user's positive targets plus ``n_negatives`` never-seen items.

    Written once; a stored list of this name is reused (its settings are not re-checked) unless
    ``redraw``. ``max_positives`` keeps a seeded sample of at most that many positives per user.
    """
    _check_list_name(name)
    if n_negatives < 0 or (max_positives is not None and max_positives < 1):
        raise ConfigError(f"n_negatives must be >= 0 and max_positives >= 1; got {n_negatives}, {max_positives}.")
    if not redraw and (stored := _stored_list(store, data.dataset, name)) is not None:
        return stored
    rng, seq = np.random.default_rng(seed), data.sequences
    rows: list[list[Any]] = []
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
    _write_list(store, data, name, rows)
    return CandidateReport(data.dataset, name, True, users, len(rows), skipped, short)


def store_ranker_lists(store: GraphStore, data: CTRData, name: str, users: np.ndarray, items: np.ndarray,
                       scores: np.ndarray | None = None, redraw: bool = False) -> CandidateReport:
    """A first-stage ranker's top-K as candidate lists, labelled 1 where the item is a positive target.

    ``users`` (n,) and ``items`` (n, K) are indices into ``data`` in ranked order, -1 padding a
    shorter list; ``scores`` (n, K) are the ranker's scores. Written once, like sampled lists.
    """
    _check_list_name(name)
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    _check_ranker_arrays(data, users, items, scores)
    if not redraw and (stored := _stored_list(store, data.dataset, name)) is not None:
        return stored
    rows: list[list[Any]] = []
    for k, user in enumerate(users):
        liked = set(data.sequences.positive_targets(user).tolist())
        real = np.flatnonzero(items[k] >= 0)
        rows += [[user, items[k, j], position, int(items[k, j] in liked),
                  None if scores is None else float(scores[k, j])] for position, j in enumerate(real)]
    _write_list(store, data, name, rows)
    return CandidateReport(data.dataset, name, True, len(users), len(rows))


def _check_ranker_arrays(data: CTRData, users: np.ndarray, items: np.ndarray, scores: np.ndarray | None) -> None:
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
        items = torch.where(batch.mask.cpu(), _partner(batch.items, positives.item_positive), 0)
        return self._batch(_partner(batch.users, positives.user_positive), items, batch.mask.cpu(),
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


def load_candidate_lists(store: GraphStore, data: CTRData, name: str = SAMPLED_LIST) -> CandidateLists:
    """The stored list ``name``, grouped by the users' CTR split; a clear error if it was never written."""
    _check_list_name(name)
    rows = store.read("ctr/candidate_lists", dataset=data.dataset, list=name)
    if not rows:
        raise DataError(f"Dataset '{data.dataset}' has no candidate list '{name}': write it first "
                        "(store_sampled_lists or store_ranker_lists).")
    user_index = {int(u): k for k, u in enumerate(data.user_ids)}
    item_index = {int(i): k for k, i in enumerate(data.item_ids)}
    with_scores = any(c[2] is not None for row in rows for c in row["candidates"])
    grouped: dict[str, list[tuple[int, list[list[Any]]]]] = {split: [] for split in SPLITS}
    for row in rows:
        user = user_index[row["user"]]
        candidates = [[item_index[c[0]], c[1], c[2]] for c in row["candidates"]]
        grouped[SPLITS[data.sequences.split[user]]].append((user, candidates))
    return CandidateLists(data, name, {split: _list_arrays(entries, with_scores) for split, entries in grouped.items()})
