"""Data-parallel training in real processes (gloo on CPU, two processes; ``tests/ddp_worker.py`` is each
process): the same parameters as one process, a killed rank, resuming, and the handshake's errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_models import MODEL_CASES, synthetic_data

from kg_store.local_server import free_port
from kgrec.cli.train import torchrun_command, without_option
from recommender import distributed
from recommender.config import resolve_config
from recommender.ddp_loop import shard_bounds
from recommender.distributed import TORCHRUN_ENV
from recommender.errors import TrainingError
from recommender.protocols import train_model

WORKER = Path(__file__).parent / "ddp_worker.py"
REPO_ROOT = Path(__file__).parent.parent
#: models whose every loss term is a per-row mean or drawn alike on every process -> tolerance on the
#: parameters after two epochs: float rounding, except that KGAT's TransR phase (its own Adam, at kg_lr,
#: over the entity rows) turns the rounding of the scaled gradients into differences of about 1e-4
EXACT = {"bprmf": 1e-5, "lightgcn": 1e-5, "cke": 1e-5, "kgat": 3e-4}


def settings(model: str, **extra: Any) -> dict[str, Any]:
    """Small runs: batches of 45 over 200 train pairs, split 23 + 22 (the last one, of 20: 10 + 10)."""
    return {**MODEL_CASES[model], "embedding_dim": 8, "epochs": 2, "batch_size": 45, "lr": 0.01, "ks": [5],
            "select_metric": "recall@5", "patience": 5, "device": "cpu", **extra}


def one_process(model: str, checkpoint_dir: Path | None = None, **extra: Any) -> dict[str, Any]:
    """The reference: the same run in this process, no process group."""
    overrides = settings(model, **extra)
    overrides["ks"] = tuple(overrides["ks"])
    model_config, train_config = resolve_config(model, "synthetic", **overrides)
    result = train_model(synthetic_data(), model, model_config, train_config, checkpoint_dir, progress=False)
    return {"state": result.model.state_dict(), "history": result.history}


def torchrun(spec: dict[str, Any], timeout: float = 150) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               str(WORKER), json.dumps(spec)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def by_hand(spec: dict[str, Any], world_sizes: list[int], timeout: float = 120,
            env: dict[str, str] | None = None, worker: Path = WORKER) -> list[tuple[int, str]]:
    """The processes of ``worker`` started without torchrun (no agent stops the others when one ends):
    (exit code, stderr) per rank; ``world_sizes[r]`` is the WORLD_SIZE rank r is told."""
    port, env = str(free_port()), env or dict(os.environ)
    processes = [subprocess.Popen([sys.executable, str(worker), json.dumps(spec)], cwd=REPO_ROOT, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={**env, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
                                       "MASTER_PORT": port, "RANK": str(rank), "LOCAL_RANK": str(rank),
                                       "WORLD_SIZE": str(size), "LOCAL_WORLD_SIZE": str(len(world_sizes))})
                 for rank, size in enumerate(world_sizes)]
    try:
        return [(process.wait(timeout=timeout), process.communicate()[1]) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def assert_same_parameters(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], atol: float) -> None:
    assert expected.keys() == found.keys()
    for name, tensor in expected.items():
        if tensor.is_floating_point():
            torch.testing.assert_close(found[name], tensor, atol=atol, rtol=1e-5, msg=name)


def saved(path: Path) -> dict[str, Any]:
    return torch.load(path, weights_only=False)


def test_each_rank_takes_the_array_split_part_of_a_batch() -> None:
    for rows, world in ((64, 2), (8, 3), (1, 2), (7, 4)):
        parts = np.array_split(np.arange(rows), world)
        for rank in range(world):
            start, end = shard_bounds(rows, world, rank)
            assert np.arange(start, end).tolist() == parts[rank].tolist()


def test_nproc_runs_the_same_command_under_torchrun() -> None:
    args = ["--database", "db", "train", "lightgcn", "--nproc", "2", "--dataset", "d", "--nproc=3", "--epochs", "2"]
    assert without_option(args, "--nproc") == ["--database", "db", "train", "lightgcn", "--dataset", "d", "--epochs", "2"]
    command = torchrun_command(2, args)
    assert command[:6] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m"]
    assert command[6:] == ["kgrec.cli", "--database", "db", "train", "lightgcn", "--dataset", "d", "--epochs", "2"]


def test_two_processes_end_with_the_parameters_of_one(tmp_path: Path) -> None:
    """Two epochs (5 steps each, parts of unequal sizes) of each exact model: every rank ends with the
    one-process parameters and logged losses, to float rounding."""
    runs = [{"model": model, "overrides": settings(model), "out": str(tmp_path / model)} for model in EXACT]
    done = torchrun({"runs": runs})
    assert done.returncode == 0, done.stderr[-3000:]
    for model, atol in EXACT.items():
        expected = one_process(model)
        ranks = [saved(tmp_path / f"{model}.{rank}") for rank in (0, 1)]
        for found in ranks:
            assert_same_parameters(expected["state"], found["state"], atol=atol)
            assert [round(e["total"], 5) for e in found["history"]] == [round(e["total"], 5) for e in expected["history"]]
        assert_same_parameters(ranks[0]["state"], ranks[1]["state"], atol=0)   # the ranks agree exactly


def test_a_killed_rank_stops_the_job_and_the_rerun_resumes(tmp_path: Path) -> None:
    """Rank 1 dies as epoch 3 starts: rank 0 stops with the error, nothing is reported; started again
    (under torchrun), the job resumes from rank 0's last checkpoint and ends with the parameters of an
    uninterrupted run."""
    run = {"model": "lightgcn", "overrides": settings("lightgcn", epochs=4), "out": str(tmp_path / "run"),
           "checkpoint_dir": str(tmp_path / "checkpoints")}
    (code0, err0), (code1, _) = by_hand({"runs": [run], "kill": [1, 2]}, [2, 2])
    assert (code0, code1) == (1, 3)
    assert "Training stopped while training epoch 3: another process stopped or did not answer" in err0
    assert not list(tmp_path.glob("run.*"))
    checkpoint = tmp_path / "checkpoints" / "valid" / "checkpoint.pt"
    assert torch.load(checkpoint, weights_only=True)["epoch"] == 1
    resumed = torchrun({"runs": [run]})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    expected = one_process("lightgcn", epochs=4)
    found = saved(tmp_path / "run.0")
    assert [e["epoch"] for e in found["history"]] == [0, 1, 2, 3]
    assert_same_parameters(expected["state"], found["state"], atol=1e-5)


def test_ranks_started_with_different_settings_stop_with_the_difference(tmp_path: Path) -> None:
    run = {"model": "bprmf", "overrides": settings("bprmf"), "rank_overrides": {"1": {"lr": 0.02}},
           "out": str(tmp_path / "run")}
    done = torchrun({"runs": [run]})
    assert done.returncode != 0
    assert "The 2 processes disagree on the run: config.train.lr: rank 0 0.01, rank 1 0.02" in done.stderr
    assert not list(tmp_path.glob("run.*"))


def test_ranks_told_different_world_sizes_stop_at_once(tmp_path: Path) -> None:
    run = {"model": "bprmf", "overrides": settings("bprmf"), "out": str(tmp_path / "run")}
    (code0, err0), (code1, err1) = by_hand({"runs": [run], "timeout": 60}, [2, 3])
    assert code0 != 0 and code1 != 0
    assert "rank 0 with WORLD_SIZE 2, rank 1 with 3" in err0
    assert "rank 1 with WORLD_SIZE 3, rank 0 with 2" in err1


def test_nccl_without_a_gpu_is_refused_before_any_rendezvous(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in zip(TORCHRUN_ENV, ("0", "2", "0", "127.0.0.1", "1"), strict=True):  # port 1: nobody there
        monkeypatch.setenv(name, value)
    with pytest.raises(TrainingError, match="The nccl backend needs CUDA, but training runs on cpu"):
        with distributed.session("nccl", "cpu", timeout_s=5):
            pass
    with pytest.raises(TrainingError, match="The nccl backend needs CUDA"):
        distributed.join("nccl", "cpu", timeout_s=5)
    assert not distributed.active()
