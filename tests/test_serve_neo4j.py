"""`kgrec serve` end to end on a real Neo4j: vectors kept in the graph, reads, explanations, cold start
(scored independently from the stored vectors), persisted users, reloads, tokens and every bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from fixture_graphs import drop_embedding_indexes

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import ConfigError
from kg_store.explain import explain
from kg_store.local_server import free_port
from kg_store.settings import Neo4jSettings
from kgrec.api import ingest_cikg
from kgrec.training import TrainingOutcome, train_and_write
from serving import ServeConfig, create_app
from serving.store import ServingStore

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
TINY = {"embedding_dim": 8, "epochs": 2, "batch_size": 16}
CONFIG = ServeConfig(reload_check_seconds=0.0, max_items=5, max_k=50)


def _train(store: GraphStore, dataset: str, seed: int = 2024) -> TrainingOutcome:
    return train_and_write(store, dataset, "lightgcn", seeds=[seed], k=5, progress=False, **TINY)


@pytest.fixture(scope="module")
def trained(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TrainingOutcome]]:
    """A small dataset with one LightGCN run written back (vectors included); dropped afterwards."""
    dataset = f"test_serve_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        drop_embedding_indexes(store, "lightgcn")
        ingest_cikg(store, FIXTURE, dataset)
        outcome = _train(store, dataset)
        yield dataset, outcome
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)  # its training runs too


@pytest.fixture(scope="module")
def serving_store(neo4j_settings: Neo4jSettings) -> Iterator[ServingStore]:
    store = ServingStore(neo4j_settings, CONFIG)
    yield store
    store.close()


@pytest.fixture()
def client(serving_store: ServingStore) -> TestClient:
    return TestClient(create_app(serving_store, CONFIG), raise_server_exceptions=False)


def _run(store: GraphStore, run_id: str) -> dict:
    rows = store.read_with(lambda tx: tx.run("MATCH (r:TrainingRun {run_id: $id}) RETURN properties(r) AS p",
                                             id=run_id).data())
    return rows[0]["p"]


def _vectors(store: GraphStore, dataset: str, label: str) -> dict[int, list[float]]:
    assert label in ("User", "Item")  # a label cannot be a parameter: only these two are spliced in
    rows = store.read_with(lambda tx: tx.run(f"MATCH (n:{label} {{dataset: $d}}) RETURN n.id AS id, "
                                             "n.emb_lightgcn AS v, n.emb_lightgcn_run AS run", d=dataset).data())
    return {r["id"]: (r["v"], r["run"]) for r in rows}


# -- models kept in the graph -------------------------------------------------------------------------
def test_training_writes_vectors_indexes_and_the_model_location(store: GraphStore, trained) -> None:
    dataset, outcome = trained
    for label, count in (("User", 12), ("Item", 10)):
        vectors = _vectors(store, dataset, label)
        assert len(vectors) == count
        assert all(len(v) == 8 and run == outcome.run_id for v, run in vectors.values())
    run = _run(store, outcome.run_id)
    assert run["embedding_property"] == "emb_lightgcn" and run["embedding_dim"] == 8
    path = Path(run["model_path"])
    assert path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == run["model_sha256"]
    indexes = store.read_with(lambda tx: tx.run("SHOW VECTOR INDEXES YIELD name, state, options "
                                                "WHERE name STARTS WITH 'embedding_' RETURN name, state, "
                                                "options.indexConfig.`vector.dimensions` AS d").data())
    found = {r["name"]: (r["state"], r["d"]) for r in indexes}
    assert found["embedding_user_lightgcn"] == ("ONLINE", 8) and found["embedding_item_lightgcn"] == ("ONLINE", 8)
    # the index answers a nearest-neighbour query: an item's own vector finds that item first
    item_vectors = _vectors(store, dataset, "Item")
    rows = store.read_with(lambda tx: tx.run(
        "CALL db.index.vector.queryNodes('embedding_item_lightgcn', 50, $v) YIELD node, score "
        "WHERE node.dataset = $d RETURN node.id AS id", v=item_vectors[3][0], d=dataset).data())
    assert rows[0]["id"] == 3


# -- reads ----------------------------------------------------------------------------------------------
def test_health(client: TestClient) -> None:
    response = client.get("/health")
    body = response.json()
    assert response.status_code == 200 and "x-kgrec-stale" not in response.headers
    assert {k: body[k] for k in ("status", "neo4j", "stale")} == {"status": "ok", "neo4j": "up", "stale": False}


def test_recommendations_come_from_the_top_k_list_with_titles(store: GraphStore, client: TestClient, trained) -> None:
    dataset, outcome = trained
    response = client.get(f"/datasets/{dataset}/users/2/recommendations", params={"model": "lightgcn", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["run_id"] == outcome.run_id and body["user"] == 2
    [stored] = store.read_with(lambda tx: tx.run(
        "MATCH (:User {dataset: $d, id: 2})-[t:TOP_K]->(r:TrainingRun {model: 'lightgcn'}) "
        "RETURN t.items AS items, t.scores AS scores, r.run_id AS run", d=dataset).data())
    titles = {r["item"]: r["title"] for r in store.read_with(lambda tx: tx.run(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS item, i.title AS title", d=dataset).data())}
    assert stored["run"] == outcome.run_id and len(stored["items"]) == 5
    assert body["items"] == [{"item": i, "title": titles[i], "score": s, "rank": n, "run_id": outcome.run_id}
                             for n, (i, s) in enumerate(zip(stored["items"][:3], stored["scores"][:3], strict=True), 1)]
    edges = store.read_with(lambda tx: tx.run(      # the Browser view (written for a small run) agrees
        "MATCH (:User {dataset: $d, id: 2})-[r:RECOMMENDED {model: 'lightgcn'}]->(i) "
        "RETURN i.id AS item ORDER BY r.rank", d=dataset).data())
    assert [e["item"] for e in edges] == stored["items"]
    assert any(i["title"] for i in body["items"])
    assert client.get(f"/datasets/{dataset}/users/2/recommendations", params={"k": 3}).json() == body  # cached


def test_explanation_reuses_the_inspection_queries(store: GraphStore, client: TestClient, trained) -> None:
    dataset, _ = trained
    response = client.get(f"/datasets/{dataset}/users/0/explanations/3", params={"top": 3})
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(explain(store, dataset, 0, 3, top=3).to_dict()))
    assert response.json()["paths"]


def test_a_new_run_is_held_in_memory_and_answers_as_the_graph_does(serving_store: ServingStore, trained) -> None:
    """Every user, every k: the answer from the held lists is the graph path's, byte for byte."""
    dataset, outcome = trained
    held = create_app(serving_store, ServeConfig(reload_check_seconds=60.0))
    direct = create_app(serving_store, ServeConfig(preload=False, reload_check_seconds=0.0))
    registry = held.app.state.registry
    assert TestClient(held).get(f"/datasets/{dataset}/users/0/recommendations", params={"k": 4}).status_code == 200
    assert registry.preloaded(dataset, "lightgcn", outcome.run_id, timeout=30)
    memory = registry.memory(dataset, registry.fresh(dataset, None))
    assert memory.lists is not None and len(memory.lists) == 12 and memory.index is not None
    run = registry.run(dataset, "lightgcn")
    for user in range(12):
        for k in (1, 3, 4, 5, 20):
            from_memory = registry.from_memory(dataset, run, user, k)
            graph = direct.app.state.registry.recommendations(dataset, "lightgcn", user, k)
            assert from_memory == graph, (user, k)
            assert len(json.loads(from_memory)["items"]) == min(k, 5)      # the stored lists hold 5
    with TestClient(held) as client:        # and over HTTP: the fast path answers before routing
        for k in (2, 5):
            body = client.get(f"/datasets/{dataset}/users/7/recommendations", params={"k": k}).content
            assert body == registry.from_memory(dataset, run, 7, k)
    assert registry.held()["runs"] == 1 and registry.held()["bytes"] > 0


# -- cold start ----------------------------------------------------------------------------------------
def test_cold_start_scores_the_mean_of_the_stored_item_vectors(store: GraphStore, client: TestClient, trained) -> None:
    dataset, outcome = trained
    response = client.post(f"/datasets/{dataset}/cold-start", json={"items": [0, 3, 3], "k": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    stored = {i: np.asarray(v, dtype=np.float32) for i, (v, _) in _vectors(store, dataset, "Item").items()}
    user = (stored[0] + stored[3]) / 2
    expected = sorted((i for i in stored if i not in (0, 3)), key=lambda i: -float(stored[i] @ user))[:4]
    assert [i["item"] for i in body["items"]] == expected
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4]
    assert body["items"][0]["score"] == pytest.approx(float(stored[expected[0]] @ user), rel=1e-5)
    assert body["run_id"] == outcome.run_id and body["user"] is None and "mean" in body["method"]
    assert body["interests"] == [] and body["interest_set"] is None   # LightGCN: items only
    assert all("title" in i for i in body["items"])


def test_cold_start_from_memory_is_the_routes_answer(serving_store: ServingStore, trained) -> None:
    """Before routing (the fast path, once the vectors are held) and through the route: the same bytes."""
    dataset, outcome = trained
    app = create_app(serving_store, ServeConfig(reload_check_seconds=60.0, max_k=50))
    inner, routed_paths = app.app, []
    registry = inner.state.registry

    async def counted(scope, receive, send) -> None:      # what reaches the routes
        routed_paths.append(scope["path"])
        await inner(scope, receive, send)

    app.app = counted
    fast, routed = TestClient(app), TestClient(inner)
    for model in (None, "lightgcn"):        # the runs are looked up (and the run held) through the routes
        assert fast.post(f"/datasets/{dataset}/cold-start", json={"items": [1], "model": model}).status_code == 200
    assert registry.preloaded(dataset, "lightgcn", outcome.run_id, timeout=30)
    routed_paths.clear()
    for payload in ({"items": [0, 3], "k": 4}, {"items": [5], "k": 1}, {"items": [1, 2, 9, 9], "k": 50},
                    {"items": [4, 6], "model": "lightgcn"}):
        url = f"/datasets/{dataset}/cold-start"
        answers = [fast.post(url, json=payload), routed.post(url, json=payload)]
        assert [a.status_code for a in answers] == [200, 200] and answers[0].content == answers[1].content
    assert routed_paths == [] and registry.loads == 1
    bad = fast.post(f"/datasets/{dataset}/cold-start", json={"items": [1, 99]})     # errors: from the route
    assert bad.status_code == 404 and routed_paths == [f"/datasets/{dataset}/cold-start"]


def test_cold_start_can_persist_the_user(store: GraphStore, client: TestClient, trained) -> None:
    dataset, _ = trained
    body = client.post(f"/datasets/{dataset}/cold-start", json={"items": [1, 4], "k": 3, "persist": True}).json()
    assert body["user"] == 12  # the fixture's users are 0..11
    seen = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d, id: 12, cold_start: true})-[r:INTERACTED {split: 'train'}]->(i) "
        "RETURN collect(i.id) AS items", d=dataset).data())
    assert sorted(seen[0]["items"]) == [1, 4]
    again = client.get(f"/datasets/{dataset}/users/12/recommendations", params={"k": 3}).json()
    assert [i["item"] for i in again["items"]] == [i["item"] for i in body["items"]]
    [kept] = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d, id: 12}) RETURN COLLECT { MATCH (u)-[t:TOP_K]->(r) "
        "RETURN [r.run_id, t.items] } AS lists, COUNT { (u)-[:RECOMMENDED]->() } AS edges", d=dataset).data())
    assert kept == {"lists": [[body["run_id"], [i["item"] for i in body["items"]]]], "edges": 0}
    store.autocommit_text("MATCH (u:User {dataset: $d, id: 12}) DETACH DELETE u", d=dataset)


# -- bad input -------------------------------------------------------------------------------------------
BAD = [
    ("get", "/datasets/no_such_set/users/1/recommendations", None, 404, "unknown_dataset"),
    ("get", "/datasets/{d}/users/999/recommendations", None, 404, "unknown_user"),
    ("get", "/datasets/{d}/users/1/recommendations?model=bprmf", None, 404, "no_training_run"),
    ("get", "/datasets/{d}/users/1/recommendations?k=51", None, 422, "invalid_request"),
    ("get", "/datasets/{d}/users/1/recommendations?k=0", None, 422, "invalid_request"),
    ("get", "/datasets/{d}/users/one/recommendations", None, 422, "invalid_request"),
    ("get", "/datasets/bad..name/users/1/recommendations", None, 422, "invalid_name"),
    ("get", "/datasets/{d}/users/1/explanations/99", None, 404, "unknown_item"),
    ("get", "/datasets/{d}/users/999/explanations/1", None, 404, "unknown_user"),
    ("get", "/datasets/no_such_set/users/1/explanations/1", None, 404, "unknown_dataset"),
    ("post", "/datasets/{d}/cold-start", {"items": [1, 99, 98]}, 404, "unknown_item"),
    ("post", "/datasets/{d}/cold-start", {"items": []}, 422, "invalid_request"),
    ("post", "/datasets/{d}/cold-start", {"items": [0, 1, 2, 3, 4, 5]}, 422, "invalid_request"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "model": "bprmf"}, 404, "no_training_run"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "model": "DROP me"}, 422, "invalid_request"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "extra": 1}, 422, "invalid_request"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "interests": [0, 1, 2, 3, 4, 5]}, 422, "invalid_request"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "interests": ["x"]}, 422, "invalid_request"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "interests": [20]}, 409, "no_interest_embeddings"),
    ("post", "/datasets/{d}/cold-start", {"items": [1], "infer_interests": True}, 409, "no_interest_embeddings"),
    ("post", "/datasets/no_such_set/cold-start", {"items": [1]}, 404, "unknown_dataset"),
    ("get", "/no/such/route", None, 404, "http_error"),
]


@pytest.mark.parametrize(("method", "path", "payload", "status", "code"), BAD,
                         ids=[f"{m} {p} {c}" for m, p, _, _, c in BAD])
def test_bad_input_is_a_clear_json_error(client: TestClient, trained, method: str, path: str, payload, status: int,
                                         code: str) -> None:
    dataset, _ = trained
    url = path.replace("{d}", dataset)
    response = client.post(url, json=payload) if method == "post" else client.get(url)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["status"] == status
    assert error["message"] and "Traceback" not in response.text
    if code == "unknown_item" and method == "post":
        assert "99" in error["message"] and "98" in error["message"]
    if path.endswith("cold-start") and payload == {"items": []}:
        assert "items" in error["message"]


def test_the_server_stays_up_after_errors(client: TestClient, trained) -> None:
    dataset, _ = trained
    for _ in range(3):
        assert client.post(f"/datasets/{dataset}/cold-start", json={"items": []}).status_code == 422
    assert client.post(f"/datasets/{dataset}/cold-start", json={"items": [2]}).status_code == 200


# -- reload --------------------------------------------------------------------------------------------
def test_vectors_load_once_and_reload_on_a_newer_run(store: GraphStore, serving_store: ServingStore, trained,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, first = trained
    app = create_app(serving_store, CONFIG)
    client = TestClient(app)
    for _ in range(3):
        assert client.post(f"/datasets/{dataset}/cold-start", json={"items": [2, 5]}).json()["run_id"] == first.run_id
    assert app.app.state.registry.loads == 1
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path))
    second = _train(store, dataset, seed=7)
    body = client.post(f"/datasets/{dataset}/cold-start", json={"items": [2, 5]}).json()
    assert body["run_id"] == second.run_id != first.run_id
    assert app.app.state.registry.loads == 2
    read = client.get(f"/datasets/{dataset}/users/2/recommendations", params={"k": 3}).json()
    assert read["run_id"] == second.run_id and {i["run_id"] for i in read["items"]} == {second.run_id}
    runs = store.read_with(lambda tx: tx.run(       # the first run's lists went once the second's were written
        "MATCH (:User {dataset: $d})-[:TOP_K]->(r:TrainingRun) RETURN DISTINCT r.run_id AS run", d=dataset).data())
    assert runs == [{"run": second.run_id}]


# -- tokens and binding --------------------------------------------------------------------------------
def test_a_configured_token_is_required(serving_store: ServingStore, trained) -> None:
    dataset, _ = trained
    config = ServeConfig(token="s3cret-token", reload_check_seconds=0.0)
    client = TestClient(create_app(serving_store, config))
    url = f"/datasets/{dataset}/users/1/recommendations"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer wrong"}).json()["error"]["code"] == "unauthorized"
    for _ in range(2):  # the second answer comes from the response cache, which checks the token too
        assert client.get(url, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert client.get(url, headers={"Authorization": "Bearer s3cret-tokem"}).status_code == 401
        assert client.get(url).status_code == 401
    assert client.get("/health").status_code == 200
    assert "s3cret" not in repr(config)


def test_binding_beyond_localhost_needs_a_token() -> None:
    ServeConfig().check_bind()
    ServeConfig(host="0.0.0.0", token="t").check_bind()
    with pytest.raises(ConfigError, match="KGREC_SERVE_TOKEN"):
        ServeConfig(host="0.0.0.0").check_bind()


def test_cli_serve_answers_over_http_and_refuses_an_open_bind(cli_env: dict[str, str], trained) -> None:
    dataset, _ = trained
    env = {k: v for k, v in cli_env.items() if k != "KGREC_SERVE_TOKEN"}
    refused = subprocess.run([sys.executable, "-m", "kgrec.cli", "serve", "--host", "0.0.0.0"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "KGREC_SERVE_TOKEN" in refused.stderr
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = _get_when_up(f"http://127.0.0.1:{port}/datasets/{dataset}/users/1/recommendations?k=2")
        assert body["user"] == 1 and len(body["items"]) == 2
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert cli_env["NEO4J_PASSWORD"] not in stderr


def test_cli_serve_with_two_worker_processes(cli_env: dict[str, str], trained) -> None:
    """``--workers 2``: two processes accept on one port, each answering from its own memory."""
    dataset, _ = trained
    env = {k: v for k, v in cli_env.items() if k != "KGREC_SERVE_TOKEN"}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/datasets/{dataset}"
        latest = _get_when_up(f"{base}/users/1/recommendations?k=2")["run_id"]
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        workers = [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(workers) == 2, children
        for user in range(12):      # whichever process answers: the stored list
            body = _get_when_up(f"{base}/users/{user}/recommendations?k=3")
            assert (body["user"], body["run_id"], len(body["items"])) == (user, latest, 3)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert cli_env["NEO4J_PASSWORD"] not in stderr


def _get_when_up(url: str, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)

