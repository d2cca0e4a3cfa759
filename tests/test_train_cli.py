"""``kgrec train``/``recommend``/``evaluate`` end to end on a real Neo4j with the small fixture."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import kgrec.training as training
from kg_store.graph_export import GraphExport
from recommender.trainer import TrainResult


def kgrec(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kgrec.cli", *args], env=env, capture_output=True, text=True)


def test_train_writes_recommendations_and_a_run(store, cli_env, dataset_name, cikg_folder: Path, tmp_path) -> None:
    env = {**cli_env, "KGREC_CACHE_DIR": str(tmp_path / "cache")}
    assert kgrec("ingest", "cikg", str(cikg_folder), "--dataset", dataset_name, "--no-progress", env=env).returncode == 0
    result = kgrec("train", "cikgrec", "--dataset", dataset_name, "--epochs", "3", "--seeds", "2", "--k", "5",
                   "--layers", "2", "--no-progress", "--json", "--edges", "never", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["seeds"] == [2024, 2025]
    assert set(report["test_mean_std"]) >= {"recall@20", "ndcg@50", "recall@100"}
    assert all(0.0 <= v["mean"] <= 1.0 for v in report["test_mean_std"].values())
    recs = json.loads(kgrec("recommend", "--dataset", dataset_name, "--user", "0", "--json", env=env).stdout)
    assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5]
    assert all(r["model"] == "cikgrec" and r["run_id"] == report["run_id"] for r in recs)
    edges = store.read_with(lambda tx: tx.run(     # --edges never: the TOP_K lists only
        "MATCH (:User {dataset: $d})-[r:RECOMMENDED]->() RETURN count(r) AS n", d=dataset_name).single()["n"])
    assert edges == 0
    train_items = {int(x) for x in (cikg_folder / "train.txt").read_text().splitlines()[0].split()[1:]}
    assert not train_items & {r["item"] for r in recs}  # known items are never recommended
    runs = json.loads(kgrec("evaluate", "--dataset", dataset_name, "--json", env=env).stdout)
    assert runs[0]["run_id"] == report["run_id"]
    recomputed = json.loads(kgrec("evaluate", "--dataset", dataset_name, "--run-id", report["run_id"], env=env).stdout)
    assert set(recomputed["test"]) == set(report["test_mean_std"])


def test_dataset_without_interests_or_kg_still_trains(cli_env, dataset_name, cikg_copy: Path, tmp_path) -> None:
    for name in ("kg_final.txt", "user_interest_clustered.txt"):
        (cikg_copy / name).unlink()
    env = {**cli_env, "KGREC_CACHE_DIR": str(tmp_path / "cache")}
    assert kgrec("ingest", "cikg", str(cikg_copy), "--dataset", dataset_name, "--no-progress", env=env).returncode == 0
    result = kgrec("train", "cikgrec", "--dataset", dataset_name, "--epochs", "2", "--no-progress", "--no-write",
                   env=env)
    assert result.returncode == 0, result.stderr
    assert "note: dataset has no user interests" in result.stderr
    assert "note: dataset has no KG" in result.stderr


def test_unknown_dataset_is_one_sentence(cli_env) -> None:
    result = kgrec("train", "lightgcn", "--dataset", "no_such_dataset_xyz", "--no-progress", env=cli_env)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Dataset 'no_such_dataset_xyz' is not in the graph")
    assert "Traceback" not in result.stderr


def test_recommend_for_unknown_user_says_so(cli_env, dataset_name, cikg_folder: Path) -> None:
    ingest = kgrec("ingest", "cikg", str(cikg_folder), "--dataset", dataset_name, "--no-progress", env=cli_env)
    assert ingest.returncode == 0, ingest.stderr
    result = kgrec("recommend", "--dataset", dataset_name, "--user", "999999", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: User 999999 is not in dataset {dataset_name}."
    known = kgrec("recommend", "--dataset", dataset_name, "--user", "0", env=cli_env)
    assert known.returncode == 0 and "No recommendations for user 0" in known.stdout


def test_transe_with_pykeen_writes_entity_vectors(store, cli_env, dataset_name, cikg_folder: Path, tmp_path) -> None:
    env = {**cli_env, "KGREC_CACHE_DIR": str(tmp_path / "cache")}
    assert kgrec("ingest", "cikg", str(cikg_folder), "--dataset", dataset_name, "--no-progress", env=env).returncode == 0
    result = kgrec("train", "transe", "--dataset", dataset_name, "--epochs", "3", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["entities_written"] == 20
    assert 0.0 < report["metrics"]["mrr"] <= 1.0
    sizes = store.read_with(lambda tx: tx.run(
        "MATCH (e:Entity {dataset: $d}) RETURN size(e.transe_embedding) AS n", d=dataset_name).value())
    assert sizes == [64] * 20


def _tiny_export() -> GraphExport:
    pairs = np.array([[u, i] for u in range(3) for i in range(3)], dtype=np.int64)
    split = np.array([2 if i == 2 else 0 for _, i in pairs], dtype=np.int8)
    empty2 = np.zeros((0, 2), np.int64)
    return GraphExport(dataset="tiny", cache_key="k", user_ids=np.arange(3), item_ids=np.arange(3),
                       entity_ids=np.zeros(0, np.int64), interest_ids=np.zeros(0, np.int64), relation_types=[],
                       interactions=pairs, interaction_split=split, item_entities=empty2,
                       triples=np.zeros((0, 3), np.int64), user_interests=empty2)


def _seed_scored_train_model(data, model_name, model_config, train_config, **_: object) -> TrainResult:
    """Stands in for train_model: seed 2025 gets the best validation score."""
    valid = {"recall@50": {2024: 0.1, 2025: 0.3, 2026: 0.2}[train_config.seed]}
    return TrainResult(model=torch.nn.Linear(1, 1), best_epoch=1, epochs_run=1, valid=valid,
                       test={"recall@50": 0.0}, sparsity=[], seconds_per_epoch=0.0)


def test_saved_config_is_the_best_seeds(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(training, "train_model", _seed_scored_train_model)
    outcome = training.train_and_write(None, "tiny", "bprmf", seeds=[2024, 2025, 2026], write_back=False,
                                       progress=False, export=_tiny_export())
    saved = torch.load(tmp_path / "models" / f"{outcome.run_id}.pt", weights_only=False)
    assert saved["config"]["train"]["seed"] == 2025
    assert saved["metrics"]["valid"]["recall@50"] == 0.3
