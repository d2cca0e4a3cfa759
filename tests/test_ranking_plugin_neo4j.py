"""A ranking model defined here joins kgrec with one ``register_model`` line: ``kgrec train tinymf``,
``kgrec.train(TinyMF, ...)``, its vectors in the graph and serving's cold start all find it through
``recommender.registry``, and nothing else names it. Real Neo4j, the small CIKG fixture."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from fastapi.testclient import TestClient

import kgrec
from kg_store.connection import GraphStore
from kg_store.errors import ConfigError
from kgrec import cli
from kgrec.api import ingest
from kgrec.cli import CliState
from recommender.data import RecData
from recommender.errors import UnknownModelError
from recommender.losses import bpr_loss
from recommender.models.base import RankingModel, xavier_embedding
from recommender.models.configs import RankingConfig
from recommender.registry import model_name, model_names, register_model, unregister_model
from serving import ServeConfig, create_app


@dataclass(frozen=True)
class TinyMFConfig(RankingConfig):
    embedding_dim: int = 8
    scale: float = 1.0               # a setting of this model only


class TinyMF(RankingModel):
    """Dot products of free user and item vectors, trained with BPR: the smallest ranking model."""

    name = "tinymf"
    config_class = TinyMFConfig

    def __init__(self, data: RecData, config: TinyMFConfig, device: torch.device):
        super().__init__(data, config, device)
        self.users = xavier_embedding(data.n_users, config.embedding_dim)
        self.items = xavier_embedding(data.n_items, config.embedding_dim)

    def batch_loss(self, users, positives, negatives, epoch):
        bpr = bpr_loss(self.users[users] * self.config.scale, self.items[positives], self.items[negatives])
        return {"total": bpr, "bpr": bpr}

    def final_embeddings(self):
        return self.users * self.config.scale, self.items


@pytest.fixture()
def tinymf(store: GraphStore) -> Iterator[type[TinyMF]]:
    """TinyMF registered for one test; unregistered and its vector indexes dropped afterwards."""
    register_model("tinymf", TinyMF)
    yield TinyMF
    unregister_model("tinymf")
    for label in ("user", "item"):
        store.autocommit_text(f"DROP INDEX embedding_{label}_tinymf IF EXISTS")


@pytest.fixture()
def ingested(store: GraphStore, dataset_name: str, cikg_folder: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path / "cache"))
    ingest(store, "cikg", cikg_folder, dataset_name, progress=False)
    return dataset_name


def test_a_registered_model_trains_through_the_cli_and_the_api(store: GraphStore, tinymf, ingested: str) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["train", "--help"], obj=CliState.with_store(store))
    assert "tinymf" in listed.output
    options = runner.invoke(cli.main, ["train", "tinymf", "--help"], obj=CliState.with_store(store)).output
    assert "--dataset" in options and "--layers" not in options and "--no-kg" not in options

    result = runner.invoke(cli.main, ["train", "tinymf", "--dataset", ingested, "--epochs", "1", "--k", "5",
                                      "--edges", "never", "--no-progress", "--json"],
                           obj=CliState.with_store(store))
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.stdout)
    recs = kgrec.recommend(ingested, user=0, model="tinymf", store=store).items
    assert [r.rank for r in recs] == [1, 2, 3, 4, 5] and {r.run_id for r in recs} == {by_cli["run_id"]}

    by_api = kgrec.train(TinyMF, ingested, store=store, epochs=1, k=3, scale=0.5, progress=False, edges="never")
    assert by_api.kind == "ranking" and by_api.model == "tinymf" and by_api.run_id != by_cli["run_id"]
    assert by_api.outcome.results[0].model.config == TinyMFConfig(scale=0.5)
    recs = kgrec.recommend(ingested, user=0, model="tinymf", store=store).items
    assert len(recs) == 3 and {r.run_id for r in recs} == {by_api.run_id}
    again = kgrec.evaluate(by_api.run_id, store=store)       # rebuilt by name from the saved run
    assert again.test == pytest.approx(by_api.outcome.results[0].test)

    vectors = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d}) WHERE u.emb_tinymf_run = $run RETURN count(u) AS n",
        d=ingested, run=by_api.run_id).single()["n"])
    assert vectors == 12
    client = TestClient(create_app(store, ServeConfig()), raise_server_exceptions=False)
    cold = client.post(f"/datasets/{ingested}/cold-start", json={"items": [0, 3], "k": 2, "model": "tinymf"})
    assert cold.status_code == 200 and cold.json()["run_id"] == by_api.run_id, cold.text
    unknown = client.post(f"/datasets/{ingested}/cold-start", json={"items": [0], "model": "notamodel"})
    assert unknown.status_code == 422 and "notamodel" in unknown.json()["error"]["message"]


def test_registration_is_undone_and_refused_twice(tinymf) -> None:
    assert "tinymf" in model_names()
    with pytest.raises(ConfigError, match="registered already"):
        register_model("tinymf", TinyMF)
    unregister_model("tinymf")
    assert "tinymf" not in model_names()
    with pytest.raises(ConfigError, match="register_model"):
        kgrec.train(TinyMF, "any", kind="ranking")
    with pytest.raises(UnknownModelError, match="register_model"):
        model_name(TinyMF)
    register_model("tinymf", TinyMF)    # the fixture unregisters it again
