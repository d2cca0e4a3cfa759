"""Training data for ranking models, built from a graph export (never from the driver).

Carves a validation split from train per user (model selection must never look at test), and
holds the CIKG side information (KG triples, item-entity links, user interests) in index form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kg_store.graph_export import GraphExport
from recommender.errors import DataError


@dataclass
class RecData:
    """Interactions as (n, 2) [user, item] index arrays plus the CIKG side information."""

    dataset: str
    n_users: int
    n_items: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    n_entities: int = 0
    n_relations: int = 0
    n_interests: int = 0
    triples: np.ndarray | None = None          # (n, 3) [head entity, relation, tail entity]
    item_entity: np.ndarray | None = None      # (n_items,) entity index or -1
    user_interests: np.ndarray | None = None   # (n, 2) [user, interest]

    @property
    def has_kg(self) -> bool:
        return self.triples is not None and len(self.triples) > 0

    @property
    def has_interests(self) -> bool:
        return self.user_interests is not None and len(self.user_interests) > 0

    def train_counts(self) -> np.ndarray:
        return np.bincount(self.train[:, 0], minlength=self.n_users)


def carve_validation(train: np.ndarray, ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Move ``ratio`` of each user's train pairs (rounded, keeping >= 1 train) to validation."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    shuffled = train[order]
    shuffled = shuffled[np.argsort(shuffled[:, 0], kind="stable")]  # grouped by user, random within
    users, starts, counts = np.unique(shuffled[:, 0], return_index=True, return_counts=True)
    n_valid = np.minimum(np.round(counts * ratio).astype(int), counts - 1)
    rank = np.arange(len(shuffled)) - np.repeat(starts, counts)
    is_valid = rank < np.repeat(n_valid, counts)
    return shuffled[~is_valid], shuffled[is_valid]


def from_export(export: GraphExport, valid_ratio: float = 1 / 8, seed: int = 2024) -> RecData:
    """RecData from an export; validation is carved from train unless the graph has one."""
    train, valid, test = export.split("train"), export.split("valid"), export.split("test")
    if len(train) == 0:
        raise DataError(f"Dataset '{export.dataset}' has no train interactions.")
    if len(test) == 0:
        raise DataError(f"Dataset '{export.dataset}' has no test interactions: ingest a test split.")
    if len(valid) == 0 and valid_ratio > 0:
        train, valid = carve_validation(train, valid_ratio, seed)
    item_entity = np.full(export.n_items, -1, dtype=np.int64)
    if len(export.item_entities):
        item_entity[export.item_entities[:, 0]] = export.item_entities[:, 1]
    return RecData(
        dataset=export.dataset, n_users=export.n_users, n_items=export.n_items,
        train=train, valid=valid, test=test,
        n_entities=len(export.entity_ids), n_relations=len(export.relation_types),
        n_interests=len(export.interest_ids),
        triples=export.triples if len(export.triples) else None,
        item_entity=item_entity,
        user_interests=export.user_interests if len(export.user_interests) else None,
    )
