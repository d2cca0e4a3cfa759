"""Train, evaluate and recommend: the glue between the graph store and the recommender.

Flow: export the dataset's subgraph (cached by graph version) -> ``RecData`` with a validation
split carved from train -> ``train_model`` under the configured protocol (``valid``, ``refit`` or
``test-selected``; checkpoints under the cache, so a killed run resumes) -> test metrics, mean and
std over seeds -> a ``TrainingRun`` node, then top-K per user as TOP_K lists pointing at it (``kg_store.writeback``),
final user and item vectors (``kg_store.embeddings``), and the run's metrics, ``finished`` time and
saved model's path and sha256 written back. In a process group (``kgrec train --nproc N``, torchrun:
``recommender.distributed``) every process trains its share of each batch; rank 0 alone saves and writes back.

Each run's validation pairs are saved in original ids (``user<TAB>item`` after a header line) as
``valid_split.tsv`` beside its checkpoints and as ``models/<run_id>.valid.tsv`` beside the saved
model, so ``evaluate_saved`` rebuilds exactly that split. ``evaluate_saved(..., rankings=FILE)``
writes each test user's top-100 (``user<TAB>item<TAB>rank<TAB>score``, original ids, rank 1-based,
after a header line) with everything the run trained or validated on masked, to audit the metrics.

A saved model (``models/<run_id>.pt``) holds only tensors and plain values, and is loaded only after
its run id has kgrec's form (``kg_store.run_ids``) and its sha256 equals the ``model_sha256`` its
``TrainingRun`` node recorded; runs trained without write-back are not in the graph, so not loadable.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.embeddings import write_embeddings, write_interest_embeddings
from kg_store.errors import ModelFileError, ModelFileMismatchError
from kg_store.export import export_dataset
from kg_store.graph_export import GraphExport
from kg_store.interest_sets import AUTHORS_SET, require_interest_set
from kg_store.paths import kgrec_cache_home
from kg_store.progress import Progress
from kg_store.run_ids import check_run_id, run_record
from kg_store.writeback import write_recommendations
from kgrec.runs import RunRecord, best_seed_index, mean_std, out_of_memory_hint, seed_metrics
from recommender import distributed
from recommender.config import TrainConfig, config_dict, model_config_class, resolve_config
from recommender.data import RecData, from_export, read_valid_split, write_valid_split
from recommender.ddp_loop import agree_on_run
from recommender.evaluate import sparsity_groups, summarize, top_unseen, users_with, write_rankings
from recommender.models.base import RankingModel
from recommender.models.configs import RankingConfig
from recommender.protocols import train_model
from recommender.registry import model_name
from recommender.trainer import Trainer, TrainResult, run_key

RANKINGS_K = 100
VALID_SPLIT_FILE = "valid_split.tsv"


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
    protocol: str = "valid"
    preset: str | None = None
    selected_seed: int | None = None

    def metrics(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "preset": self.preset,
                **seed_metrics(self.seeds, self.results, self.summary, self.selected_seed, self.notes)}


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
    """One seed's trained model with the data (its validation split included) and resolved config."""

    seed: int
    result: TrainResult
    data: RecData
    config: dict[str, Any]
    select_metric: str

    @property
    def score(self) -> float:
        """The validation metric that selects the best seed (never a test metric)."""
        return self.result.valid.get(self.select_metric, 0.0)


def protocol_data(export: GraphExport, train_config: TrainConfig, valid_pairs: np.ndarray | None = None) -> RecData:
    """The split a protocol starts from: train and validation for ``valid`` and ``refit`` (carved
    from train unless the graph stores one, or exactly ``valid_pairs``), all of train for ``test-selected``."""
    if train_config.protocol == "test-selected":
        return from_export(export, valid_ratio=0, seed=train_config.seed, valid_pairs=valid_pairs).without_validation()
    return from_export(export, valid_ratio=train_config.valid_ratio, seed=train_config.seed, valid_pairs=valid_pairs)


def train_seed(export: GraphExport, dataset: str, model: str, seed: int, progress: Progress = None,
               preset: str | None = None, **overrides: Any) -> SeedRun:
    """Train one seed; checkpoints live under the cache keyed by data and config, so a rerun resumes.
    The validation split goes beside them, as ``valid_split.tsv``."""
    model_config, train_config = resolve_config(model, dataset, preset=preset, seed=seed, **overrides)
    data = protocol_data(export, train_config)
    run_dir = kgrec_cache_home() / "runs" / run_key(model, dataset, export.cache_key, model_config, train_config)
    agree_on_run(model, dataset, export.cache_key, model_config, train_config)   # in a process group
    if distributed.is_main():
        write_valid_split(run_dir / VALID_SPLIT_FILE, data.valid, export)
    with out_of_memory_hint(model, dataset, train_config, (data.n_users, data.n_items, model_config.embedding_dim)):
        result = train_model(data, model, model_config, train_config, checkpoint_dir=run_dir, progress=progress)
    return SeedRun(seed, result, data, config_dict(model_config, train_config), train_config.select_metric)


def best_seed_run(runs: list[SeedRun]) -> SeedRun:
    """The run with the best validation score; the first one on ties.

    Test never chooses among seeds: test-selected runs have no validation score, so the first
    seed's run is the one saved and written back (``kgrec.runs.best_seed_index``).
    """
    return runs[best_seed_index([run.score for run in runs], runs[0].result.protocol)]


def train_and_write(store: GraphStore, dataset: str, model: str | type[RankingModel], seeds: list[int] | None = None, k: int = 20,
                    write_back: bool = True, progress: Progress = None, export: GraphExport | None = None,
                    interest_set: str | None = None, preset: str | None = None, edges: str = "auto",
                    dist_backend: str = "auto", dist_timeout: float | None = None, **overrides: Any) -> TrainingOutcome:
    """Train ``model`` on ``dataset`` for each seed; save the best seed's model and config, write its top-``k``.

    ``model`` is a registered name or a registered ``RankingModel`` subclass (``recommender.registry``):
    runs are recorded, rebuilt and served by name. Not an instance: the model is built from the
    data's sizes, once per seed and protocol phase.

    The saved model and the ``TrainingRun`` node carry the selected seed's own config, so
    ``kgrec evaluate --run-id`` rebuilds exactly the split and model that were selected.
    ``interest_set`` names the interests to train on; left out, the authors' set is used when the
    dataset has it (and none otherwise), while a named set the dataset lacks is an error.
    ``preset`` names a bundle of settings (``recommender.config.PRESETS``); ``protocol`` in
    ``overrides`` picks the evaluation protocol (``valid`` by default). ``edges``: whether the
    RECOMMENDED view is written besides the TOP_K lists (``kg_store.writeback.write_recommendations``).
    Under torchrun each process joins the process group (``dist_backend``, ``dist_timeout`` seconds:
    ``recommender.distributed.join``) and trains its share of each batch; rank 0 alone writes.
    """
    started = datetime.now(UTC)
    distributed.join(dist_backend, overrides.get("device") or "auto", dist_timeout)
    model = model_name(model)
    if interest_set is not None:
        require_interest_set(store, dataset, interest_set)
    interest_set = interest_set or AUTHORS_SET
    export = export or distributed.once_per_node(lambda: export_dataset(store, dataset, interest_set=interest_set),
                                                 f"the export of {dataset}")
    seeds = seeds or [overrides.pop("seed", None) or 2024]
    overrides.pop("seed", None)
    runs = [train_seed(export, dataset, model, seed, progress, preset, **overrides) for seed in seeds]
    results = [run.result for run in runs]
    best = best_seed_run(runs)
    record = RunRecord(dataset, model, best.config, started)
    run_id = record.run_id
    outcome = TrainingOutcome(run_id=run_id, model=model, dataset=dataset, seeds=seeds, results=results,
                              summary=mean_std(results), notes=results[0].notes, protocol=results[0].protocol,
                              preset=preset, selected_seed=best.seed)
    if not distributed.is_main():   # the other processes of a group trained the same model: rank 0 writes
        return outcome
    path = _save_model(run_id, best.result, model, dataset, best.config, interest_set)
    write_valid_split(path.with_suffix(".valid.tsv"), best.data.valid, export)
    if write_back:      # the run node first: the TOP_K lists point at it; finished and metrics at the end
        record.start(store)
        items, scores = top_k(best.result.model, best.data, k)
        outcome.recommendations_written = write_recommendations(
            store, dataset, model, run_id, export.user_ids, export.item_ids, items, scores, progress, edges=edges)
        artifacts = {"model_path": str(path), "model_sha256": file_sha256(path),
                     **_write_vectors(store, export, dataset, model, run_id, best.result.model, outcome, progress,
                                     interest_set)}
        record.finish(store, outcome.metrics(), artifacts)
    return outcome


def _write_vectors(store: GraphStore, export: GraphExport, dataset: str, model: str, run_id: str,
                   trained: RankingModel, outcome: TrainingOutcome, progress: Progress,
                   interest_set: str = AUTHORS_SET) -> dict[str, str | int]:
    """Final user and item vectors onto the nodes, under the model's registered embedding property
    (``recommender.registry``; an unregistered model is an error, not a skipped write); TrainingRun properties.

    A model with interest nodes also leaves its final interest vectors on the ``Interest`` nodes of
    ``interest_set`` (the set it trained with), and the run records that set. A linked dataset's graph
    gets no property from kgrec, so its runs keep their vectors in the model file only."""
    if dataset_info(store, dataset).get("linked"):
        outcome.notes.append(f"{dataset} is a linked graph: vectors stay in the run's model file, not on its nodes")
        return {}
    trained.eval()
    with torch.no_grad():
        users, items = (t.detach().cpu().numpy() for t in trained.final_embeddings())
        interests = trained.final_interest_embeddings()
    report = write_embeddings(store, dataset, model, run_id, export.user_ids, export.item_ids, users, items, progress)
    outcome.notes.extend(report.notes)
    artifacts: dict[str, str | int] = {"embedding_property": report.property, "embedding_dim": report.dimensions,
                                       "embedding_users": report.users, "embedding_items": report.items}
    if interests is not None and len(export.interest_ids):
        vectors = interests.detach().cpu().numpy()
        written = write_interest_embeddings(store, dataset, model, run_id, interest_set, export.interest_ids,
                                            vectors, progress)
        outcome.notes.extend(written.notes)
        artifacts.update(embedding_interests=len(export.interest_ids), interest_set=interest_set)
    return artifacts


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def saved_model_path(run_id: str) -> Path:
    """``<cache>/models/<run_id>.pt``; the id is checked first, so the path stays in that folder."""
    return kgrec_cache_home() / "models" / f"{check_run_id(run_id)}.pt"


def _plain(value: Any) -> Any:
    """``value`` as JSON types (dicts, lists, str, int, float, bool, None): what ``weights_only``
    loading accepts besides tensors, whatever numpy scalars or tuples a config or metric held."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if isinstance(v, np.generic) else str(v)))


def _save_model(run_id: str, result: TrainResult, model: str, dataset: str, config: dict[str, Any],
                interest_set: str = AUTHORS_SET) -> Path:
    """Tensors (the state dict) and plain values only, so :func:`load_saved_model` needs no unpickling of code."""
    path = saved_model_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    metrics = _plain(result.metrics())
    torch.save({"model": model, "dataset": dataset, "config": _plain(config), "state": result.model.state_dict(),
                "metrics": metrics, "interest_set": interest_set}, path)
    (path.with_suffix(".json")).write_text(json.dumps(metrics, indent=2))
    return path


def load_saved_model(store: GraphStore, run_id: str) -> dict[str, Any]:
    """The saved state of run ``run_id``, trusted only when it is the file the run recorded.

    In order, before anything is unpickled: the id must have kgrec's form, the run must be in the
    graph with a recorded ``model_sha256``, its file must be in this cache's models folder, and the
    file's sha256 must equal the recorded one. The bytes hashed are the bytes loaded, and only
    tensors and plain values are accepted (``weights_only=True``).
    """
    record = run_record(store, run_id)
    path = saved_model_path(run_id)
    expected = record.get("model_sha256")
    if not expected:
        raise ModelFileError(f"Training run {run_id!r} recorded no saved model (its model file is written by "
                             "`kgrec train` for ranking models, when the run is written back).")
    if not path.is_file():
        raise ModelFileError(f"No saved model for run {run_id!r}: {path} does not exist "
                             f"(the run recorded {record.get('model_path')}).")
    blob = path.read_bytes()
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected:
        raise ModelFileMismatchError(path, expected, actual)
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ModelFileError(f"{path} holds more than tensors and plain values, which kgrec does not load; "
                             f"train the run again to save it in the current format ({error}).") from error


def _saved_configs(saved: dict[str, Any]) -> tuple[RankingConfig, TrainConfig]:
    """The saved run's configs: the model's own config class reads its fields (older runs saved one
    shared config holding every model's settings: the ones this model lacks are dropped)."""
    model_part = model_config_class(saved["model"]).from_dict(saved["config"]["model"])
    train_part = dict(saved["config"]["train"])
    train_part["ks"] = tuple(train_part["ks"])
    return model_part, TrainConfig(**train_part)


def saved_split_data(export: GraphExport, run_id: str, train_config: TrainConfig) -> RecData:
    """The run's data: its saved validation split when there is one (else carved again as in training);
    refit and test-selected runs trained on all of train, so their train holds the validation pairs too."""
    split_file = saved_model_path(run_id).with_suffix(".valid.tsv")
    valid_pairs = read_valid_split(split_file, export) if split_file.exists() else None
    data = protocol_data(export, train_config, valid_pairs)
    return data.without_validation() if train_config.protocol == "refit" else data


def evaluate_saved(store: GraphStore, run_id: str, dataset: str | None = None, rankings: Path | None = None,
                   rankings_k: int = RANKINGS_K) -> dict[str, Any]:
    """Recompute test metrics of a saved run on the dataset as it is in the graph now.

    The run's saved validation split is used when present (so the split is exactly the run's),
    else it is carved again from the saved config. ``rankings`` writes each test user's top
    ``rankings_k`` to that file (see :func:`recommender.evaluate.write_rankings`), with the run's
    train and validation items masked, as they are when the metrics are computed.
    """
    from recommender.errors import TrainingError

    saved = load_saved_model(store, run_id)
    if dataset is not None and dataset != saved["dataset"]:
        raise TrainingError(f"Run '{run_id}' was trained on '{saved['dataset']}', not '{dataset}'.")
    model_config, train_config = _saved_configs(saved)
    export = export_dataset(store, saved["dataset"], interest_set=saved.get("interest_set", AUTHORS_SET))
    data = saved_split_data(export, run_id, train_config)
    trainer = Trainer(data, saved["model"], model_config, train_config, progress=False)
    trainer.model.load_state_dict(saved["state"])
    per_user = trainer.evaluate("test")
    report = {"run_id": run_id, "model": saved["model"], "dataset": saved["dataset"],
              "protocol": train_config.protocol, "test": summarize(per_user),
              "sparsity_ndcg@50": sparsity_groups(data.train_counts(), per_user["users"], per_user["ndcg@50"])
              if "ndcg@50" in per_user and len(per_user["users"]) else []}
    if rankings is not None:
        report["rankings"] = _write_test_rankings(trainer, export, rankings, rankings_k)
    return report


def _write_test_rankings(trainer: Trainer, export: GraphExport, path: Path, k: int) -> dict[str, Any]:
    """Top-``k`` of every test user with train and validation masked (all the run saw), in original ids."""
    data, model = trainer.data, trainer.model
    users = users_with(data.test, data.n_users)
    model.eval()
    with torch.no_grad():
        embeddings = model.final_embeddings()
        items, scores = top_unseen(lambda batch: model.score_users(batch, embeddings), users,
                                   [data.train, data.valid], data.n_users, min(k, data.n_items),
                                   trainer.config.eval_batch_size, model.device)
    lines = write_rankings(path, users, items, scores, export.user_ids, export.item_ids)
    return {"path": str(path), "users": int(len(users)), "k": k, "lines": lines,
            "format": "user<TAB>item<TAB>rank<TAB>score after a header line; original ids, rank 1-based"}


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
