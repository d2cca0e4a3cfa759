"""Training data for ranking models, built from a graph export (never from the driver).

Carves a validation split from train per user (model selection must never look at test), and
holds the CIKG side information (KG triples, item-entity links, user interests) in index form.
A run's validation pairs can be written to a small TSV (original ids) and read back, so the
exact split of a saved run can be rebuilt later.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kg_store.carve import carve_validation  # shared with the RecBole export's valid.inter
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

    def without_validation(self) -> RecData:
        """The same data with the validation pairs given back to train (all of train, no validation)."""
        return replace(self, train=np.concatenate([self.train, self.valid]).astype(np.int64),
                       valid=np.zeros((0, 2), dtype=np.int64))


def _keys(pairs: np.ndarray, n_items: int) -> np.ndarray:
    return pairs[:, 0].astype(np.int64) * n_items + pairs[:, 1]


def split_off(export: GraphExport, valid_pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(train, valid) with exactly ``valid_pairs`` (index form) as validation, the rest of the train side as train."""
    whole = np.concatenate([export.split("train"), export.split("valid")])
    chosen = np.isin(_keys(whole, export.n_items), _keys(valid_pairs, export.n_items))
    found = len(np.unique(_keys(whole[chosen], export.n_items)))
    if found != len(np.unique(_keys(valid_pairs, export.n_items))):
        raise DataError(f"The saved validation split names {len(valid_pairs)} pairs, but only {found} "
                        f"of them are train or valid interactions of '{export.dataset}' now.")
    return whole[~chosen], whole[chosen]


def from_export(export: GraphExport, valid_ratio: float = 1 / 8, seed: int = 2024,
                valid_pairs: np.ndarray | None = None) -> RecData:
    """RecData from an export; validation is carved from train unless the graph has one.

    ``valid_pairs`` (index form, e.g. from :func:`read_valid_split`) fixes the validation split
    instead: those pairs, taken from the train side (train and stored valid interactions).
    """
    train, valid, test = export.split("train"), export.split("valid"), export.split("test")
    if len(train) == 0:
        raise DataError(f"Dataset '{export.dataset}' has no train interactions.")
    if len(test) == 0:
        raise DataError(f"Dataset '{export.dataset}' has no test interactions: ingest a test split.")
    if valid_pairs is not None:
        train, valid = split_off(export, valid_pairs)
    elif len(valid) == 0 and valid_ratio > 0:
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


VALID_SPLIT_HEADER = "user\titem"


def write_valid_split(path: Path, valid: np.ndarray, export: GraphExport) -> Path:
    """The validation pairs as ``user<TAB>item`` lines in original (graph) ids, after a header line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{export.user_ids[u]}\t{export.item_ids[i]}" for u, i in valid]
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join([VALID_SPLIT_HEADER, *lines]) + "\n")
    partial.replace(path)
    return path


def read_valid_split(path: Path, export: GraphExport) -> np.ndarray:
    """Pairs written by :func:`write_valid_split`, as (n, 2) indices into ``export``."""
    lines = path.read_text().splitlines()
    if not lines or lines[0].split() != VALID_SPLIT_HEADER.split():
        raise DataError(f"{path} is not a validation split file (its first line should be 'user<TAB>item').")
    ids = np.array([[int(v) for v in line.split()] for line in lines[1:] if line.strip()], dtype=np.int64)
    ids = ids.reshape(-1, 2)
    users, items = np.searchsorted(export.user_ids, ids[:, 0]), np.searchsorted(export.item_ids, ids[:, 1])
    known = (users < export.n_users) & (items < export.n_items)
    known[known] &= (export.user_ids[users[known]] == ids[known, 0]) & (export.item_ids[items[known]] == ids[known, 1])
    if not known.all():
        raise DataError(f"{path}: {int((~known).sum())} pair(s) name users or items that '{export.dataset}' "
                        "no longer has.")
    return np.stack([users, items], axis=1).astype(np.int64)
