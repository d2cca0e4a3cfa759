"""Data-parallel CTR and rerank training (``recommender.features.ddp``): the scaled parts give the
one-process gradient; two real processes (gloo on CPU, ``tests/ctr_ddp_worker.py`` each) end with the
one-process parameters; the handshake's error; from the graph, a killed rank writes nothing, a failed
read on rank 0 stops every process, and ``kgrec train ctr --nproc 2`` writes its run once."""

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
from ctr_ddp_worker import outcome, synthetic_ctr_data, synthetic_lists, train_synthetic
from test_ctr_data_neo4j import random_ratings, write_movielens
from test_distributed_training import by_hand as launch_by_hand
from test_distributed_training_neo4j import kgrec, training_runs

from kg_store.connection import GraphStore
from kgrec import api
from recommender.ctr.models import build_ctr_model
from recommender.features.ddp import part_of, scaled_total
from recommender.rerank.base import build_rerank_model

WORKER = Path(__file__).parent / "ctr_ddp_worker.py"
REPO_ROOT = Path(__file__).parent.parent
#: each case's kind and settings: dropout off (its masks are drawn per process); batches of 45 samples
#: (186 train samples: parts of 23 + 22, the last batch 6 + 5) and of 7 lists (36: 4 + 3, the last 1 + 0).
#: DLCM's listwise loss skips lists without a positive; PRM and SetRank score pointwise (bce), since a
#: listwise softmax leaves a scoring head's last bias (and any always-active unit) with gradient 0 up to
#: rounding, which Adam turns into steps that differ from run to run; SetRank leaves its inducing
#: points unused (no induced_points), so DistributedDataParallel looks for unused parameters.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "deepfm": ("ctr", {"embedding_dim": 4, "mlp_dims": [8], "batch_size": 45}),
    "dlcm": ("rerank", {"embedding_dim": 4, "hidden_dim": 8, "batch_size": 7}),
    "prm": ("rerank", {"embedding_dim": 4, "hidden_dim": 8, "ff_dim": 8, "loss_kind": "bce", "max_list_size": 8,
                       "batch_size": 7}),
    "setrank": ("rerank", {"embedding_dim": 4, "hidden_dim": 8, "ff_dim": 8, "loss_kind": "bce", "batch_size": 7}),
}


def settings(model: str, **extra: Any) -> dict[str, Any]:
    return {**CASES[model][1], "epochs": 2, "lr": 0.01, "dropout": 0.0, "patience": 5, "adapter_hidden": 8, **extra}


def torchrun(spec: dict[str, Any], timeout: float = 150) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               str(WORKER), json.dumps(spec)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def by_hand(spec: dict[str, Any], env: dict[str, str], timeout: float = 120) -> list[tuple[int, str]]:
    """Two CTR worker processes started without torchrun: (exit code, stderr) per rank."""
    return launch_by_hand(spec, [2, 2], timeout, env, worker=WORKER)


def gradients(model: torch.nn.Module, loss: torch.Tensor) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def averaged_gradients(model: torch.nn.Module, batch: Any, partners: Any, world: int) -> dict[str, torch.Tensor]:
    """What the process group's average would be: each rank's part, scaled, its gradient over ``world``."""
    summed: dict[str, torch.Tensor] = {}
    for rank in range(world):
        part, mates, task_scale, contrast_scale = part_of(model, batch, partners, world, rank)
        for name, grad in gradients(model, scaled_total(model.loss(part, mates), task_scale, contrast_scale)).items():
            summed[name] = summed.get(name, 0) + grad / world
    return summed


def without_key_bias(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """An attention layer's in-projection bias less its key part: softmax is shift-invariant, so that part's
    gradient is 0 up to rounding, which Adam turns into steps of about lr that differ from run to run
    (it changes no score)."""
    if not name.endswith("in_proj_bias"):
        return tensor
    third = len(tensor) // 3
    return torch.cat([tensor[:third], tensor[2 * third:]])


def assert_close(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor], atol: float) -> None:
    assert expected.keys() == found.keys()
    for name, tensor in expected.items():
        if tensor.is_floating_point():
            torch.testing.assert_close(without_key_bias(name, found[name]), without_key_bias(name, tensor), atol=atol,
                                       rtol=1e-5, msg=name)


@pytest.mark.parametrize("model", list(CASES))
def test_scaled_parts_average_to_the_whole_batch_gradient(model: str) -> None:
    """Parts of unequal sizes, of unequal task terms (lists without a positive; real candidates), and a
    batch smaller than the group: the average of the scaled part gradients is the batch's gradient."""
    torch.manual_seed(0)
    kind, options = CASES[model]
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in settings(model).items()
              if k not in ("epochs", "lr", "patience", "batch_size")}
    if kind == "ctr":
        net, batches = build_ctr_model(model, synthetic_ctr_data().spec, **config), synthetic_ctr_data().batches
    else:
        lists = synthetic_lists()
        net, batches = build_rerank_model(model, lists.data.spec, **config), lists.rerank_batches
    batch = next(batches("train", options["batch_size"], shuffle=True, seed=3))
    single = next(batches("train", 1))
    for world in (2, 3):
        assert_close(gradients(net, net.loss(batch)["total"]), averaged_gradients(net, batch, None, world), atol=1e-6)
        assert_close(gradients(net, net.loss(single)["total"]), averaged_gradients(net, single, None, world), atol=1e-6)


def test_the_contrast_is_contrasted_within_each_part() -> None:
    """With the knowledge contrast (summed over anchors), the step is the batch's task loss plus w times
    the sum of each part's own contrast: each part's anchors meet the part's rows alone as negatives."""
    torch.manual_seed(0)
    data = synthetic_ctr_data()
    net = build_ctr_model("deepfm", data.spec, embedding_dim=4, mlp_dims=(8,), dropout=0.0, contrast_weight=0.5)
    batch = next(data.batches("train", 45, shuffle=True, seed=3))
    partners = data.partners(batch, data.swing_positives())
    for world in (2, 3):
        parts = [part_of(net, batch, partners, world, r)[:2] for r in range(world)]
        assert [len(part) for part, _ in parts] == [len(rows) for rows in np.array_split(np.arange(len(batch)), world)]
        per_part = [net.loss(part, mates) for part, mates in parts]
        target = net.loss(batch)["task"] + 0.5 * sum(terms["uu"] + terms["ii"] for terms in per_part)
        assert_close(gradients(net, target), averaged_gradients(net, batch, partners, world), atol=1e-5)
    full = net.loss(batch, partners)
    halves = [net.loss(*part_of(net, batch, partners, 2, r)[:2]) for r in range(2)]
    assert float(full["uu"].detach()) != pytest.approx(float(sum(h["uu"].detach() for h in halves)), rel=1e-3)


def test_two_processes_end_with_the_parameters_of_one(tmp_path: Path) -> None:
    """Two epochs of DeepFM, DLCM (listwise, lists without a positive), PRM (pointwise) and SetRank (a
    parameter the loss never reaches): every rank ends with the one-process parameters, losses, epoch and
    test metrics; with dropout and the contrast on, the ranks still end identical."""
    runs = [{"kind": CASES[model][0], "model": model, "overrides": settings(model), "out": str(tmp_path / model)}
            for model in CASES]
    runs.append({"kind": "ctr", "model": "deepfm", "out": str(tmp_path / "contrast"),
                 "overrides": settings("deepfm", dropout=0.1, contrast=True)})
    done = torchrun({"runs": runs})
    assert done.returncode == 0, done.stderr[-3000:]
    for model, (kind, _) in CASES.items():
        expected = outcome(train_synthetic(kind, model, settings(model)))
        ranks = [torch.load(tmp_path / f"{model}.{rank}", weights_only=False) for rank in (0, 1)]
        for found in ranks:
            assert_close(expected["state"], found["state"], atol=1e-5)
            assert found["best_epoch"] == expected["best_epoch"]
            assert found["test"] == pytest.approx(expected["test"], abs=1e-5)
            assert [log["losses"] for log in found["history"]] == \
                [pytest.approx(log["losses"], rel=1e-5) for log in expected["history"]]
        assert_close(ranks[0]["state"], ranks[1]["state"], atol=0)
    with_contrast = [torch.load(tmp_path / f"contrast.{rank}", weights_only=False) for rank in (0, 1)]
    assert_close(with_contrast[0]["state"], with_contrast[1]["state"], atol=0)
    assert {"uu", "ii"} <= with_contrast[0]["history"][0]["losses"].keys()


def test_ranks_started_with_different_settings_stop_with_the_difference(tmp_path: Path) -> None:
    run = {"kind": "ctr", "model": "deepfm", "overrides": settings("deepfm"), "rank_overrides": {"1": {"lr": 0.02}},
           "out": str(tmp_path / "run")}
    done = torchrun({"runs": [run]})
    assert done.returncode != 0
    assert "The 2 processes disagree on the model and its training: train.lr: rank 0 0.01, rank 1 0.02" in done.stderr
    assert not list(tmp_path.glob("run.*"))


def test_a_killed_rank_writes_nothing_and_nproc_writes_once(store: GraphStore, cli_env: dict, dataset_name: str,
                                                            tmp_path: Path) -> None:
    api.ingest_movielens(store, write_movielens(tmp_path / "ml", random_ratings()), dataset_name, progress=False)
    env = {**cli_env, "OMP_NUM_THREADS": "1"}
    tiny = {"embedding_dim": 4, "mlp_dims": [8], "epochs": 3, "batch_size": 16, "lr": 0.01}
    job = {"write": {"kind": "ctr", "dataset": dataset_name, "model": "deepfm", "overrides": tiny}, "kill": [1, 2]}
    (code0, err0), (code1, _) = by_hand(job, env)
    assert (code0, code1) == (1, 3), err0[-2000:]
    assert "Training stopped while training epoch 2: another process stopped or did not answer" in err0
    assert "keeps no checkpoint, so it starts over" in err0
    assert training_runs(store, dataset_name) == []

    done = kgrec("train", "ctr", "--model", "deepfm", "--dataset", dataset_name, "--nproc", "2", "--epochs", "2",
                 "--batch-size", "16", "--embedding-dim", "4", "--k", "3", "--json", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)        # rank 0's report alone
    assert report["kind"] == "ctr" and len(report["per_seed"][0]["history"]) == 2
    assert training_runs(store, dataset_name) == [report["run_id"]]


def test_nccl_on_cpu_under_torchrun_is_one_sentence(cli_env: dict, dataset_name: str) -> None:
    """A process torchrun would start (port 1: no rendezvous there) asked for nccl on CPU stops at once."""
    env = {**cli_env, "RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    done = kgrec("train", "rerank", "--model", "dlcm", "--dataset", dataset_name, "--dist-backend", "nccl", env=env)
    assert done.returncode == 1
    assert "The nccl backend needs CUDA, but training runs on cpu" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failed_read_on_rank_0_stops_every_process(store: GraphStore, cli_env: dict, dataset_name: str,
                                                     tmp_path: Path) -> None:
    """Rank 0 alone reads the graph: its error (no such text vectors) is its own, the other rank names it."""
    api.ingest_movielens(store, write_movielens(tmp_path / "ml", random_ratings()), dataset_name, progress=False)
    job = {"write": {"kind": "ctr", "dataset": dataset_name, "model": "deepfm", "overrides": {"text": "absent"}}}
    (code0, err0), (code1, err1) = by_hand(job, {**cli_env})
    assert code0 != 0 and code1 != 0
    assert "MissingTextError" in err0
    assert f"Rank 0 could not read the CTR data of {dataset_name} (MissingTextError:" in err1
    assert training_runs(store, dataset_name) == []
