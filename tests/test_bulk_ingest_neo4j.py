"""`kgrec ingest --bulk`: the import tool gives exactly the graph a normal ingest gives, and refuses
where it must (a server kgrec does not run, a database that holds data).

The bulk loads stop and restart a server, so they use their own private local server (temporary
home, free ports, small heap); the normal loads they are compared with go to the session's server.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ingest import get_source, write_dataset
from ingest.bulk import BulkRefusedError, bulk_write_dataset, write_csv
from ingest.records import DatasetRecords
from kg_store.connection import GraphStore
from kg_store.export import export_dataset
from kg_store.local_server import LocalNeo4j, ServerOptions, free_port
from kgrec import api

FIXTURES = Path(__file__).parent / "fixtures"

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="the import tool and a private Neo4j need Java")

# Test-side reads of a whole (small) dataset, to compare two graphs property by property.
NODES = """
MATCH (n) WHERE n.dataset = $dataset
RETURN labels(n) AS labels, n.id AS id, properties(n) AS props,
       [k IN keys(n) | [k, valueType(n[k])]] AS types
"""
RELATIONSHIPS = """
MATCH (a)-[r]->(b) WHERE a.dataset = $dataset
RETURN labels(a) AS a_labels, a.id AS a, type(r) AS type, labels(b) AS b_labels, b.id AS b,
       properties(r) AS props, [k IN keys(r) | [k, valueType(r[k])]] AS types
"""
DATASET = """
MATCH (d:Dataset {name: $dataset})
RETURN properties(d) AS props, [k IN keys(d) | [k, valueType(d[k])]] AS types
"""
WIPE = "MATCH (n) DETACH DELETE n"
CONSTRAINTS = "SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names"


def _rows(store: GraphStore, query: str, **params) -> list[dict]:
    with store.session() as session:
        return session.run(query, params).data()


def _canonical(value):
    if isinstance(value, dict):
        return sorted((k, _canonical(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return repr(value)


def _key(row: dict) -> str:
    return repr(_canonical(row))


def _graph(store: GraphStore, dataset: str) -> dict:
    """Everything a dataset holds, without its name: nodes, relationships, value types, counts."""
    nodes = []
    for row in _rows(store, NODES, dataset=dataset):
        row["props"].pop("dataset")
        row["types"] = sorted(map(tuple, row["types"]))
        nodes.append(row)
    relationships = _rows(store, RELATIONSHIPS, dataset=dataset)
    for row in relationships:
        row["types"] = sorted(map(tuple, row["types"]))
    return {"nodes": sorted(nodes, key=_key), "relationships": sorted(relationships, key=_key),
            "node_counts": sorted((r["label"], r["count"]) for r in store.read("store/node_counts", dataset=dataset)),
            "relationship_counts": sorted((r["type"], r["count"])
                                          for r in store.read("store/relationship_counts", dataset=dataset))}


def _dataset_node(store: GraphStore, dataset: str) -> dict:
    [row] = _rows(store, DATASET, dataset=dataset)
    props = {k: v for k, v in row["props"].items() if k not in ("name", "created", "load_started", "load_finished")}
    return {"props": props, "types": sorted(map(tuple, row["types"]))}


def _sorted_rows(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


def _assert_same_graph(bulk_store: GraphStore, bulk_name: str, store: GraphStore, name: str) -> None:
    bulk, normal = _graph(bulk_store, bulk_name), _graph(store, name)
    assert bulk["node_counts"] == normal["node_counts"]
    assert bulk["relationship_counts"] == normal["relationship_counts"]
    assert bulk["nodes"] == normal["nodes"]
    assert bulk["relationships"] == normal["relationships"]
    assert _dataset_node(bulk_store, bulk_name) == _dataset_node(store, name)
    assert _dataset_node(bulk_store, bulk_name)["props"]["status"] == "complete"
    ours, theirs = export_dataset(bulk_store, bulk_name, use_cache=False), export_dataset(store, name, use_cache=False)
    assert ours.relation_types == theirs.relation_types
    for array in ("user_ids", "item_ids", "entity_ids", "interest_ids"):
        assert np.array_equal(getattr(ours, array), getattr(theirs, array)), array
    # edges come out in storage order, which the import tool lays out differently: equal as sets of rows
    for export in (ours, theirs):
        export.interactions = np.column_stack([export.interactions, export.interaction_split])
    for array in ("interactions", "item_entities", "triples", "user_interests"):
        assert np.array_equal(_sorted_rows(getattr(ours, array)), _sorted_rows(getattr(theirs, array))), array


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalNeo4j, GraphStore]]:
    """A private local server the bulk loads may stop and restart."""
    server = LocalNeo4j(tmp_path_factory.mktemp("neo4j-bulk"),
                        ServerOptions(bolt_port=free_port(), http_port=free_port(), heap="512m", page_cache="128m"))
    server.start()
    yield server, GraphStore(server.connection_settings())
    server.stop()


@pytest.fixture()
def empty_private(private: tuple[LocalNeo4j, GraphStore]) -> tuple[LocalNeo4j, GraphStore]:
    _rows(private[1], WIPE)
    return private


@needs_java
def test_bulk_cikg_gives_the_graph_of_a_normal_ingest(empty_private, store: GraphStore, dataset_name: str) -> None:
    server, bulk_store = empty_private
    report = api.ingest_bulk(bulk_store, "cikg", FIXTURES / "cikg_small", "bulk_cikg", progress=False,
                             local_home=server.home)
    normal = api.ingest(store, "cikg", FIXTURES / "cikg_small", dataset_name, progress=False)
    assert report.mode == "bulk" and report.version == normal.version == 1
    assert report.nodes_created == normal.nodes_created
    assert report.relationships_created == normal.relationships_created
    assert set(report.steps) == {"csv", "stop", "import", "start", "schema"}
    assert any("restarted" in line for line in report.notes)
    assert server.status().running
    assert {"user_key", "item_key", "entity_key", "interest_set_key", "dataset_name"} <= \
        set(_rows(bulk_store, CONSTRAINTS)[0]["names"])
    _assert_same_graph(bulk_store, "bulk_cikg", store, dataset_name)


@needs_java
def test_bulk_movielens_from_the_cli(empty_private, store: GraphStore, dataset_name: str) -> None:
    """The command says it restarts the server; MovieLens brings lists, missing values and ratings."""
    server, bulk_store = empty_private
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    result = subprocess.run([sys.executable, "-m", "kgrec.cli", "--neo4j-home", str(server.home), "ingest",
                             "movielens", str(FIXTURES / "ml100k_synthetic"), "--dataset", "bulk_ml", "--bulk",
                             "--no-progress"], env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr
    assert "import tool (the local server was restarted)" in result.stdout
    assert "--bulk" in subprocess.run([sys.executable, "-m", "kgrec.cli", "ingest", "cikg", "--help"],
                                      capture_output=True, text=True).stdout
    records = get_source("movielens").from_options(FIXTURES / "ml100k_synthetic", dataset_name).read()
    write_dataset(store, records, progress=False)
    _assert_same_graph(bulk_store, "bulk_ml", store, dataset_name)


@needs_java
def test_bulk_refuses_a_database_with_data_and_other_servers(empty_private, store: GraphStore) -> None:
    server, bulk_store = empty_private
    pid = server.status().pid
    odd = DatasetRecords(name="odd", source="test", items=[(1, {"tags": []})])
    with pytest.raises(BulkRefusedError, match="without --bulk"):   # refused before the server is touched
        bulk_write_dataset(bulk_store, server, odd, progress=False)
    assert server.status().pid == pid
    api.ingest(bulk_store, "cikg", FIXTURES / "cikg_small", "normal_cikg", progress=False)
    with pytest.raises(BulkRefusedError, match="empty database"):
        api.ingest_bulk(bulk_store, "cikg", FIXTURES / "cikg_small", "again", progress=False, local_home=server.home)
    assert server.status().pid == pid   # not restarted
    from_env = GraphStore(dataclasses.replace(bulk_store.settings, source="environment"))
    with pytest.raises(BulkRefusedError, match="own local server"):
        api.ingest_bulk(from_env, "cikg", FIXTURES / "cikg_small", "again", progress=False, local_home=server.home)
    if store.settings.uri != bulk_store.settings.uri:   # the session's server is not the one in this home
        with pytest.raises(BulkRefusedError):
            api.ingest_bulk(store, "cikg", FIXTURES / "cikg_small", "again", progress=False, local_home=server.home)
    assert server.status().pid == pid


def _csv_files(folder: Path) -> dict[str, list[str]]:
    return {path.name: path.read_text(encoding="utf-8").splitlines() for path in sorted(folder.glob("*.csv"))}


def test_csv_keeps_types_missing_values_and_merge_semantics(tmp_path: Path) -> None:
    """No server: a missing value is a missing property, types stay apart, duplicates merge as MERGE does."""
    records = DatasetRecords(name="csvcheck", source="test")
    records.users = [(1, {"age": 3, "zip": None}), (2, {"age": 4.5, "zip": 'a "quoted", text'}), (1, {"zip": "z"})]
    records.items = [(7, {"genres": ["x", "y"], "title": ""})]
    records.entities = [(7, {})]
    records.interactions = [(1, 7, "train", None, None), (1, 7, "test", 5, 10), (2, 7, "train", 1.5, None),
                            (3, 7, "train", None, None)]      # user 3 does not exist: MATCH would skip it
    records.item_entities = [(7, 7), (7, 7), (7, 8)]          # a repeat, and an entity that does not exist
    csv = write_csv(records, tmp_path, datetime.now(UTC), progress=False)
    files = _csv_files(tmp_path)
    assert (csv.nodes, csv.relationships) == (4, 3)
    users = {name: lines for name, lines in files.items() if name.endswith("-User.csv")}
    assert sorted(lines[0] for lines in users.values()) == [
        ":ID(User),dataset:string,id:long,age:double,zip:string",
        ":ID(User),dataset:string,id:long,age:long,zip:string"]   # user 1: age 3 merged with zip 'z'
    assert '2,"csvcheck",2,4.5,"a ""quoted"", text"' in [line for lines in users.values() for line in lines]
    [items] = [lines for name, lines in files.items() if name.endswith("-Item.csv")]
    assert items == [":ID(Item),dataset:string,id:long,genres:string[],title:string", '7,"csvcheck",7,"x\x1fy",""']
    interactions = sorted(lines for name, lines in files.items() if name.endswith("INTERACTED.csv"))
    assert interactions == [[":START_ID(User),:END_ID(Item),split:string,rating:double", '2,7,"train",1.5'],
                            [":START_ID(User),:END_ID(Item),split:string,rating:long,ts:long", '1,7,"test",5,10']]
    assert [lines for name, lines in files.items() if name.endswith("LINKED_TO.csv")] == \
        [[":START_ID(Item),:END_ID(Entity)", "7,7"]]


@pytest.mark.parametrize("value", [[], [1, "a"], {"a": 1}])
def test_values_the_import_tool_cannot_write_are_refused(tmp_path: Path, value) -> None:
    records = DatasetRecords(name="csvcheck", source="test", items=[(1, {"odd": value})])
    with pytest.raises(BulkRefusedError, match="without --bulk"):
        write_csv(records, tmp_path, datetime.now(UTC), progress=False)
