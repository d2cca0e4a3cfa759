"""A synthetic scale set with DBbook2014's shape, written as a CIKG-layout folder.

Benches need a million interactions and tests need a few hundred, with the same structure as a
real set: users and items with power-law degrees, an item KG (item *i* is entity *i*) and
clustered user interests numbered after the entities. Every count is DBbook2014's ratio to its
interactions (:data:`DBBOOK2014_RATIOS`), so one number scales the whole set. The output is an
ordinary CIKG folder, so ``kgrec ingest cikg`` (and the import-tool bench) read it unchanged.
Deterministic: the same config gives byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# DBbook2014 (kgrec/shipped/datasets/dbbook2014): 65,961 interactions, 5,576 users, 2,680 items, 8,909 entities,
# 14 relations, 134,223 triples, 381 interests, 6,961 user-interest edges, 23.1 % in test.
DBBOOK2014_INTERACTIONS = 65_961
DBBOOK2014_RATIOS = {"users": 5_576, "items": 2_680, "entities": 8_909, "triples": 134_223,
                     "interests": 381, "user_interests": 6_961}
SCALE_846K = 846_434   # KGAT's Amazon-book: the scale kgrec is measured at


@dataclass(frozen=True)
class SyntheticConfig:
    """How big and how skewed; the defaults give a set of DBbook2014's size."""

    interactions: int = DBBOOK2014_INTERACTIONS
    seed: int = 2024
    relations: int = 14
    test_ratio: float = 0.23
    item_skew: float = 0.9      # Zipf exponent of item popularity (rank ** -skew)
    user_skew: float = 0.8      # Zipf exponent of user activity
    entity_skew: float = 0.7    # Zipf exponent of entity degree in the KG

    def count(self, what: str) -> int:
        """DBbook2014's count of ``what``, scaled to this set's interactions (at least 2)."""
        return max(2, round(DBBOOK2014_RATIOS[what] * self.interactions / DBBOOK2014_INTERACTIONS))


@dataclass(frozen=True)
class SyntheticSet:
    """What was written, for tests and bench reports."""

    folder: Path
    users: int
    items: int
    entities: int
    interests: int
    train: int
    test: int
    triples: int
    user_interests: int

    @property
    def interactions(self) -> int:
        return self.train + self.test


def _zipf(n: int, skew: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities of n ids with power-law weights, shuffled so popularity is not id order."""
    weights = np.arange(1, n + 1, dtype=np.float64) ** -skew
    return rng.permutation(weights / weights.sum())


def _unique_pairs(n_pairs: int, left_p: np.ndarray, right_p: np.ndarray, rng: np.random.Generator,
                  forbid_loops: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """``n_pairs`` distinct (left, right) pairs as sorted keys ``left * len(right_p) + right``,
    drawn by the two distributions and topped up until full; keys in ``exclude`` are never drawn."""
    n_right = len(right_p)
    limit = min(n_pairs, len(left_p) * n_right - (len(left_p) if forbid_loops else 0))
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < limit:
        need = int((limit - len(keys)) * 1.2) + 16
        left = rng.choice(len(left_p), need, p=left_p)
        right = rng.choice(n_right, need, p=right_p)
        if forbid_loops:
            left, right = left[left != right], right[left != right]
        fresh = np.unique(left.astype(np.int64) * n_right + right)
        if exclude is not None:
            fresh = np.setdiff1d(fresh, exclude, assume_unique=True)
        keys = np.union1d(keys, fresh)  # sorted, so the result does not depend on draw order
    keys = rng.permutation(keys)[:limit]
    return np.sort(keys)


def _interactions(config: SyntheticConfig, n_users: int, n_items: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) pairs and a test mask; every user has at least one train item."""
    first = np.arange(n_users) * n_items + rng.integers(0, n_items, n_users)   # one item per user
    keys = _unique_pairs(config.interactions - n_users, _zipf(n_users, config.user_skew, rng),
                         _zipf(n_items, config.item_skew, rng), rng, exclude=first)
    keys = np.sort(np.concatenate([first, keys]))
    pairs = np.stack([keys // n_items, keys % n_items], 1)
    order = np.lexsort((rng.random(len(pairs)), pairs[:, 0]))
    pairs = pairs[order]
    starts = np.searchsorted(pairs[:, 0], np.arange(n_users))
    degree = np.diff(np.append(starts, len(pairs)))
    position = np.arange(len(pairs)) - np.repeat(starts, degree)
    keep = np.maximum(1, np.round(degree * (1 - config.test_ratio))).astype(np.int64)
    return pairs, position >= np.repeat(keep, degree)


def _write_splits(folder: Path, pairs: np.ndarray, test: np.ndarray, n_users: int) -> None:
    for name, mask in (("train.txt", ~test), ("test.txt", test)):
        chosen = pairs[mask]
        bounds = np.searchsorted(chosen[:, 0], np.arange(n_users + 1))
        items = chosen[:, 1].astype(str)
        lines = [" ".join([str(u), *items[bounds[u]:bounds[u + 1]]]) for u in range(n_users)
                 if bounds[u + 1] > bounds[u]]
        (folder / name).write_text("\n".join(lines) + "\n")


def _write_lists(folder: Path, n_users: int, n_items: int, n_entities: int, n_relations: int) -> None:
    (folder / "user_list.txt").write_text("org_id remap_id\n" + "".join(f"u{u} {u}\n" for u in range(n_users)))
    (folder / "item_list.txt").write_text(
        "org_id remap_id entity_name\n" + "".join(f"i{i} {i} Synthetic_item_{i}\n" for i in range(n_items)))
    (folder / "entity_list.txt").write_text(
        "org_id remap_id\n" + "".join(f"e{e} {e}\n" for e in range(n_entities)))
    (folder / "relation_list.txt").write_text(
        "org_id remap_id\n"
        + "".join(f"http://example.org/synthetic/relation_{r} {r}\n" for r in range(n_relations)))


def _write_rows(path: Path, rows: np.ndarray) -> None:
    path.write_text("".join(" ".join(map(str, row)) + "\n" for row in rows.tolist()))


def write_synthetic(folder: Path | str, config: SyntheticConfig = SyntheticConfig()) -> SyntheticSet:
    """Write a CIKG-layout folder (created if absent; its files are overwritten)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(config.seed)
    n_users, n_items = config.count("users"), config.count("items")
    n_entities, n_interests = max(config.count("entities"), n_items + 1), config.count("interests")
    pairs, test = _interactions(config, n_users, n_items, rng)
    _write_splits(folder, pairs, test, n_users)

    entity_p = _zipf(n_entities, config.entity_skew, rng)
    keys = _unique_pairs(config.count("triples"), entity_p, entity_p, rng, forbid_loops=True)
    relation = rng.choice(config.relations, len(keys), p=_zipf(config.relations, 1.0, rng))
    triples = np.stack([keys // n_entities, relation, keys % n_entities], 1)
    _write_rows(folder / "kg_final.txt", triples)

    links = _unique_pairs(config.count("user_interests"), _zipf(n_users, config.user_skew, rng),
                          _zipf(n_interests, 1.0, rng), rng)
    holds = np.stack([links // n_interests, links % n_interests + n_entities], 1)
    _write_rows(folder / "user_interest_clustered.txt", holds)
    _write_lists(folder, n_users, n_items, n_entities, config.relations)
    return SyntheticSet(folder, n_users, n_items, n_entities, len(np.unique(holds[:, 1])),
                        int((~test).sum()), int(test.sum()), len(triples), len(holds))
