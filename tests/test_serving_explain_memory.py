"""Explanations from memory on a real Neo4j: for every user and item of a small dataset (with a KG
self-loop, parallel edges, a named entity, a labelled and unlabelled interests in two sets, an item
without any path and a user without items), the arrays give the Cypher path's explanation byte for
byte; the server answers from them, falls back to the graph for what they lack, reloads them on a new
dataset version and keeps answering them, marked stale, while Neo4j is down."""

from __future__ import annotations

import gc
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.explain import explain
from kg_store.settings import Neo4jSettings
from kgrec.api import ingest_cikg
from kgrec.training import TrainingOutcome, train_and_write
from serving import ServeConfig, create_app
from serving.explain_memory import ExplainGraph, load_explain_graph
from serving.explain_paths import explain_held
from serving.explanations import render
from serving.store import ServingStore

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
LONELY, IDLE = 10, 12           # an item without any edge, a user without any edge
EDITS = [  # what the fixture lacks: every case the arrays must reproduce
    "MATCH (i:Item {dataset: $d, id: 9}) SET i.title = 'Target Book'",
    "MATCH (n:Interest {dataset: $d, id: 24}) SET n.label = 'Test label'",
    "MATCH (e:Entity {dataset: $d, id: 17}) SET e.name = 'Named entity'",
    "MATCH (e:Entity {dataset: $d}) WHERE e.id IN [7, 16] CREATE (e)-[:TYPE]->(e)",         # self-loops
    "MATCH (a:Entity {dataset: $d, id: 4}), (b:Entity {dataset: $d, id: 7}) CREATE (a)-[:AUTHOR]->(b)",   # item to item
    "MATCH (a:Entity {dataset: $d, id: 9}), (b:Entity {dataset: $d, id: 12}) CREATE (a)-[:AUTHOR]->(b)",  # parallel
    "CREATE (:Item {dataset: $d, id: 10, title: 'Lonely'}), (:User {dataset: $d, id: 12})",
    "CREATE (:Interest {dataset: $d, set: 'extra', id: 1})",
    "MATCH (n:Interest {dataset: $d, set: 'extra', id: 1}), (u:User {dataset: $d}) WHERE u.id IN [0, 2, 5, 7] "
    "CREATE (u)-[:HAS_INTEREST {set: 'extra', weight: 0.5 + u.id}]->(n)",
    "MATCH (n:Interest {dataset: $d, set: 'extra', id: 1}), (u:User {dataset: $d, id: 0}) "
    "CREATE (u)-[:HAS_INTEREST {set: 'extra', weight: 3.25}]->(n)",                        # max of two weights
]


@pytest.fixture(scope="module")
def dataset(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TrainingOutcome]]:
    name = f"test_explain_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        ingest_cikg(store, FIXTURE, name, progress=False)
        for edit in EDITS:
            store.autocommit_text(edit, d=name)
        outcome = train_and_write(store, name, "lightgcn", seeds=[1], k=5, progress=False, embedding_dim=8,
                                  epochs=1, batch_size=16)
        yield name, outcome
    store.autocommit_text(load_query("store/drop_dataset"), dataset=name)


@pytest.fixture(scope="module")
def graph(store: GraphStore, dataset) -> ExplainGraph:
    name, _ = dataset
    return load_explain_graph(store, name, dataset_info(store, name)["version"])


def _pairs(graph: ExplainGraph) -> list[tuple[int, int]]:
    return [(user, item) for user in graph.user_ids.tolist() for item in graph.item_ids.tolist()]


def test_every_user_and_item_as_the_cypher_path_gives_it(store: GraphStore, dataset, graph: ExplainGraph) -> None:
    name, _ = dataset
    assert (len(graph.user_ids), len(graph.item_ids)) == (13, 11)
    kinds, texts = set(), []
    for user, item in _pairs(graph):
        for top in (1, 3, 50):
            want = explain(store, name, user, item, top=top)
            got = explain_held(graph, user, item, top)
            assert got is not None and render(got) == render(want), (user, item, top)
            assert got.to_dict() == want.to_dict()
            kinds |= {path.kind for path in got.paths}
            texts += [path.text for path in got.paths]
        if item == LONELY or user == IDLE:
            assert not want.paths and all(s.paths == 0 and s.score == 0 for s in want.summary.values())
    assert kinds == {"interest", "kg", "collaborative"}
    assert any("Named entity" in t for t in texts) and any('interest "Test label"' in t for t in texts)
    assert any("interest extra/1 (members read " in t for t in texts)
    assert any("interest authors/" in t for t in texts)
    for item, seen, relations in ((7, 4, ["AUTHOR", "TYPE"]), (4, 7, ["TYPE", "AUTHOR"])):   # a loop either side
        assert [p for p in explain_held(graph, 0, item, 50).paths if p.kind == "kg" and p.steps[1]["id"] == seen
                and p.steps[2]["id"] == 7 and p.steps[2]["relations"] == relations]


def test_cut_at_max_paths_counts_and_sums_as_the_graph(store: GraphStore, dataset, graph: ExplainGraph) -> None:
    name, _ = dataset
    truncated = 0
    for user, item in _pairs(graph):
        want = explain(store, name, user, item, top=2, max_paths=2)
        got = explain_held(graph, user, item, 2, max_paths=2)
        assert got.summary == want.summary, (user, item)
        truncated += sum(s.truncated for s in got.summary.values())
    assert truncated


def test_render_is_the_json_of_to_dict(graph: ExplainGraph) -> None:
    found = explain_held(graph, 0, 9, 5)
    assert render(found) == json.dumps(found.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
    assert explain_held(graph, 999, 9, 5) is None and explain_held(graph, 0, 999, 5) is None


def _held_app(store: ServingStore, name: str, outcome: TrainingOutcome, config: ServeConfig) -> TestClient:
    app = create_app(store, config)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get(f"/datasets/{name}/users/0/recommendations").status_code == 200
    registry = app.app.state.registry
    assert registry.preloaded(name, "lightgcn", outcome.run_id, timeout=60)
    assert registry.counts["explanations"] == 1 and registry.held()["bytes"] > registry.explanations.nbytes > 0
    assert gc.get_freeze_count() > 0        # what the preload left is out of the collector's full passes
    return client


@pytest.fixture()
def serving_store(neo4j_settings: Neo4jSettings) -> Iterator[ServingStore]:
    store = ServingStore(neo4j_settings, ServeConfig(neo4j_probe_seconds=3600.0))   # down stays down
    yield store
    store.close()


def test_the_server_answers_from_memory_and_from_the_graph_what_memory_lacks(
        store: GraphStore, serving_store: ServingStore, dataset) -> None:
    name, outcome = dataset
    client = _held_app(serving_store, name, outcome, ServeConfig(reload_check_seconds=60.0))
    for user, item, top in ((0, 9, 3), (3, 6, 5), (5, 2, 1), (1, LONELY, 5)):
        response = client.get(f"/datasets/{name}/users/{user}/explanations/{item}", params={"top": top})
        assert response.status_code == 200 and "x-kgrec-stale" not in response.headers
        assert response.content == render(explain(store, name, user, item, top=top))
    fast = client.app._read({"path": f"/datasets/{name}/users/0/explanations/9", "query_string": b"top=3",
                             "headers": []})                             # before routing, on the event loop
    routed = client.get(f"/datasets/{name}/users/0/explanations/9", params={"top": 3, "other": 1})
    assert fast == routed.content == render(explain(store, name, 0, 9, top=3))
    store.autocommit_text("MATCH (i:Item {dataset: $d, id: 9}) CREATE (:User {dataset: $d, id: 50})-[:INTERACTED "
                          "{split: 'train'}]->(i)", d=name)                   # no version bump: memory lacks it
    try:
        newcomer = client.get(f"/datasets/{name}/users/50/explanations/9")
        assert newcomer.status_code == 200 and newcomer.json()["user"] == 50
        assert newcomer.content == render(explain(store, name, 50, 9, top=5))
        assert client.get(f"/datasets/{name}/users/999/explanations/9").json()["error"]["code"] == "unknown_user"
        serving_store.neo4j.mark_down(RuntimeError("stopped for the test"))
        for params in ({"top": 3}, {"top": 3, "other": 1}):              # before routing, and the route
            down = client.get(f"/datasets/{name}/users/0/explanations/9", params=params)
            assert down.status_code == 200 and down.headers["x-kgrec-stale"] == "true"
            assert down.content == render(explain(store, name, 0, 9, top=3))
        needs_graph = client.get(f"/datasets/{name}/users/50/explanations/9")
        assert needs_graph.status_code == 503 and needs_graph.json()["error"]["code"] == "neo4j_unavailable"
    finally:
        store.autocommit_text("MATCH (u:User {dataset: $d, id: 50}) DETACH DELETE u", d=name)


def test_a_new_dataset_version_reloads_the_arrays(store: GraphStore, neo4j_settings: Neo4jSettings, dataset) -> None:
    name, outcome = dataset
    serving = ServingStore(neo4j_settings, ServeConfig())
    try:
        client = _held_app(serving, name, outcome, ServeConfig(reload_check_seconds=0.0))
        registry = client.app.app.state.registry
        store.autocommit_text("MATCH (n:Interest {dataset: $d, id: 24}) SET n.label = 'Relabelled'", d=name)
        store.autocommit_text("MATCH (d:Dataset {name: $d}) SET d.version = d.version + 1", d=name)
        assert client.get(f"/datasets/{name}/users/0/explanations/9").content == render(explain(store, name, 0, 9))
        deadline = time.monotonic() + 60
        while registry.counts["explanations"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert registry.counts["explanations"] == 2
        assert registry.explanations.held(name, wait=True).interests.labels.count("Relabelled") == 1
        answer = client.get(f"/datasets/{name}/users/0/explanations/9", params={"top": 50})
        assert answer.content == render(explain(store, name, 0, 9, top=50)) and b"Relabelled" in answer.content
    finally:
        store.autocommit_text("MATCH (n:Interest {dataset: $d, id: 24}) SET n.label = 'Test label'", d=name)
        serving.close()
