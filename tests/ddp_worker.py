"""One process of a data-parallel test run, started by ``tests/test_distributed_training.py`` under torchrun
(or alone, as the one-process run). Its one argument is a JSON object:

* ``runs``: a list of {``model``, ``overrides``, ``rank_overrides`` (rank -> overrides of that rank only),
  ``checkpoint_dir``, ``out``}: each is trained on ``test_models.synthetic_data()`` through
  ``recommender.protocols.train_model``, after the run handshake; every rank saves its final state
  dict and history to ``<out>.<rank>``;
* ``write``: {``dataset``, ``model``, ``overrides``}: ``kgrec.training.train_and_write`` on that dataset of
  the Neo4j the environment names, instead of ``runs``;
* ``kill``: [rank, epoch]: that rank ends itself (``os._exit(3)``) as the epoch starts;
* ``backend``, ``timeout``: the process group's.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import torch
from test_models import synthetic_data

from recommender import distributed
from recommender.config import resolve_config
from recommender.ddp_loop import DistributedTrainer, agree_on_run
from recommender.protocols import train_model


def _kill_at(rank: int, epoch: int) -> None:
    """Rank ``rank`` exits abruptly when epoch ``epoch`` starts (a crashed process, no clean-up)."""
    train_epoch = DistributedTrainer.train_epoch

    def dying(self: DistributedTrainer, current: int) -> dict[str, float]:
        if self.rank == rank and current == epoch:
            os._exit(3)
        return train_epoch(self, current)

    DistributedTrainer.train_epoch = dying  # type: ignore[method-assign]


def _train(run: dict[str, Any]) -> None:
    me = str(distributed.rank())
    overrides = {**run.get("overrides", {}), **run.get("rank_overrides", {}).get(me, {})}
    overrides["ks"] = tuple(overrides.get("ks", (5,)))
    model_config, train_config = resolve_config(run["model"], "synthetic", **overrides)
    data = synthetic_data()
    agree_on_run(run["model"], "synthetic", "synthetic-data", model_config, train_config)
    checkpoint_dir = Path(run["checkpoint_dir"]) if run.get("checkpoint_dir") else None
    result = train_model(data, run["model"], model_config, train_config, checkpoint_dir, progress=False)
    torch.save({"state": result.model.state_dict(), "history": result.history, "best_epoch": result.best_epoch,
                "epochs_run": result.epochs_run, "test": result.test}, f"{run['out']}.{me}")


def _write(job: dict[str, Any]) -> None:
    from kg_store.connection import GraphStore
    from kg_store.settings import settings_from_env
    from kgrec.training import train_and_write

    store = GraphStore(settings_from_env())
    outcome = train_and_write(store, job["dataset"], job["model"], k=3, progress=False, edges="never",
                              **job.get("overrides", {}))
    print(json.dumps({"rank": distributed.rank(), "run_id": outcome.run_id,
                      "written": outcome.recommendations_written}), flush=True)


def main() -> None:
    spec = json.loads(sys.argv[1])
    if spec.get("kill"):
        _kill_at(*spec["kill"])
    if distributed.launched():
        with distributed.session(spec.get("backend", "auto"), "cpu", spec.get("timeout", 60)):
            _work(spec)
    else:
        _work(spec)


def _work(spec: dict[str, Any]) -> None:
    if "write" in spec:
        _write(spec["write"])
    for run in spec.get("runs", []):
        _train(run)


if __name__ == "__main__":
    main()
