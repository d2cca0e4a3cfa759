"""Data-parallel training from the graph: a job whose rank 1 dies writes nothing back; ``kgrec train
--nproc 2`` started again resumes it and writes the run back once (rank 0 alone writes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from test_distributed_training import by_hand

from kg_store.connection import GraphStore


def kgrec(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kgrec.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180)


def training_runs(store: GraphStore, dataset: str) -> list[str]:
    return store.read_with(lambda tx: [r["id"] for r in tx.run(
        "MATCH (r:TrainingRun {dataset: $d}) RETURN r.run_id AS id", d=dataset)])


def test_a_killed_job_writes_nothing_and_the_rerun_writes_once(store: GraphStore, cli_env: dict, dataset_name: str,
                                                               cikg_folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**cli_env, "KGREC_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    assert kgrec("ingest", "cikg", str(cikg_folder), "--dataset", dataset_name, "--no-progress", env=env).returncode == 0
    job = {"write": {"dataset": dataset_name, "model": "lightgcn", "overrides": {"epochs": 3}}, "kill": [1, 1]}
    (code0, err0), (code1, _) = by_hand(job, [2, 2], env=env)
    assert (code0, code1) == (1, 3), err0[-2000:]
    assert "another process stopped or did not answer" in err0
    assert training_runs(store, dataset_name) == []
    assert not list(cache.glob("models/*"))
    checkpoints = list(cache.glob("runs/*/valid/checkpoint.pt"))
    assert len(checkpoints) == 1 and torch.load(checkpoints[0], weights_only=True)["epoch"] == 0

    done = kgrec("train", "lightgcn", "--dataset", dataset_name, "--nproc", "2", "--epochs", "3", "--k", "3",
                 "--edges", "never", "--no-progress", "--json", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)        # rank 0's report alone
    assert report["per_seed"][0]["epochs_run"] == 3
    assert training_runs(store, dataset_name) == [report["run_id"]]
    assert sorted(p.name for p in cache.glob("models/*.pt")) == [f"{report['run_id']}.pt"]
    recs = json.loads(kgrec("recommend", "--dataset", dataset_name, "--user", "0", "--json", env=env).stdout)
    assert [r["rank"] for r in recs] == [1, 2, 3] and {r["run_id"] for r in recs} == {report["run_id"]}


def test_nccl_on_cpu_under_torchrun_is_one_sentence(cli_env: dict, dataset_name: str) -> None:
    """A process torchrun would start (its environment; port 1: no rendezvous there) asked for nccl on
    CPU stops before any rendezvous, with the CLI's one sentence."""
    env = {**cli_env, "RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": "1"}
    done = kgrec("train", "bprmf", "--dataset", dataset_name, "--dist-backend", "nccl", "--device", "cpu",
                 "--no-progress", env=env)
    assert done.returncode == 1
    assert "The nccl backend needs CUDA, but training runs on cpu" in done.stderr
    assert "Traceback" not in done.stderr
