"""A run's TrainingRun node on a real Neo4j: made (unfinished, so unlisted) before its lists, then
completed with metrics and artifacts, and refused for another model's id."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kg_store.errors import ConfigError
from kg_store.run_ids import run_record
from kg_store.writeback import training_runs, write_recommendations
from kgrec import api
from kgrec.runs import RunRecord


def test_a_run_record_is_started_then_finished(store, dataset_name, cikg_folder) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    record = RunRecord(dataset_name, "lightgcn", {"lr": 0.1, "seed": 7})
    record.start(store)
    assert run_record(store, record.run_id)["finished"] is None
    assert training_runs(store, dataset_name) == []
    write_recommendations(store, dataset_name, "lightgcn", record.run_id, np.arange(2), np.arange(3),
                          np.array([[0, 1], [2, 0]]), np.array([[0.9, 0.5], [0.8, 0.1]]), progress=False)
    record.finish(store, {"test_mean_std": {"recall@20": {"mean": 0.5, "std": 0.0}}},
                  {"model_path": "/models/x.pt", "model_sha256": "ab" * 32})
    stored = run_record(store, record.run_id)
    assert stored["finished"] is not None and stored["model_path"] == "/models/x.pt"
    [listed] = training_runs(store, dataset_name)
    assert listed["run_id"] == record.run_id
    assert json.loads(listed["metrics"])["test_mean_std"]["recall@20"]["mean"] == 0.5
    [node] = store.read_with(lambda tx: tx.run("MATCH (r:TrainingRun {run_id: $r}) RETURN r.config AS config, "
                                               "toString(r.started) AS started", r=record.run_id).data())
    assert json.loads(node["config"]) == {"lr": 0.1, "seed": 7}
    assert node["started"].startswith(record.started.strftime("%Y-%m-%dT%H:%M:%S"))


def test_another_model_cannot_reuse_a_run_id(store, dataset_name, cikg_folder) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    first = RunRecord(dataset_name, "lightgcn", {})
    first.start(store)
    with pytest.raises(ConfigError, match="belongs to model 'lightgcn'"):
        RunRecord(dataset_name, "bprmf", {}, run_id=first.run_id).start(store)
