"""Train, evaluate and recommend: the glue between the graph store and the recommender.

Flow: export the dataset's subgraph (cached by graph version) -> ``RecData`` with a validation
split carved from train -> ``Trainer`` (checkpoints under the cache, so a killed run resumes) ->
test metrics, mean and std over seeds -> top-K per user and a ``TrainingRun`` node written back.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kg_store.connection import GraphStore
from kg_store.export import export_dataset
from kg_store.graph_export import GraphExport
from kg_store.interest_sets import AUTHORS_SET, require_interest_set
from kg_store.paths import kgrec_cache_home
from kg_store.progress import Progress
from kg_store.writeback import save_training_run, write_recommendations
from recommender.config import config_dict, resolve_config
from recommender.data import RecData, from_export
from recommender.evaluate import top_unseen
from recommender.models.base import RankingModel
from recommender.trainer import Trainer, TrainResult, run_key


@dataclass
class TrainingOutcome:
    run_id: str
    model: str
    dataset: str
    seeds: list[int]
    results: list[TrainResult]
    summary: dict[str, dict[str, float]]          # metric -> {mean, std}
    notes: list[str] = field(default_factory=list)
    recommendations_written: int = 0

    def metrics(self) -> dict[str, Any]:
        return {"test_mean_std": self.summary, "per_seed": [r.metrics() for r in self.results],
                "seeds": self.seeds, "notes": self.notes}


def _mean_std(results: list[TrainResult]) -> dict[str, dict[str, float]]:
    names = results[0].test.keys()
    return {name: {"mean": float(np.mean([r.test[name] for r in results])),
                   "std": float(np.std([r.test[name] for r in results]))} for name in names}


def top_k(model: RankingModel, data: RecData, k: int, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` unseen items (train, valid and test items excluded) per user: (indices, scores)."""
    model.eval()
    with torch.no_grad():
        embeddings = model.final_embeddings()
        return top_unseen(lambda users: model.score_users(users, embeddings), np.arange(data.n_users),
                          [data.train, data.valid, data.test], data.n_users, min(k, data.n_items),
                          batch_size, model.device)


@dataclass
class SeedRun:
    """One seed's trained model with the data and the resolved config it was trained with."""

    seed: int
    result: TrainResult
    data: RecData
    config: dict[str, Any]
    select_metric: str

    @property
    def score(self) -> float:
        """The validation metric that selects the best seed (never a test metric)."""
        return self.result.valid.get(self.select_metric, 0.0)


def train_seed(export: GraphExport, dataset: str, model: str, seed: int, progress: Progress = None,
               **overrides: Any) -> SeedRun:
    """Train one seed; checkpoints live under the cache keyed by data and config, so a rerun resumes."""
    model_config, train_config = resolve_config(model, dataset, seed=seed, **overrides)
    data = from_export(export, valid_ratio=train_config.valid_ratio, seed=seed)
    key = run_key(model, dataset, export.cache_key, model_config, train_config)
    trainer = Trainer(data, model, model_config, train_config,
                      checkpoint_dir=kgrec_cache_home() / "runs" / key, progress=progress)
    return SeedRun(seed, trainer.fit(), data, config_dict(model_config, train_config), train_config.select_metric)


def best_seed_run(runs: list[SeedRun]) -> SeedRun:
    """The run with the best validation score; the first one on ties."""
    return max(runs, key=lambda run: run.score)


def train_and_write(store: GraphStore, dataset: str, model: str, seeds: list[int] | None = None, k: int = 20,
                    write_back: bool = True, progress: Progress = None, export: GraphExport | None = None,
                    interest_set: str | None = None, **overrides: Any) -> TrainingOutcome:
    """Train ``model`` on ``dataset`` for each seed; save the best seed's model and config, write its top-``k``.

    The saved model and the ``TrainingRun`` node carry the selected seed's own config, so
    ``kgrec evaluate --run-id`` rebuilds exactly the split and model that were selected.
    ``interest_set`` names the interests to train on; left out, the authors' set is used when the
    dataset has it (and none otherwise), while a named set the dataset lacks is an error.
    """
    started = datetime.now(UTC)
    if interest_set is not None:
        require_interest_set(store, dataset, interest_set)
    interest_set = interest_set or AUTHORS_SET
    export = export or export_dataset(store, dataset, interest_set=interest_set)
    seeds = seeds or [overrides.pop("seed", None) or 2024]
    overrides.pop("seed", None)
    runs = [train_seed(export, dataset, model, seed, progress, **overrides) for seed in seeds]
    results = [run.result for run in runs]
    run_id = f"{model}-{started.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    outcome = TrainingOutcome(run_id=run_id, model=model, dataset=dataset, seeds=seeds, results=results,
                              summary=_mean_std(results), notes=results[0].notes)
    best = best_seed_run(runs)
    _save_model(run_id, best.result, model, dataset, best.config, interest_set)
    if write_back:
        items, scores = top_k(best.result.model, best.data, k)
        outcome.recommendations_written = write_recommendations(
            store, dataset, model, run_id, export.user_ids, export.item_ids, items, scores, progress)
        save_training_run(store, dataset, model, run_id, best.config, outcome.metrics(), started)
    return outcome


def _save_model(run_id: str, result: TrainResult, model: str, dataset: str, config: dict[str, Any],
                interest_set: str = AUTHORS_SET) -> Path:
    path = kgrec_cache_home() / "models" / f"{run_id}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "dataset": dataset, "config": config, "state": result.model.state_dict(),
                "metrics": result.metrics(), "interest_set": interest_set}, path)
    (path.with_suffix(".json")).write_text(json.dumps(result.metrics(), indent=2))
    return path


def evaluate_saved(store: GraphStore, run_id: str) -> dict[str, Any]:
    """Recompute test metrics of a saved run on the dataset as it is in the graph now."""
    from recommender.config import ModelConfig, TrainConfig
    from recommender.errors import TrainingError
    from recommender.schedules import MaskSchedule

    path = kgrec_cache_home() / "models" / f"{run_id}.pt"
    if not path.exists():
        raise TrainingError(f"No saved model for run '{run_id}' in {path.parent}.")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model_part = dict(saved["config"]["model"])
    model_part["mask"] = MaskSchedule(**model_part["mask"])
    train_part = dict(saved["config"]["train"])
    train_part["ks"] = tuple(train_part["ks"])
    model_config, train_config = ModelConfig(**model_part), TrainConfig(**train_part)
    export = export_dataset(store, saved["dataset"], interest_set=saved.get("interest_set", AUTHORS_SET))
    data = from_export(export, valid_ratio=train_config.valid_ratio, seed=train_config.seed)
    trainer = Trainer(data, saved["model"], model_config, train_config, progress=False)
    trainer.model.load_state_dict(saved["state"])
    from recommender.evaluate import sparsity_groups, summarize

    per_user = trainer.evaluate("test")
    return {"run_id": run_id, "model": saved["model"], "dataset": saved["dataset"],
            "test": summarize(per_user),
            "sparsity_ndcg@50": sparsity_groups(data.train_counts(), per_user["users"], per_user["ndcg@50"])}


def train_transe_and_write(store: GraphStore, dataset: str, epochs: int = 50, embedding_dim: int = 64,
                           seed: int = 2024, device: str = "auto", write_back: bool = True) -> dict[str, Any]:
    """TransE via PyKEEN on the dataset's KG; entity vectors go to ``Entity.transe_embedding``."""
    from kg_store.writeback import write_entity_embeddings
    from recommender.trainer import pick_device
    from recommender.transe import train_transe

    export = export_dataset(store, dataset)
    result = train_transe(export.triples, len(export.entity_ids), export.relation_types, embedding_dim, epochs,
                          seed=seed, device=str(pick_device(device)))
    written = write_entity_embeddings(store, dataset, export.entity_ids, result.entity_embeddings) if write_back else 0
    return {"dataset": dataset, "epochs": epochs, "metrics": result.metrics, "entities_written": written}
