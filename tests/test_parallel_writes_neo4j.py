"""Several sessions writing one step at once, and relationship endpoints found by elementId (real Neo4j)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import read_cikg, write_dataset
from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError, StoreError
from kg_store.export import export_dataset
from kg_store.schema import apply_schema


def _users(store: GraphStore, dataset: str) -> tuple[int, int]:
    """How many users the dataset has, and the sum of their ``age``."""
    row = store.read_with(lambda tx: tx.run("MATCH (u:User {dataset: $d}) RETURN count(u) AS n, sum(u.age) AS s",
                                            d=dataset).single())
    return row["n"], row["s"]


def test_parallel_batches_write_every_row_exactly_once(store: GraphStore, dataset_name: str) -> None:
    apply_schema(store)
    rows = [[user, {"age": user % 7}] for user in range(101)]
    counters = write_in_batches(store, "ingest/create_users", rows, batch_size=7, workers=3, dataset=dataset_name)
    assert (counters.rows, counters.nodes_created) == (101, 101)
    assert _users(store, dataset_name) == (101, sum(user % 7 for user in range(101)))


def test_a_failing_batch_stops_the_other_workers(store: GraphStore, dataset_name: str) -> None:
    """Batch 4 repeats a user id, which the uniqueness constraint refuses: no new batch starts after it."""
    apply_schema(store)
    rows = [[user, {}] for user in range(2000)]
    rows[21] = [0, {}]
    with pytest.raises(StoreError, match="already exists"):
        write_in_batches(store, "ingest/create_users", rows, batch_size=5, workers=2, dataset=dataset_name)
    written, _ = _users(store, dataset_name)
    # batches 0-3, and what the other worker wrote while the failure came back; without the stop,
    # every batch but the failing one (1,995 rows) would be written
    assert 20 <= written <= 200


def test_workers_must_be_positive(store: GraphStore, dataset_name: str) -> None:
    with pytest.raises(ConfigError, match="workers"):
        write_in_batches(store, "ingest/create_users", [[1, {}]], workers=0, dataset=dataset_name)


def _edges(store: GraphStore, dataset: str) -> dict[str, set]:
    """The dataset's relationships in original ids, so two datasets' graphs can be compared."""
    export = export_dataset(store, dataset, use_cache=False)
    users, items, entities = export.user_ids, export.item_ids, export.entity_ids
    return {
        "interactions": {(users[u], items[i], s) for (u, i), s in zip(export.interactions, export.interaction_split,
                                                                      strict=True)},
        "triples": {(entities[h], export.relation_types[r], entities[t]) for h, r, t in export.triples},
        "item_entities": {(items[i], entities[e]) for i, e in export.item_entities},
        "user_interests": {(users[u], export.interest_ids[n]) for u, n in export.user_interests},
    }


def test_parallel_ingest_writes_the_same_graph_as_a_serial_one(store: GraphStore, cikg_folder: Path,
                                                               dataset_name: str) -> None:
    serial, parallel = f"{dataset_name}_serial", dataset_name
    try:
        write_dataset(store, read_cikg(cikg_folder, serial), batch_size=50, progress=False, workers=1)
        report = write_dataset(store, read_cikg(cikg_folder, parallel), batch_size=3, progress=False, workers=4)
        assert report.mode == "create"
        expected = _edges(store, serial)
        assert all(expected.values())
        assert _edges(store, parallel) == expected
        # a rerun (MERGE, endpoints again by elementId) finds every relationship and adds none
        again = write_dataset(store, read_cikg(cikg_folder, parallel), batch_size=3, progress=False, workers=4)
        assert (again.mode, again.relationships_created, again.nodes_created) == ("merge", 0, 0)
        assert _edges(store, parallel) == expected
    finally:
        store.autocommit_text(load_query("store/drop_dataset"), dataset=serial)


def test_a_relationship_naming_a_node_the_graph_lacks_stops_the_load(store: GraphStore, cikg_folder: Path,
                                                                    dataset_name: str) -> None:
    records = read_cikg(cikg_folder, dataset_name)
    user, item, *rest = records.interactions[0]
    records.interactions.append((987_654, item, *rest))
    with pytest.raises(StoreError, match="interactions of dataset .*no node among its users has id 987654"):
        write_dataset(store, records, progress=False)
    assert dataset_info(store, dataset_name)["status"] == "loading"   # a rerun of good records completes it


def _operators(plan: dict) -> list[str]:
    return [plan["operatorType"].split("@")[0]] + [op for child in plan.get("children", []) for op in _operators(child)]


def _explain(store: GraphStore, query: str) -> list[str]:
    plan = store.read_with(lambda tx: tx.run("EXPLAIN " + query, rows=[["4:x:1", "4:x:2", "4:x:3"]], dataset="small",
                                             interest_set="authors").consume().plan)
    return _operators(plan)


# the earlier form of the item-entity step, with the labels in the pattern
LABELS_IN_PATTERN = """UNWIND $rows AS row
MATCH (i:Item) WHERE elementId(i) = row[0] AND i.dataset = $dataset
MATCH (e:Entity) WHERE elementId(e) = row[1] AND e.dataset = $dataset
CREATE (i)-[:LINKED_TO]->(e)"""


def test_relationship_steps_seek_end_nodes_by_element_id_on_a_fresh_server(tmp_path: Path, cikg_folder: Path) -> None:
    """On a server whose index statistics were sampled while empty, the planner preferred an index
    scan per row to the elementId seek when the label was in the pattern (229 s for 34k links)."""
    from ingest.writer import WRITE_PLAN
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port

    server = LocalNeo4j(tmp_path / "neo4j", ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                                          heap="512m", page_cache="64m"))
    server.start()
    fresh = GraphStore(server.connection_settings())
    try:
        records = read_cikg(cikg_folder, "small")
        records.item_entities, records.interactions, records.triples, records.user_interests = [], [], [], []
        write_dataset(fresh, records, progress=False)   # nodes only; the indexes were sampled empty
        stale = _explain(fresh, LABELS_IN_PATTERN)
        assert [op for op in stale if "Index" in op], stale   # the trap is there on this server
        steps = [step for stage in WRITE_PLAN for step in stage if step.endpoints]
        assert len(steps) == 4
        for name in [query for step in steps for query in (step.query, step.create_query)]:
            operators = _explain(fresh, load_query(name))
            assert operators.count("NodeByElementIdSeek") == 2, (name, operators)
            # no other way to a node (a MERGE may still scan relationships here, where there are none)
            assert not [op for op in operators if "Index" in op or op in ("NodeByLabelScan", "AllNodesScan")], \
                (name, operators)
    finally:
        fresh.driver.close()   # this server's driver only: the session's shared store keeps its own
        server.stop()
