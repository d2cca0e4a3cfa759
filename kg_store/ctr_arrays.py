"""What the CTR/rerank graph I/O hands over and takes back, as numpy arrays; no driver.

``kg_store.ctr_split``, ``kg_store.ctr_data`` and ``kg_store.ctr_lists`` read and write the graph and
speak in these types; ``recommender`` builds its samples and batches from them, so it can import
this module without loading the Neo4j driver. The stored layout (``User.ctr_split``, the profile
cut, ``CANDIDATE`` edges) is described in ``kgrec.ctr_training``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kg_store.errors import ConfigError

SPLITS = ("train", "valid", "test")
POSITIVE_ABOVE = 3               # rating > 3 is positive
SAMPLED_LIST = "sampled"
LIST_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


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


@dataclass(frozen=True)
class SplitState:
    """What deciding on a split needs: each user's interaction counts and the split already stored."""

    users: np.ndarray                # (n,) graph ids of every user of the dataset
    interactions: np.ndarray         # (n,) INTERACTED edges per user
    timed: np.ndarray                # (n,) of them with a timestamp
    stored: CTRSplitConfig | None    # None: no split drawn yet


# -- the graph as arrays ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CTRGraph:
    """One dataset's users, items and split users' time-ordered interactions.

    Indices are positions in ``user_ids`` / ``item_ids`` (every user and item, sorted by id). The
    sequences are concatenated by user index (CSR-like): user ``u``'s entries are
    ``offsets[u]:offsets[u + 1]``, ordered by (ts, item id), its first ``cut[u]`` the profile.
    Side features are object arrays holding the stored value or None.
    """

    dataset: str
    user_ids: np.ndarray             # (n_users,) int64
    gender: np.ndarray               # (n_users,) object
    age: np.ndarray                  # (n_users,) object
    occupation: np.ndarray           # (n_users,) object
    item_ids: np.ndarray             # (n_items,) int64
    year: np.ndarray                 # (n_items,) object
    genres: tuple[tuple[str, ...], ...]   # per item
    offsets: np.ndarray              # (n_users + 1,)
    items: np.ndarray                # (total,) item indices
    ts: np.ndarray                   # (total,)
    labels: np.ndarray               # (total,) 1 when rating > POSITIVE_ABOVE
    cut: np.ndarray                  # (n_users,) profile length, 0 for users without a split
    split: np.ndarray                # (n_users,) index into SPLITS, -1 for users without a split


# -- rerank candidate lists -------------------------------------------------------------------------
@dataclass(frozen=True)
class CandidateReport:
    dataset: str
    list: str
    written: bool                  # False: the stored list was reused
    users: int
    candidates: int
    users_without_positives: int = 0   # sampled lists: users left out (no positive target to rank)
    short_of_negatives: int = 0        # sampled lists: users with fewer unseen items than asked


@dataclass(frozen=True)
class CandidateRows:
    """One list's candidates: parallel (n,) arrays, grouped by user in stored (position) order.

    ``scores`` is NaN where the list has none (sampled lists); ``has_scores`` says whether any
    candidate of the list carries one.
    """

    users: np.ndarray       # graph ids
    items: np.ndarray       # graph ids
    positions: np.ndarray
    labels: np.ndarray
    scores: np.ndarray      # float64
    has_scores: bool


def check_list_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= LIST_NAME_CHARS:
        raise ConfigError(f"Candidate list name {name!r} must be 1-64 letters, digits, '_', '.' or '-'.")
    return name
