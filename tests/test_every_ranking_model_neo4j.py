"""Every registered ranking model trains end to end on the small CIKG fixture, through ``kgrec train
<model>`` and through ``kgrec.train``: its run is recorded, its vectors and top-K lists are in the
graph. Parametrized over ``recommender.registry.model_names()``, so a newly registered model is covered
without editing this file. Real Neo4j; one dataset ingested for the module, dropped afterwards."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import kgrec
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.embeddings import embedding_keys, load_item_vectors
from kg_store.run_ids import run_record
from kg_store.writeback import training_runs
from kgrec import cli
from kgrec.api import ingest
from kgrec.cli import CliState
from recommender.registry import model_names, model_spec

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
#: KG models that need the KG; CIKGRec trains without it, its KG parts off (tests/test_train_cli.py)
NEEDS_KG = [m for m in model_names() if "kg" in model_spec(m).uses and m != "cikgrec"]


def _count(store: GraphStore, query: str, **params: object) -> int:
    return store.read_with(lambda tx: tx.run(query, **params).single()["n"])


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exports, checkpoints and saved models of this module in a folder of its own."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("cache")
        patch.setenv("KGREC_CACHE_DIR", str(folder))
        yield folder


def _ingested(store: GraphStore, folder: Path) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:10]}"
    ingest(store, "cikg", folder, name, progress=False)
    yield name
    store.autocommit_text(load_query("store/drop_dataset"), dataset=name)


@pytest.fixture(scope="module")
def fixture_dataset(store: GraphStore, module_cache: Path) -> Iterator[str]:
    """The cikg_small fixture (KG, interests, train/test), shared by every model's test."""
    yield from _ingested(store, FIXTURE)


@pytest.fixture(scope="module")
def dataset_without_kg(store: GraphStore, module_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same fixture without its kg_final.txt: ingested with no KG triples (has_kg false)."""
    folder = tmp_path_factory.mktemp("no_kg")
    for source in FIXTURE.iterdir():
        if source.name != "kg_final.txt":
            (folder / source.name).write_bytes(source.read_bytes())
    yield from _ingested(store, folder)


def test_train_help_lists_every_registered_model(store: GraphStore) -> None:
    listed = CliRunner().invoke(cli.main, ["train", "--help"], obj=CliState.with_store(store))
    assert listed.exit_code == 0, listed.output
    commands = {line.split()[0] for line in listed.output.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert set(model_names()) <= commands


@pytest.mark.parametrize("model", model_names())
def test_model_trains_through_the_cli(store: GraphStore, fixture_dataset: str, model: str) -> None:
    result = CliRunner().invoke(cli.main, ["train", model, "--dataset", fixture_dataset, "--epochs", "1", "--k", "5",
                                           "--set", "embedding_dim=8", "--edges", "never", "--no-progress",
                                           "--json"],
                                obj=CliState.with_store(store))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"] == "valid" and set(report["test_mean_std"]) >= {"recall@20", "ndcg@50"}
    assert all(0.0 <= v["mean"] <= 1.0 for v in report["test_mean_std"].values())
    recorded = run_record(store, report["run_id"])
    assert recorded["model"] == model and recorded["finished"] is not None
    recs = kgrec.recommend(fixture_dataset, user=0, model=model, store=store).items
    assert [r.rank for r in recs] == [1, 2, 3, 4, 5] and {r.run_id for r in recs} == {report["run_id"]}


@pytest.mark.parametrize("model", model_names())
def test_model_trains_through_the_api(store: GraphStore, fixture_dataset: str, model: str) -> None:
    run = kgrec.train(model, fixture_dataset, store=store, epochs=2, embedding_dim=8, k=3, progress=False,
                      edges="never")
    assert run.kind == "ranking" and run.model == model and run.seeds == [2024]
    assert run.outcome.results[0].model.config.embedding_dim == 8
    assert run.run_id in {row["run_id"] for row in training_runs(store, fixture_dataset)}
    assert run_record(store, run.run_id)["model"] == model
    # the final vectors' width is the model's (KGAT concatenates its layers), the same for users and items
    users, width = run.outcome.results[0].model.final_embeddings()[0].shape
    items = _count(store, "MATCH (i:Item {dataset: $d}) RETURN count(i) AS n", d=fixture_dataset)
    assert load_item_vectors(store, fixture_dataset, model, run.run_id).vectors.shape == (items, width)
    keys = embedding_keys(model)
    with_vectors = _count(store, "MATCH (u:User {dataset: $d}) WHERE u[$run_property] = $run AND size(u[$property]) = $w "
                                 "RETURN count(u) AS n", d=fixture_dataset, run=run.run_id, w=width,
                          run_property=keys.run_property, property=keys.property)
    assert with_vectors == users == _count(store, "MATCH (u:User {dataset: $d}) RETURN count(u) AS n", d=fixture_dataset)
    recs = kgrec.recommend(fixture_dataset, user=0, model=model, store=store).items
    assert len(recs) == 3 and {r.run_id for r in recs} == {run.run_id}
    assert kgrec.evaluate(run.run_id, store=store).test == pytest.approx(run.outcome.results[0].test)


@pytest.mark.parametrize("model", NEEDS_KG)
def test_kg_model_on_a_dataset_without_kg_names_model_and_dataset(store: GraphStore, dataset_without_kg: str,
                                                                  model: str) -> None:
    result = CliRunner().invoke(cli.main, ["train", model, "--dataset", dataset_without_kg, "--epochs", "1",
                                           "--no-write", "--no-progress"], obj=CliState.with_store(store))
    assert result.exit_code != 0 and "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("Error: ") and dataset_without_kg in message and "knowledge graph" in message
    # the registered name or the paper's (CKE, KGRec for kgrec-sr), in any case
    assert any(re.search(rf"\b{re.escape(name)}\b", message.lower()) for name in (model, model.split("-")[0])), message


def test_cold_start_refuses_a_model_that_scores_by_distance(store: GraphStore, fixture_dataset: str) -> None:
    """Cold start ranks by dot products of stored vectors; CFKG scores by translation distance."""
    from fastapi.testclient import TestClient

    from serving import ServeConfig

    for model in ("lightgcn", "cfkg"):
        kgrec.train(model, fixture_dataset, store=store, epochs=1, embedding_dim=8, k=3, progress=False, edges="never")
    client = TestClient(kgrec.create_app(store, ServeConfig()), raise_server_exceptions=False)
    answer = client.post(f"/datasets/{fixture_dataset}/cold-start", json={"items": [0], "k": 2, "model": "cfkg"})
    assert answer.status_code == 422 and "dot product" in answer.json()["error"]["message"], answer.text
    served = client.post(f"/datasets/{fixture_dataset}/cold-start", json={"items": [0], "k": 2, "model": "lightgcn"})
    assert served.status_code == 200 and len(served.json()["items"]) == 2, served.text
