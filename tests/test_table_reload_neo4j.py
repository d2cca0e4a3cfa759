"""``kgrec ingest table`` run again over changed tables, into a real Neo4j: every org_id keeps its id,
new ones get the next ids, interactions keep their splits, nothing is deleted, and the report says
what changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_table_source import write_table

from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info, dataset_stats
from kg_store.errors import ConfigError
from kgrec import api

MAPPING = """
[interactions]
file = "ratings.csv"
user = "user"
item = "item"
timestamp = "ts"
{split}
[items]
file = "products.csv"
id = "sku"
title = "name"

[triples]
file = "kg.csv"
head = "h"
relation = "r"
tail = "t"
"""
FIRST = [("ben", "kettle", 10), ("ben", "mug", 20), ("ben", "tea", 30), ("ben", "desk", 40), ("ben", "lamp", 50),
         ("dan", "mug", 15), ("dan", "tea", 25), ("dan", "lamp", 35), ("dan", "kettle", 45), ("dan", "desk", 55)]
ADDED = [("ben", "apple", 60), ("ben", "chair", 70), ("ben", "cup", 80), ("ben", "fig", 90), ("ben", "bowl", 100),
         ("ana", "mug", 5), ("ana", "apple", 6), ("ana", "kettle", 7), ("ana", "cup", 8), ("ana", "lamp", 9),
         ("cy", "tea", 11)]
GONE = ("dan", "tea")   # in the first tables only
KG_FIRST = [("kettle", "made_of", "steel"), ("mug", "made_of", "stoneware"), ("lamp", "category", "lighting"),
            ("desk", "category", "furniture")]
KG_ADDED = [("apple", "belongs_to", "fruit"), ("cup", "made_of", "stoneware"), ("chair", "category", "furniture")]


def _write(folder: Path, ratings: list[tuple], triples: list[tuple], split: dict[tuple[str, str], str] | None = None,
           ) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list[Any]] = {"user": [u for u, _, _ in ratings], "item": [i for _, i, _ in ratings],
                                     "ts": [t for _, _, t in ratings]}
    if split is not None:
        columns["split"] = [split[(u, i)] for u, i, _ in ratings]
    write_table(folder / "ratings.csv", columns)
    items = sorted({i for _, i, _ in ratings})
    write_table(folder / "products.csv", {"sku": items, "name": [i.title() for i in items]})
    write_table(folder / "kg.csv", {"h": [h for h, _, _ in triples], "r": [r for _, r, _ in triples],
                                    "t": [t for _, _, t in triples]})
    mapping = MAPPING.format(split='split = "split"\n' if split is not None else "")
    (folder / "mapping.toml").write_text(mapping)
    return folder / "mapping.toml"


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    return store.read_with(lambda tx: tx.run(query, params).data())


def _ids(store: GraphStore, dataset: str) -> dict[tuple[str, str], int]:
    """(label, org_id) -> id; fails on an org_id held by two nodes."""
    rows = _rows(store, "MATCH (n {dataset: $d}) WHERE n:User OR n:Item OR n:Entity "
                        "RETURN labels(n)[0] AS label, n.org_id AS org, n.id AS id", d=dataset)
    found = {(row["label"], row["org"]): row["id"] for row in rows}
    assert len(found) == len(rows), "an org_id is on two nodes"
    for label in ("User", "Item", "Entity"):
        ids = [k for (kind, _), k in found.items() if kind == label]
        assert len(set(ids)) == len(ids), f"two {label} nodes share an id"
    return found


def _splits(store: GraphStore, dataset: str) -> dict[tuple[str, str], str]:
    rows = _rows(store, "MATCH (u:User {dataset: $d})-[r:INTERACTED]->(i:Item) "
                        "RETURN u.org_id AS user, i.org_id AS item, r.split AS split", d=dataset)
    pairs = {(row["user"], row["item"]): row["split"] for row in rows}
    assert len(pairs) == len(rows), "an interaction is in the graph twice"
    return pairs


def _graph_kg(store: GraphStore, dataset: str) -> set[tuple[str, str, str]]:
    rows = _rows(store, "MATCH (h:Entity {dataset: $d})-[r]->(t:Entity) "
                        "RETURN h.org_id AS h, type(r) AS r, t.org_id AS t", d=dataset)
    return {(row["h"], row["r"], row["t"]) for row in rows}


def _links(store: GraphStore, dataset: str) -> set[tuple[str, str, int, int]]:
    rows = _rows(store, "MATCH (i:Item {dataset: $d})-[:LINKED_TO]->(e:Entity) "
                        "RETURN i.org_id AS item, e.org_id AS entity, i.id AS i, e.id AS e", d=dataset)
    return {(row["item"], row["entity"], row["i"], row["e"]) for row in rows}


def test_new_rows_get_new_ids_and_old_ones_keep_theirs_and_their_splits(store: GraphStore, dataset_name: str,
                                                                       tmp_path: Path) -> None:
    first = api.ingest(store, "table", _write(tmp_path / "one", FIRST, KG_FIRST), dataset_name, progress=False)
    assert first.changes == {} and first.mode == "create"
    ids, splits = _ids(store, dataset_name), _splits(store, dataset_name)
    assert [ids[("User", u)] for u in ("ben", "dan")] == [0, 1]
    assert [ids[("Item", i)] for i in ("desk", "kettle", "lamp", "mug", "tea")] == [0, 1, 2, 3, 4]
    assert {pair for pair, split in splits.items() if split == "test"} == {("ben", "lamp"), ("dan", "desk")}

    later = [row for row in FIRST if row[:2] != GONE] + ADDED
    mapping = _write(tmp_path / "two", later, KG_FIRST + KG_ADDED)
    second = api.ingest(store, "table", mapping, dataset_name, progress=False)
    now = _ids(store, dataset_name)
    assert {key: now[key] for key in ids} == ids   # every node loaded before keeps its id and org_id
    new = {key: k for key, k in now.items() if key not in ids}
    assert new == {("User", "ana"): 2, ("User", "cy"): 3,   # after the maximum, in sorted order among the new
                   ("Item", "apple"): 5, ("Item", "bowl"): 6, ("Item", "chair"): 7, ("Item", "cup"): 8,
                   ("Item", "fig"): 9, ("Entity", "apple"): 8, ("Entity", "chair"): 9, ("Entity", "cup"): 10,
                   ("Entity", "fruit"): 11}
    after = _splits(store, dataset_name)
    assert {pair: after[pair] for pair in splits} == splits   # old interactions (the one gone too) keep their split
    added_tests = {pair for pair in after if pair not in splits and after[pair] == "test"}
    assert added_tests == {("ben", "bowl"), ("ana", "lamp")}   # each user's new ones split among themselves
    assert second.changes == {"users": 2, "items": 5, "entities": 4, "users_not_in_tables": 0,
                              "items_not_in_tables": 0, "entities_not_in_tables": 0, "relations": 1,
                              "interactions": 11, "test": 2, "interactions_not_in_tables": 1, "other_split": 0}
    assert (second.nodes_created, second.relationships_created) == (2 + 5 + 4, 11 + 3 + 3)
    assert "new since the last load: 2 users, 5 items, 4 entities, 11 interactions (2 of them to test)" in second.notes
    assert any(note.startswith("kept in the graph, no longer in the tables: 1 interaction (") for note in second.notes)
    info = dataset_info(store, dataset_name)
    assert info["relation_types"] == ["CATEGORY", "MADE_OF", "BELONGS_TO"]   # a new relation is appended
    assert (info["version"], info["status"]) == (2, "complete")
    kg = {(h, r.upper(), t) for h, r, t in KG_FIRST + KG_ADDED}
    assert _graph_kg(store, dataset_name) == kg
    links = _links(store, dataset_name)
    assert {(i, e) for i, e, _, _ in links} == {(i, i) for i in ("kettle", "mug", "lamp", "desk", "apple", "cup",
                                                                  "chair")}
    assert all((now[("Item", i)], now[("Entity", e)]) == (ni, ne) for i, e, ni, ne in links)

    third = api.ingest(store, "table", mapping, dataset_name, progress=False)   # the same tables: nothing new
    assert (third.nodes_created, third.relationships_created) == (0, 0)
    assert "new since the last load: 0 users, 0 items, 0 entities, 0 interactions (0 of them to test)" in third.notes
    assert {key: third.changes[key] for key in ("users", "items", "entities", "relations", "interactions")} == dict.fromkeys(
        ("users", "items", "entities", "relations", "interactions"), 0)
    assert _ids(store, dataset_name) == now and _splits(store, dataset_name) == after
    assert dataset_info(store, dataset_name)["version"] == 2
    assert dataset_stats(store, dataset_name).nodes == {"User": 4, "Item": 10, "Entity": 12}


def test_a_split_column_splits_new_interactions_and_old_ones_keep_the_graphs(store: GraphStore, dataset_name: str,
                                                                           tmp_path: Path) -> None:
    rows = [("ben", "kettle", 1), ("ben", "mug", 2), ("dan", "tea", 3)]
    split = {("ben", "kettle"): "train", ("ben", "mug"): "test", ("dan", "tea"): "train"}
    api.ingest(store, "table", _write(tmp_path / "one", rows, KG_FIRST, split), dataset_name, progress=False)
    more = [*rows, ("ben", "lamp", 4), ("ana", "desk", 5)]
    split.update({("ben", "mug"): "train", ("ben", "lamp"): "test", ("ana", "desk"): "valid"})
    report = api.ingest(store, "table", _write(tmp_path / "two", more, KG_FIRST, split), dataset_name,
                        progress=False)
    assert _splits(store, dataset_name) == {("ben", "kettle"): "train", ("ben", "mug"): "test",
                                            ("dan", "tea"): "train", ("ben", "lamp"): "test",
                                            ("ana", "desk"): "valid"}
    assert (report.changes["interactions"], report.changes["test"], report.changes["other_split"]) == (2, 1, 1)
    assert any("1 interaction(s) have another split in the tables than in the graph" in note for note in report.notes)
    ids = _ids(store, dataset_name)
    assert [ids[("User", u)] for u in ("ben", "dan", "ana")] == [0, 1, 2]


def test_a_dataset_another_source_loaded_is_not_renumbered(store: GraphStore, dataset_name: str, tmp_path: Path,
                                                           cikg_folder: Path) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    before = dataset_stats(store, dataset_name)
    with pytest.raises(ConfigError, match=r"was loaded by the 'cikg' source, not from tables"):
        api.ingest(store, "table", _write(tmp_path / "t", FIRST, KG_FIRST), dataset_name, progress=False)
    assert dataset_stats(store, dataset_name) == before
