"""`kgrec serve` without ``model`` on a real Neo4j: recommendations, explanations and cold start use the
dataset's latest finished training run of any model (the answer names it), ``model=`` still picks the
latest run of that model, the response cache and preload follow the same rule, and a dataset with no
run is a 404 that names it and says to train first."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.explain import explain
from kg_store.settings import Neo4jSettings
from kg_store.writeback import start_training_run
from kgrec.api import ingest_cikg
from kgrec.training import TrainingOutcome, train_and_write
from serving import ServeConfig, create_app
from serving.store import ServingStore

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
TINY = {"embedding_dim": 8, "epochs": 2, "batch_size": 16}
CONFIG = ServeConfig(reload_check_seconds=0.0, max_items=5, max_k=50)


def _train(store: GraphStore, dataset: str, model: str) -> TrainingOutcome:
    return train_and_write(store, dataset, model, seeds=[2024], k=5, progress=False, **TINY)


@pytest.fixture(scope="module")
def bprmf(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TrainingOutcome]]:
    """A small dataset whose only run is a BPR-MF run (vectors included); dropped afterwards."""
    dataset = f"test_serve_def_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        ingest_cikg(store, FIXTURE, dataset)
        yield dataset, _train(store, dataset, "bprmf")
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)


@pytest.fixture(scope="module")
def serving_store(neo4j_settings: Neo4jSettings) -> Iterator[ServingStore]:
    store = ServingStore(neo4j_settings, CONFIG)
    yield store
    store.close()


@pytest.fixture()
def client(serving_store: ServingStore) -> TestClient:
    return TestClient(create_app(serving_store, CONFIG), raise_server_exceptions=False)


def _top_k(store: GraphStore, dataset: str, user: int, run_id: str) -> list[int]:
    [row] = store.read_with(lambda tx: tx.run(
        "MATCH (:User {dataset: $d, id: $u})-[t:TOP_K]->(:TrainingRun {run_id: $r}) RETURN t.items AS items",
        d=dataset, u=user, r=run_id).data())
    return row["items"]


def _cold_start_reference(store: GraphStore, dataset: str, run_id: str, items: list[int], k: int) -> list[int]:
    """The cold-start ranking scored here from the item vectors ``run_id`` left on the Item nodes."""
    rows = store.read_with(lambda tx: tx.run(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, properties(i) AS p", d=dataset).data())
    stored = {r["id"]: np.asarray(v, dtype=np.float32) for r in rows
              for key, v in r["p"].items() if key.startswith("emb_") and r["p"].get(f"{key}_run") == run_id}
    user = np.mean([stored[i] for i in items], axis=0)
    return sorted((i for i in stored if i not in items), key=lambda i: (-float(stored[i] @ user), i))[:k]


def test_without_model_every_route_uses_the_only_run(store: GraphStore, client: TestClient, bprmf) -> None:
    dataset, outcome = bprmf
    read = client.get(f"/datasets/{dataset}/users/2/recommendations", params={"k": 4})
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["model"], body["run_id"]) == ("bprmf", outcome.run_id)
    assert [i["item"] for i in body["items"]] == _top_k(store, dataset, 2, outcome.run_id)[:4]
    assert client.get(f"/datasets/{dataset}/users/2/recommendations",
                      params={"k": 4, "model": "bprmf"}).json() == body
    why = client.get(f"/datasets/{dataset}/users/0/explanations/3", params={"top": 3})
    assert why.status_code == 200
    assert why.json() == json.loads(json.dumps(explain(store, dataset, 0, 3, top=3).to_dict()))
    cold = client.post(f"/datasets/{dataset}/cold-start", json={"items": [0, 3], "k": 4})
    assert cold.status_code == 200, cold.text
    new_user = cold.json()
    assert (new_user["model"], new_user["run_id"]) == ("bprmf", outcome.run_id)
    assert [i["item"] for i in new_user["items"]] == _cold_start_reference(store, dataset, outcome.run_id, [0, 3], 4)


def test_memory_follows_the_latest_run_of_any_model(serving_store: ServingStore, bprmf) -> None:
    dataset, outcome = bprmf
    app = create_app(serving_store, ServeConfig(reload_check_seconds=60.0))
    registry = app.app.state.registry
    client = TestClient(app)
    first = client.get(f"/datasets/{dataset}/users/5/recommendations", params={"k": 4})
    assert first.status_code == 200 and first.json()["run_id"] == outcome.run_id
    assert registry.preloaded(dataset, "bprmf", outcome.run_id, timeout=30)
    held = registry.from_memory(dataset, registry.fresh(dataset, None), 5, 4)
    assert held is not None and json.loads(held) == first.json()
    assert client.get(f"/datasets/{dataset}/users/5/recommendations", params={"k": 4}).content == held
    assert client.get(f"/datasets/{dataset}/users/5/recommendations", params={"k": 4, "model": "bprmf"}).content == held


def test_the_latest_finished_run_wins_and_model_picks_another(store: GraphStore, client: TestClient,
                                                              dataset_name: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path))
    ingest_cikg(store, FIXTURE, dataset_name)
    older = _train(store, dataset_name, "lightgcn")
    url = f"/datasets/{dataset_name}"
    assert client.get(f"{url}/users/1/recommendations").json()["run_id"] == older.run_id
    newer = _train(store, dataset_name, "bprmf")
    # a run that started after both but has not finished writing is never the latest
    start_training_run(store, dataset_name, "simgcl", f"simgcl-unfinished-{uuid.uuid4().hex[:6]}")
    for params, model, run in (({}, "bprmf", newer), ({"model": "lightgcn"}, "lightgcn", older),
                               ({"model": "bprmf"}, "bprmf", newer)):
        read = client.get(f"{url}/users/1/recommendations", params={**params, "k": 3}).json()
        assert (read["model"], read["run_id"]) == (model, run.run_id), params
        assert [i["item"] for i in read["items"]] == _top_k(store, dataset_name, 1, run.run_id)[:3]
        cold = client.post(f"{url}/cold-start", json={**params, "items": [2, 5], "k": 3}).json()
        assert (cold["model"], cold["run_id"]) == (model, run.run_id), params
        assert [i["item"] for i in cold["items"]] == _cold_start_reference(store, dataset_name, run.run_id, [2, 5], 3)
    unfinished = client.get(f"{url}/users/1/recommendations", params={"model": "simgcl"})
    assert unfinished.status_code == 404 and unfinished.json()["error"]["code"] == "no_training_run"


def test_a_dataset_without_runs_is_a_404_saying_to_train(store: GraphStore, client: TestClient,
                                                         dataset_name: str) -> None:
    ingest_cikg(store, FIXTURE, dataset_name)
    for response in (client.get(f"/datasets/{dataset_name}/users/1/recommendations"),
                     client.post(f"/datasets/{dataset_name}/cold-start", json={"items": [1, 2]})):
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["code"] == "no_training_run"
        assert error["message"] == (f"Dataset '{dataset_name}' has no training run; train a model first "
                                    f"('kgrec train MODEL --dataset {dataset_name}').")
    named = client.get(f"/datasets/{dataset_name}/users/1/recommendations", params={"model": "cikgrec"}).json()
    assert "'cikgrec'" in named["error"]["message"] and dataset_name in named["error"]["message"]
    assert client.get(f"/datasets/{dataset_name}/users/0/explanations/3").status_code == 200  # graph paths only
