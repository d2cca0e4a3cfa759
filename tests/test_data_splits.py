"""Which validation split training uses: the graph's own (RecBole's .valid.inter) or one carved from train."""

from __future__ import annotations

import numpy as np

from kg_store.graph_export import SPLIT_CODES, GraphExport
from recommender.data import from_export


def _export(splits: list[str]) -> GraphExport:
    """Four users, six items; interaction k is (k % 4, k // 4), in split ``splits[k]``."""
    pairs = np.array([(k % 4, k // 4) for k in range(len(splits))], dtype=np.int64)
    empty2, empty3 = np.zeros((0, 2), dtype=np.int64), np.zeros((0, 3), dtype=np.int64)
    return GraphExport(
        dataset="splits", cache_key="k", user_ids=np.arange(4), item_ids=np.arange(6), entity_ids=np.arange(0),
        interest_ids=np.arange(0), relation_types=[], interactions=pairs,
        interaction_split=np.array([SPLIT_CODES[s] for s in splits], dtype=np.int8),
        item_entities=empty2, triples=empty3, user_interests=empty2,
    )


def _as_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(i)) for u, i in pairs}


def test_valid_interactions_in_the_graph_are_the_validation_split() -> None:
    splits = ["train"] * 12 + ["valid"] * 4 + ["test"] * 4
    export = _export(splits)
    data = from_export(export, valid_ratio=1 / 8, seed=7)
    assert _as_set(data.valid) == _as_set(export.split("valid")) and len(data.valid) == 4
    assert _as_set(data.train) == _as_set(export.split("train")) and len(data.train) == 12  # nothing carved
    assert _as_set(data.test) == _as_set(export.split("test"))


def test_without_valid_interactions_a_share_of_train_is_carved() -> None:
    export = _export(["train"] * 16 + ["test"] * 4)
    data = from_export(export, valid_ratio=1 / 4, seed=7)
    assert len(data.train) + len(data.valid) == 16 and len(data.valid) == 4  # 1 of each user's 4
    assert _as_set(data.train) | _as_set(data.valid) == _as_set(export.split("train"))
    assert not _as_set(data.train) & _as_set(data.valid)
    again = from_export(export, valid_ratio=1 / 4, seed=7)
    assert np.array_equal(again.valid, data.valid)  # seeded


def _shuffled_export(seed: int | None) -> GraphExport:
    """One graph's arrays, in the order a store might stream them (``seed`` None: as generated)."""
    rng = np.random.default_rng(0)
    pairs = np.unique(np.stack([rng.integers(0, 30, 400), rng.integers(0, 50, 400)], 1), axis=0)
    split = rng.choice(np.array([0, 0, 0, 2], dtype=np.int8), len(pairs))
    triples = np.unique(np.stack([rng.integers(0, 60, 300), rng.integers(0, 4, 300), rng.integers(0, 60, 300)], 1),
                        axis=0)
    links = np.stack([np.arange(50), rng.permutation(60)[:50]], 1)
    held = np.unique(np.stack([rng.integers(0, 30, 80), rng.integers(0, 9, 80)], 1), axis=0)
    if seed is not None:
        order = np.random.default_rng(seed)
        p = order.permutation(len(pairs))
        pairs, split = pairs[p], split[p]
        triples, links, held = (a[order.permutation(len(a))] for a in (triples, links, held))
    return GraphExport(dataset="order", cache_key="k", user_ids=np.arange(30), item_ids=np.arange(50),
                       entity_ids=np.arange(60), interest_ids=np.arange(9), relation_types=list("abcd"),
                       interactions=pairs, interaction_split=split, item_entities=links, triples=triples,
                       user_interests=held)


def test_the_order_a_store_streams_edges_in_changes_neither_the_arrays_nor_the_seeded_split() -> None:
    """Two loads of one graph stream its edges in different orders; a seed must still carve the
    same validation split and train in the same order."""
    exports = [_shuffled_export(seed) for seed in (None, 1, 2)]
    assert len({export.fingerprint() for export in exports}) == 1
    for name in GraphExport._ARRAYS:
        assert all(np.array_equal(getattr(exports[0], name), getattr(e, name)) for e in exports[1:]), name
    first, *others = (from_export(export, valid_ratio=1 / 8, seed=2026) for export in exports)
    for data in others:
        assert np.array_equal(first.train, data.train) and np.array_equal(first.valid, data.valid)
    # the canonical order: by user, then item (each pair's split moved with it, checked above)
    pairs = exports[1].interactions
    assert np.all(np.diff(pairs[:, 0] * 50 + pairs[:, 1]) > 0)
