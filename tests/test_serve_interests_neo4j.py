"""Cold start with interests on a real Neo4j: a tiny CIKGRec run leaves its final interest vectors on the
Interest nodes of the set it trained with; the cold-start route aggregates given or inferred interests
with the items (checked against numpy on the stored vectors); and the errors for unknown interests and
for models without interest vectors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from fixture_graphs import drop_embedding_indexes

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.embeddings import embedding_keys
from kg_store.interest_sets import write_interest_set
from kg_store.settings import Neo4jSettings
from kgrec.api import ingest_cikg
from kgrec.training import TrainingOutcome, train_and_write
from serving import ServeConfig, create_app
from serving.store import ServingStore

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
TINY = {"embedding_dim": 8, "epochs": 2, "batch_size": 16}
CONFIG = ServeConfig(reload_check_seconds=0.0, max_items=5, max_k=50)
SET = "handmade"
LABELS = {0: "jazz", 1: "poetry", 2: "space", 3: "cooking"}
# users 0..11 of the fixture -> {interest: weight}. Item 9 is held by users 4, 5, 9 (test) and 7, 10 (train):
# space 1 + .5 + 1 + 1 = 3.5, cooking .5 + 1 = 1.5, jazz .4 (user 10), poetry .2 (user 7).
WEIGHTS = {0: {0: 1.0}, 1: {1: 1.0}, 2: {3: 1.0}, 3: {1: 1.0}, 4: {2: 1.0}, 5: {2: 0.5, 3: 0.5}, 6: {0: 1.0},
           7: {2: 1.0, 1: 0.2}, 8: {0: 1.0}, 9: {3: 1.0}, 10: {2: 1.0, 0: 0.4}, 11: {1: 1.0}}


@dataclass
class Cluster:
    id: int
    label: str
    phrases: list[str] = field(default_factory=list)


@dataclass
class Clustering:
    clusters: list[Cluster]
    user_weights: dict[int, dict[int, float]]


@pytest.fixture(scope="module")
def runs(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TrainingOutcome]]:
    """The CIKG fixture with a hand-built interest set, one CIKGRec run on that set and one LightGCN run."""
    dataset = f"test_serve_int_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        drop_embedding_indexes(store, "cikgrec", "lightgcn")
        ingest_cikg(store, FIXTURE, dataset)
        write_interest_set(store, dataset, SET, Clustering([Cluster(i, label) for i, label in LABELS.items()], WEIGHTS))
        outcome = train_and_write(store, dataset, "cikgrec", seeds=[2024], k=5, progress=False,
                                  interest_set=SET, **TINY)
        train_and_write(store, dataset, "lightgcn", seeds=[2024], k=5, progress=False, **TINY)
        yield dataset, outcome
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)  # its training runs too


@pytest.fixture(scope="module")
def client(neo4j_settings: Neo4jSettings) -> Iterator[TestClient]:
    store = ServingStore(neo4j_settings, CONFIG)
    yield TestClient(create_app(store, CONFIG), raise_server_exceptions=False)
    store.close()


def _stored(store: GraphStore, dataset: str, label: str, interest_set: str | None = None) -> dict[int, tuple]:
    """Stored vectors by id, of one interest set when given."""
    assert label in ("Item", "Interest")  # a label cannot be a parameter: only these two are spliced in
    rows = store.read_with(lambda tx: tx.run(
        f"MATCH (n:{label} {{dataset: $d}}) WHERE $set IS NULL OR n.set = $set RETURN n.id AS id, "
        "n.emb_cikgrec AS v, n.emb_cikgrec_run AS run", d=dataset, set=interest_set).data())
    return {r["id"]: (r["v"], r["run"]) for r in rows}


def _matrix(stored: dict[int, tuple]) -> dict[int, np.ndarray]:
    return {i: np.asarray(v, dtype=np.float32) for i, (v, _) in stored.items()}


def _reference(items: dict[int, np.ndarray], user: np.ndarray, named: set[int], k: int) -> list[int]:
    return sorted((i for i in items if i not in named), key=lambda i: (-float(items[i] @ user), i))[:k]


def test_a_cikgrec_run_writes_interest_vectors_on_its_set(store: GraphStore, runs) -> None:
    dataset, outcome = runs
    mine = _stored(store, dataset, "Interest", SET)
    assert sorted(mine) == [0, 1, 2, 3]
    assert all(v is not None and len(v) == 8 and run == outcome.run_id for v, run in mine.values())
    authors = _stored(store, dataset, "Interest", "authors")
    assert authors and all(v is None and run is None for v, run in authors.values())   # not the trained set
    run = store.read_with(lambda tx: tx.run("MATCH (r:TrainingRun {run_id: $id}) RETURN properties(r) AS p",
                                            id=outcome.run_id).data())[0]["p"]
    assert run["interest_set"] == SET and run["embedding_interests"] == 4
    [index] = store.read_with(lambda tx: tx.run(
        "SHOW VECTOR INDEXES YIELD name, state, labelsOrTypes, properties, options WHERE name = "
        "'embedding_interest_cikgrec' RETURN state, labelsOrTypes AS labels, properties, "
        "options.indexConfig.`vector.dimensions` AS d").data())
    assert index == {"state": "ONLINE", "labels": ["Interest"], "properties": ["emb_cikgrec"], "d": 8}
    lightgcn = store.read_with(lambda tx: tx.run(      # a model without interest nodes writes none
        "MATCH (n:Interest {dataset: $d}) WHERE n.emb_lightgcn IS NOT NULL RETURN count(n) AS n", d=dataset).data())
    assert lightgcn == [{"n": 0}]


def test_given_interests_enter_the_mean_and_change_the_ranking(store: GraphStore, client: TestClient, runs) -> None:
    dataset, outcome = runs
    items = _matrix(_stored(store, dataset, "Item"))
    interests = _matrix(_stored(store, dataset, "Interest", SET))
    url = f"/datasets/{dataset}/cold-start"
    plain = client.post(url, json={"model": "cikgrec", "items": [0, 3], "k": 8}).json()
    assert plain["interests"] == [] and plain["interest_set"] is None and "mean" in plain["method"]
    assert [i["item"] for i in plain["items"]] == _reference(items, (items[0] + items[3]) / 2, {0, 3}, 8)
    changed = 0
    for interest in LABELS:
        response = client.post(url, json={"model": "cikgrec", "items": [0, 3], "interests": [interest], "k": 8})
        assert response.status_code == 200, response.text
        body = response.json()
        user = (items[0] + items[3] + interests[interest]) / 3
        expected = _reference(items, user, {0, 3}, 8)
        assert [i["item"] for i in body["items"]] == expected
        assert [i["score"] for i in body["items"]] == pytest.approx([float(items[i] @ user) for i in expected],
                                                                    rel=1e-5)
        assert body["interests"] == [{"id": interest, "label": LABELS[interest], "inferred": False}]
        assert body["interest_set"] == SET and body["run_id"] == outcome.run_id
        assert "interests" in body["method"] and "propagation" in body["method"]
        changed += [i["item"] for i in body["items"]] != [i["item"] for i in plain["items"]]
    assert changed, "no interest changed the ranking"


def test_infer_interests_reads_the_most_held_interests_of_the_items_users(store: GraphStore, client: TestClient,
                                                                          runs) -> None:
    dataset, _ = runs
    items = _matrix(_stored(store, dataset, "Item"))
    interests = _matrix(_stored(store, dataset, "Interest", SET))
    body = client.post(f"/datasets/{dataset}/cold-start",
                       json={"model": "cikgrec", "items": [9], "infer_interests": True, "k": 5}).json()
    assert body["interests"] == [{"id": 2, "label": "space", "inferred": True},
                                 {"id": 3, "label": "cooking", "inferred": True},
                                 {"id": 0, "label": "jazz", "inferred": True}]
    user = (items[9] + interests[2] + interests[3] + interests[0]) / 4
    assert [i["item"] for i in body["items"]] == _reference(items, user, {9}, 5)
    # given and inferred together: a given one is not repeated, and counts as given
    both = client.post(f"/datasets/{dataset}/cold-start",
                       json={"model": "cikgrec", "items": [9], "interests": [3, 1], "infer_interests": True}).json()
    assert [(i["id"], i["inferred"]) for i in both["interests"]] == [(3, False), (1, False), (2, True), (0, True)]


def test_an_unknown_interest_is_a_404_naming_it(client: TestClient, runs) -> None:
    dataset, _ = runs
    response = client.post(f"/datasets/{dataset}/cold-start",
                           json={"model": "cikgrec", "items": [1], "interests": [2, 77, 78]})
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "unknown_interest" and "77" in error["message"] and "78" in error["message"]
    assert SET in error["message"]


@pytest.mark.parametrize("payload", [{"interests": [2]}, {"infer_interests": True}, {"interests": []}])
def test_interests_on_a_model_without_interest_vectors_is_a_409(client: TestClient, runs, payload: dict) -> None:
    dataset, _ = runs
    response = client.post(f"/datasets/{dataset}/cold-start", json={"model": "lightgcn", "items": [1], **payload})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "no_interest_embeddings" and "interest vectors" in error["message"]
    assert client.post(f"/datasets/{dataset}/cold-start", json={"model": "lightgcn", "items": [1]}).status_code == 200


def test_interests_inferred_from_memory_are_the_graph_querys(store: GraphStore, client: TestClient, runs) -> None:
    """The item x interest weights held in memory rank interests as ``serving/infer_interests`` does."""
    dataset, outcome = runs
    assert client.post(f"/datasets/{dataset}/cold-start",
                       json={"model": "cikgrec", "items": [9], "infer_interests": True}).status_code == 200
    registry = client.app.app.state.registry
    run = registry.run(dataset, "cikgrec")
    index, interests = registry.vectors(dataset, "cikgrec")[1], registry.interests(dataset, run)
    neighbours = registry.neighbours(dataset, run)
    keys = embedding_keys("cikgrec")
    rng = np.random.default_rng(3)
    for items in [[i] for i in range(10)] + [sorted(rng.choice(10, size=n, replace=False).tolist())
                                             for n in (2, 3, 4, 6) for _ in range(3)]:
        for limit in (1, 3, 4):
            graph = store.read("serving/infer_interests", dataset=dataset, items=items, interest_set=SET,
                               property=keys.property, run_property=keys.run_property, run_id=outcome.run_id,
                               limit=limit)
            held = neighbours.infer(index.rows(dataset, items), interests, limit)
            assert held == [row["id"] for row in graph], (items, limit)
