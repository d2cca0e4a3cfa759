"""A validation split drawn once per dataset and stored on the graph's ``INTERACTED`` edges.

Carving validation at training time (``recommender.data.carve_validation``) gives every model
and seed its own split; LLM interest prompts, which must never see validation or test items,
need one fixed split decided before they are written. Drawing it here, once, and storing it as
``split: 'valid'`` makes every later step (prompts, export, training) agree on it. A linked
dataset's goes into the split codes of its ``KgrecSplits`` nodes (:mod:`kg_store.linked.valid`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import neo4j
import numpy as np

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError

DEFAULT_VALID_RATIO = 1 / 8
DEFAULT_VALID_SEED = 2024


@dataclass(frozen=True)
class ValidSplitReport:
    dataset: str
    drawn: bool            # False: the dataset already had a validation split and was left alone
    valid_edges: int
    users: int             # users that gave at least one edge to validation
    version: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def draw_valid_pairs(pairs: list[tuple[int, int]], ratio: float, seed: int) -> list[tuple[int, int]]:
    """A seeded ``ratio`` of each user's train pairs, for users with at least 2 of them.

    Each such user gives ``round(n * ratio)`` pairs, at least 1 and at most ``n - 1`` (one train
    item always stays). Users and items are sorted first, so the draw depends only on the data
    and the seed, not on the order the server returned the rows in.
    """
    by_user: dict[int, list[int]] = defaultdict(list)
    for user, item in pairs:
        by_user[user].append(item)
    rng = np.random.default_rng(seed)
    chosen: list[tuple[int, int]] = []
    for user in sorted(by_user):
        items = sorted(by_user[user])
        if len(items) < 2:
            continue
        count = min(len(items) - 1, max(1, round(len(items) * ratio)))
        chosen += [(user, int(items[k])) for k in sorted(rng.permutation(len(items))[:count])]
    return chosen


def _has_valid(store: GraphStore, dataset: str) -> bool:
    splits = {row["split"]: row["count"] for row in store.read("store/interaction_splits", dataset=dataset)}
    return splits.get("valid", 0) > 0


def store_valid_split(store: GraphStore, dataset: str, ratio: float = DEFAULT_VALID_RATIO,
                      seed: int = DEFAULT_VALID_SEED, force: bool = False) -> ValidSplitReport:
    """Mark a seeded ``ratio`` of each user's train edges as ``valid``; idempotent unless ``force``.

    A dataset that already has valid edges is left alone; ``force`` returns them to train and
    draws again. The reset, the marking and the version bump (export caches key on it) run in
    one transaction, so no half-drawn split is ever visible or left behind by a failure.
    """
    if not 0 < ratio < 1:
        raise ConfigError(f"The validation ratio must lie strictly between 0 and 1 (got {ratio}).")
    info = dataset_info(store, dataset)
    if info.get("linked"):     # codes in the dataset's KgrecSplits chunks (kg_store.linked.valid)
        return _linked_valid_split(store, dataset, info, ratio, seed, force)
    if not force and _has_valid(store, dataset):
        counts = {row["split"]: row["count"] for row in store.read("store/interaction_splits", dataset=dataset)}
        return ValidSplitReport(dataset, False, counts["valid"], 0, info["version"])
    params = {"dataset": dataset}

    def work(tx: neo4j.ManagedTransaction) -> ValidSplitReport:
        tx.run(load_query("splits/reset_valid"), params).consume()
        pairs = [(r["user"], r["item"]) for r in tx.run(load_query("splits/train_pairs"), params)]
        chosen = draw_valid_pairs(pairs, ratio, seed)
        marked = tx.run(load_query("splits/mark_valid"), {**params, "rows": chosen}).single()["marked"]
        version = tx.run(load_query("splits/record_valid"), {**params, "ratio": ratio, "seed": seed}).single()
        return ValidSplitReport(dataset, True, marked, len({user for user, _ in chosen}), version["version"])

    return store.write_with(work)


def _linked_valid_split(store: GraphStore, dataset: str, info: dict[str, Any], ratio: float, seed: int,
                        force: bool) -> ValidSplitReport:
    from kg_store.linked.valid import linked_valid_count, store_linked_valid_split

    stored = 0 if force else linked_valid_count(store, dataset)
    if stored:
        return ValidSplitReport(dataset, False, stored, 0, info["version"])
    marked, users, version = store_linked_valid_split(store, dataset, ratio, seed)
    return ValidSplitReport(dataset, True, marked, users, version)
