"""One process of a data-parallel CTR or rerank test run, started by ``tests/test_distributed_ctr.py``
under torchrun or by hand. It also builds the tests' synthetic data (:func:`synthetic_ctr_data`,
:func:`synthetic_lists`). Its one argument is a JSON object:

* ``runs``: a list of {``kind`` (ctr | rerank), ``model``, ``overrides`` (trainer and model settings),
  ``rank_overrides`` (rank -> overrides of that rank only), ``out``}: each is trained on the synthetic
  data; every rank saves its final state dict, history, best epoch and test metrics to ``<out>.<rank>``;
* ``write``: {``kind``, ``dataset``, ``model``, ``overrides``}: ``kgrec.ctr_training.train_ctr`` (or
  ``train_rerank``) on that dataset of the Neo4j the environment names, instead of ``runs``;
* ``kill``: [rank, epoch]: that rank ends itself (``os._exit(3)``) as the epoch (1-based) starts;
* ``backend``, ``timeout``: the process group's.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from kg_store.ctr_arrays import SPLITS, CTRGraph, CTRSplitConfig, CTRSplitReport, draw_user_split
from recommender import distributed
from recommender.ctr.trainer import CTRTrainConfig, train_ctr_model
from recommender.features.data import CTRData, build_ctr_data
from recommender.features.ddp import DataParallelLoop
from recommender.features.trainer import TRAIN_FIELDS
from recommender.rerank.lists import CandidateLists, candidate_lists, ranker_lists
from recommender.rerank.trainer import train_rerank_model

N_USERS, N_ITEMS = 60, 40
RATIOS = (0.6, 0.2, 0.2)


def synthetic_ctr_data(seed: int = 0) -> CTRData:
    """60 users with 6-13 timed interactions each (about half liked), 40 items with a year and genres."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 14, N_USERS)
    items = np.concatenate([rng.choice(N_ITEMS, n, replace=False) for n in lengths])
    ts = np.concatenate([np.sort(rng.integers(0, 1000, n)) for n in lengths])
    labels = rng.integers(0, 2, len(items))
    chosen = draw_user_split(list(range(N_USERS)), RATIOS, seed)
    graph = CTRGraph(dataset="synthetic", user_ids=np.arange(N_USERS, dtype=np.int64),
                     gender=np.array(["MF"[u % 2] for u in range(N_USERS)], dtype=object),
                     age=np.array([18 + u % 40 for u in range(N_USERS)], dtype=object),
                     occupation=np.array([("a", "b", "c")[u % 3] for u in range(N_USERS)], dtype=object),
                     item_ids=np.arange(N_ITEMS, dtype=np.int64),
                     year=np.array([1950 + i for i in range(N_ITEMS)], dtype=object),
                     genres=tuple((f"g{i % 5}", f"g{(3 * i) % 7}") for i in range(N_ITEMS)),
                     offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64), items=items.astype(np.int64),
                     ts=ts.astype(np.int64), labels=labels.astype(np.int64), cut=lengths // 2,
                     split=np.array([SPLITS.index(chosen[u]) for u in range(N_USERS)], dtype=np.int64))
    sizes = {name: sum(1 for s in chosen.values() if s == name) for name in SPLITS}
    return build_ctr_data(graph, CTRSplitReport("synthetic", True, CTRSplitConfig(ratios=RATIOS), sizes, 0), max_history=8)


def synthetic_lists(seed: int = 0) -> CandidateLists:
    """A ranker's lists of 3-8 candidates per user: even users' hold their liked targets among random
    items, odd users' random items only, so some lists have no positive (listwise losses skip them)."""
    data = synthetic_ctr_data(seed)
    rng = np.random.default_rng(seed + 1)
    items = np.full((N_USERS, 8), -1, dtype=np.int64)
    for user in range(N_USERS):
        liked = data.sequences.positive_targets(user)[:3] if user % 2 == 0 else np.zeros(0, np.int64)
        others = rng.choice(np.setdiff1d(np.arange(N_ITEMS), liked), int(rng.integers(3, 9)) - len(liked), replace=False)
        row = rng.permutation(np.r_[liked, others])
        items[user, :len(row)] = row
    return candidate_lists(data, "ranker", ranker_lists(data, np.arange(N_USERS), items).rows)


def train_synthetic(kind: str, model: str, overrides: dict[str, Any]) -> Any:
    """``train_ctr_model`` (or ``train_rerank_model``) on the synthetic data with ``overrides``."""
    train = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if k in TRAIN_FIELDS}
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if k not in TRAIN_FIELDS}
    if kind == "ctr":
        return train_ctr_model(synthetic_ctr_data(), model, CTRTrainConfig(**train), **settings)
    return train_rerank_model(synthetic_lists(), model, CTRTrainConfig(**train), **settings)


def outcome(result: Any) -> dict[str, Any]:
    return {"state": result.model.state_dict(), "history": [asdict(log) for log in result.history],
            "best_epoch": result.best_epoch, "test": result.test}


def _kill_at(rank: int, epoch: int) -> None:
    """Rank ``rank`` exits abruptly when epoch ``epoch`` starts (a crashed process, no clean-up)."""
    run_epoch = DataParallelLoop.epoch

    def dying(self: DataParallelLoop, *args: Any) -> dict[str, float]:
        if self.rank == rank and self.epochs + 1 == epoch:
            os._exit(3)
        return run_epoch(self, *args)

    DataParallelLoop.epoch = dying  # type: ignore[method-assign]


def _train(run: dict[str, Any]) -> None:
    me = str(distributed.rank())
    overrides = {**run.get("overrides", {}), **run.get("rank_overrides", {}).get(me, {})}
    torch.save(outcome(train_synthetic(run["kind"], run["model"], overrides)), f"{run['out']}.{me}")


def _write(job: dict[str, Any]) -> None:
    from kg_store.connection import GraphStore
    from kg_store.settings import settings_from_env
    from kgrec.ctr_training import train_ctr, train_rerank

    store = GraphStore(settings_from_env())
    trainer = train_ctr if job["kind"] == "ctr" else train_rerank
    done = trainer(store, job["dataset"], job["model"], k=3, **job.get("overrides", {}))
    print(json.dumps({"rank": distributed.rank(), "run_id": done.run_id, "written": done.recommendations_written}),
          flush=True)


def main() -> None:
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(1)
    if spec.get("kill"):
        _kill_at(*spec["kill"])
    with distributed.session(spec.get("backend", "auto"), "cpu", spec.get("timeout", 60)):
        if "write" in spec:
            _write(spec["write"])
        for run in spec.get("runs", []):
            _train(run)


if __name__ == "__main__":
    main()
