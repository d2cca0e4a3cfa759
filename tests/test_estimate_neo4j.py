"""``kgrec train --estimate``: expected time and memory from a short calibration, no training."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from ingest import read_cikg, write_dataset
from ingest.synthetic import SyntheticConfig, write_synthetic
from kg_store.writeback import training_runs


def kgrec(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kgrec.cli", *args], env=env, capture_output=True, text=True)


def test_estimate_reports_time_and_memory_and_trains_nothing(store, cli_env, dataset_name, tmp_path: Path) -> None:
    made = write_synthetic(tmp_path / "s", SyntheticConfig(interactions=4_000, seed=3))
    write_dataset(store, read_cikg(made.folder, dataset_name), progress=False)
    env = {**cli_env, "KGREC_CACHE_DIR": str(tmp_path / "cache")}
    for model in ("lightgcn", "cikgrec"):
        result = kgrec("train", model, "--dataset", dataset_name, "--estimate", "--epochs", "7", "--batch-size", "512",
                       "--threads", "1", "--json", env=env)
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
        assert found["users"] == made.users and found["items"] == made.items
        assert found["steps_per_epoch"] == math.ceil(found["train_interactions"] / 512)
        assert found["seconds_per_step"] > 0 and found["evaluation_seconds"] > 0
        expected_epoch = found["seconds_per_step"] * found["steps_per_epoch"] + found["epoch_end_seconds"]
        assert abs(found["seconds_per_epoch"] - expected_epoch) < 0.05 + 0.01 * expected_epoch
        assert found["epochs"] == 7 and found["peak_rss_mb"] > 100
    assert found["model"] == "cikgrec" and found["epoch_end_seconds"] > 0   # its TransE pass is timed
    text = kgrec("train", "lightgcn", "--dataset", dataset_name, "--estimate", env=env)
    assert text.returncode == 0 and "s/epoch" in text.stdout and "peak memory" in text.stdout
    assert training_runs(store, dataset_name) == []
