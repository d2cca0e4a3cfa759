"""An audit trail on a real Neo4j: ``kgrec evaluate --run-id R --rankings FILE`` writes every test
user's top-100, and Recall@K / NDCG@K recomputed from that file alone (brute force, here) equal
the numbers ``kgrec evaluate`` reports."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

N_USERS, N_ITEMS, TRAIN_PER_USER, TEST_PER_USER = 30, 150, 15, 5


def kgrec(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kgrec.cli", *args], env=env, capture_output=True, text=True)


def write_dataset(folder: Path) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """A CIKG folder (train.txt, test.txt) with two user communities; user and item ids are not
    0..n-1, so an index written where an id belongs shows. Returns (train, test) as id -> item ids."""
    rng = np.random.default_rng(5)
    folder.mkdir(parents=True)
    train, test = {}, {}
    for u in range(N_USERS):
        half = np.arange(N_ITEMS // 2) + (0 if u < N_USERS // 2 else N_ITEMS // 2)
        items = [11 + 5 * int(i) for i in rng.choice(half, TRAIN_PER_USER + TEST_PER_USER, replace=False)]
        train[500 + 7 * u], test[500 + 7 * u] = set(items[:TRAIN_PER_USER]), set(items[TRAIN_PER_USER:])
    for name, split in (("train.txt", train), ("test.txt", test)):
        (folder / name).write_text("".join(f"{u} {' '.join(map(str, sorted(items)))}\n" for u, items in split.items()))
    return train, test


def read_rankings(path: Path) -> dict[int, list[tuple[int, int, float]]]:
    """user -> [(rank, item, score)] from ``user item rank score`` lines after a header."""
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["user", "item", "rank", "score"]
    ranked: dict[int, list[tuple[int, int, float]]] = {}
    for line in lines[1:]:
        user, item, rank, score = line.split("\t")
        ranked.setdefault(int(user), []).append((int(rank), int(item), float(score)))
    return {user: sorted(rows) for user, rows in ranked.items()}


def brute_force(ranked: dict[int, list[tuple[int, int, float]]], test: dict[int, set[int]], k: int) -> dict[str, float]:
    """Recall@K = hits in the top K / |test items|; NDCG@K = sum over hits of 1/log2(rank + 1), divided by
    the same sum for min(|test items|, K) hits at ranks 1, 2, ...; both averaged over users with test items."""
    recalls, ndcgs = [], []
    for user, relevant in test.items():
        top = [item for rank, item, _ in ranked.get(user, []) if rank <= k]
        hit_ranks = [rank for rank, item in enumerate(top, start=1) if item in relevant]
        recalls.append(len(hit_ranks) / len(relevant))
        ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
        ndcgs.append(sum(1 / math.log2(rank + 1) for rank in hit_ranks) / ideal)
    return {f"recall@{k}": sum(recalls) / len(recalls), f"ndcg@{k}": sum(ndcgs) / len(ndcgs)}


@pytest.mark.parametrize("protocol", ["valid", "refit"])
def test_rankings_file_reproduces_the_reported_metrics(cli_env, dataset_name, tmp_path, protocol: str) -> None:
    env = {**cli_env, "KGREC_CACHE_DIR": str(tmp_path / "cache")}
    train, test = write_dataset(tmp_path / "data")
    ingest = kgrec("ingest", "cikg", str(tmp_path / "data"), "--dataset", dataset_name, "--no-progress", env=env)
    assert ingest.returncode == 0, ingest.stderr
    trained = kgrec("train", "lightgcn", "--dataset", dataset_name, "--epochs", "3", "--protocol", protocol,
                    "--edges", "never", "--no-progress", "--json", env=env)    # written back: evaluate trusts the run's record
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout)
    assert report["protocol"] == protocol

    rankings = tmp_path / "rankings.tsv"
    evaluated = kgrec("evaluate", "--run-id", report["run_id"], "--rankings", str(rankings), env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["protocol"] == protocol and result["rankings"]["users"] == N_USERS
    for name, value in result["test"].items():  # the saved model and split give the run's own numbers
        assert value == pytest.approx(report["test_mean_std"][name]["mean"], abs=1e-12)

    ranked = read_rankings(rankings)
    assert set(ranked) == set(test)  # every test user, in original ids
    for user, rows in ranked.items():
        assert [rank for rank, _, _ in rows] == list(range(1, 101))
        assert all(a[2] >= b[2] for a, b in zip(rows, rows[1:], strict=False))  # best first
        assert not {item for _, item, _ in rows} & train[user]  # train and validation items are masked

    valid_lines = (tmp_path / "cache" / "models" / f"{report['run_id']}.valid.tsv").read_text().splitlines()
    assert valid_lines[0] == "user\titem" and len(valid_lines) > 1
    assert all(int(line.split("\t")[1]) in train[int(line.split("\t")[0])] for line in valid_lines[1:])

    for k in (20, 50, 100):
        recomputed = brute_force(ranked, test, k)
        for name, value in recomputed.items():
            assert value == pytest.approx(result["test"][name], abs=1e-12), (name, value, result["test"][name])
    assert result["test"]["recall@100"] > 0
