"""The run-recording helpers every model kind uses: the seed summary, the best-seed rule and the run id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from kg_store.run_ids import check_run_id
from kgrec.runs import RunRecord, best_seed_index, mean_std, seed_metrics


@dataclass
class Result:
    test: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return {"test": self.test, **self.extra}


def test_the_summary_is_the_mean_and_population_std_of_each_test_metric() -> None:
    summary = mean_std([Result({"auc": 0.6, "logloss": 0.5}), Result({"auc": 0.8, "logloss": 0.3})])
    assert list(summary) == ["auc", "logloss"]
    assert summary["auc"] == pytest.approx({"mean": 0.7, "std": 0.1})
    assert summary["logloss"] == pytest.approx({"mean": 0.4, "std": 0.1})
    assert mean_std([Result({"recall@20": 0.25})]) == {"recall@20": {"mean": 0.25, "std": 0.0}}


@pytest.mark.parametrize("protocol", ["valid", "refit"])
def test_validation_picks_the_seed_and_the_first_wins_a_tie(protocol: str) -> None:
    assert best_seed_index([0.2, 0.5, 0.5, 0.1], protocol) == 1
    assert best_seed_index([0.3]) == 0


def test_test_selected_runs_keep_their_first_seed() -> None:
    assert best_seed_index([0.0, 0.9], "test-selected") == 0


def test_seed_metrics_hold_every_seed_and_the_one_selected() -> None:
    results = [Result({"auc": 0.6}, {"best_epoch": 1}), Result({"auc": 0.8}, {"best_epoch": 3})]
    metrics = seed_metrics([1, 2], results, mean_std(results), 2, ["a note"])
    assert metrics == {"test_mean_std": mean_std(results), "seeds": [1, 2], "selected_seed": 2,
                       "notes": ["a note"], "per_seed": [r.metrics() for r in results]}


def test_a_run_id_carries_the_model_and_start_time() -> None:
    started = datetime(2024, 1, 31, 12, 0, 0, tzinfo=UTC)
    record = RunRecord("ds", "lightgcn", {"lr": 0.1}, started)
    assert check_run_id(record.run_id).startswith("lightgcn-20240131T120000-")
    assert RunRecord("ds", "lightgcn", {}, started).run_id != record.run_id       # random suffix
    assert RunRecord("ds", "din", {}, started, run_id=record.run_id).run_id == record.run_id
