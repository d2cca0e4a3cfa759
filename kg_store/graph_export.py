"""A dataset as arrays (:class:`GraphExport`), with its on-disk format; numpy only.

Kept apart from the Neo4j streaming in ``kg_store.export`` so that ``recommender`` (which trains on
these arrays and must never talk to the store) can import it without loading the driver.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLIT_CODES = {"train": 0, "valid": 1, "test": 2}
EXPORT_FORMAT = 2   # 2: edge arrays in canonical order (1 kept the order the store streamed)


def _sorted_rows(rows: np.ndarray, *tie_breaks: np.ndarray) -> np.ndarray | None:
    """The permutation that sorts ``rows`` by column 0, then 1, ..., then ``tie_breaks``; None when
    they are in that order already (a cached export: checking is linear, sorting again is not)."""
    if rows.ndim != 2 or len(rows) < 2:
        return None
    keys = [rows[:, k] for k in range(rows.shape[1])] + list(tie_breaks)   # most significant first
    in_order = np.ones(len(rows) - 1, dtype=bool)
    for key in reversed(keys):
        in_order = (key[:-1] < key[1:]) | ((key[:-1] == key[1:]) & in_order)
    return None if in_order.all() else np.lexsort(keys[::-1])


@dataclass
class GraphExport:
    """A dataset as arrays. Index ``k`` of ``user_ids`` is user ``k`` in every edge array."""

    dataset: str
    cache_key: str
    user_ids: np.ndarray
    item_ids: np.ndarray
    entity_ids: np.ndarray
    interest_ids: np.ndarray
    relation_types: list[str]
    interactions: np.ndarray        # (n, 2) [user, item]
    interaction_split: np.ndarray   # (n,) int8, SPLIT_CODES
    item_entities: np.ndarray       # (n, 2) [item, entity]
    triples: np.ndarray             # (n, 3) [head entity, relation, tail entity]
    user_interests: np.ndarray      # (n, 2) [user, interest]
    stats: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Edge arrays in one canonical order (sorted by their columns), whatever order the store
        streamed them in: a seeded validation split and a seeded training run then depend on the
        graph's content and the seed only, not on how the graph happened to be loaded."""
        order = _sorted_rows(self.interactions, self.interaction_split)
        if order is not None:
            self.interactions, self.interaction_split = self.interactions[order], self.interaction_split[order]
        for name in ("item_entities", "triples", "user_interests"):
            order = _sorted_rows(getattr(self, name))
            if order is not None:
                setattr(self, name, getattr(self, name)[order])

    def fingerprint(self) -> str:
        """A short hash of the arrays: two exports with the same fingerprint train identically under a seed."""
        digest = hashlib.sha256()
        for name in self._ARRAYS:
            digest.update(np.ascontiguousarray(getattr(self, name)).tobytes())
        return digest.hexdigest()[:16]

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def split(self, name: str) -> np.ndarray:
        """(n, 2) [user, item] pairs of one split."""
        return self.interactions[self.interaction_split == SPLIT_CODES[name]]

    _ARRAYS = ("user_ids", "item_ids", "entity_ids", "interest_ids", "interactions", "interaction_split",
               "item_entities", "triples", "user_interests")

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        meta = json.dumps({"dataset": self.dataset, "cache_key": self.cache_key,
                           "relation_types": self.relation_types, "format": EXPORT_FORMAT})
        np.savez(partial, meta=np.array(meta), **{name: getattr(self, name) for name in self._ARRAYS})
        partial.replace(path)  # atomic: a killed export never leaves a half-written cache

    @classmethod
    def load(cls, path: Path) -> GraphExport:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in cls._ARRAYS}
        return cls(dataset=meta["dataset"], cache_key=meta["cache_key"],
                   relation_types=meta["relation_types"], **arrays)
