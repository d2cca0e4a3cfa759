"""One trainer for every ranking model: BPR sampling, early stopping on validation, checkpoints.

Model selection looks only at the validation split carved from train; the test split is scored
once, with the selected weights. A checkpoint is written after every evaluation, so a killed run
started again with the same configuration resumes where it stopped.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kg_store.progress import Progress, bars_enabled, iterate, log_lines_enabled, note
from recommender.config import ModelConfig, TrainConfig, config_dict
from recommender.data import RecData
from recommender.errors import TrainingError
from recommender.evaluate import evaluate_ranking, sparsity_groups, summarize
from recommender.models.base import RankingModel, build_model


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("CUDA was requested but no GPU is available; use --device cpu or auto.")
    return torch.device(name)


class NegativeSampler:
    """Uniform negatives that are not among the user's train items (rejection, vectorized)."""

    def __init__(self, train: np.ndarray, n_items: int, rng: np.random.Generator):
        self.n_items, self.rng = n_items, rng
        self.known = np.unique(train[:, 0].astype(np.int64) * n_items + train[:, 1])

    def sample(self, users: np.ndarray) -> np.ndarray:
        negatives = self.rng.integers(0, self.n_items, len(users))
        for _ in range(20):
            clash = np.isin(users * self.n_items + negatives, self.known, assume_unique=False)
            if not clash.any():
                break
            negatives[clash] = self.rng.integers(0, self.n_items, int(clash.sum()))
        return negatives


@dataclass
class TrainResult:
    model: RankingModel
    best_epoch: int
    epochs_run: int
    valid: dict[str, float]
    test: dict[str, float]
    sparsity: list[dict[str, float]]
    seconds_per_epoch: float
    history: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        return {"best_epoch": self.best_epoch, "epochs_run": self.epochs_run, "valid": self.valid,
                "test": self.test, "sparsity_ndcg@50": self.sparsity,
                "seconds_per_epoch": round(self.seconds_per_epoch, 3)}


def run_key(model_name: str, dataset: str, data_key: str, model_config: ModelConfig, train_config: TrainConfig) -> str:
    text = json.dumps({"m": model_name, "d": dataset, "k": data_key, **config_dict(model_config, train_config)},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Trainer:
    def __init__(self, data: RecData, model_name: str, model_config: ModelConfig, train_config: TrainConfig,
                 checkpoint_dir: Path | None = None, progress: Progress = None):
        self.data, self.model_name = data, model_name
        self.model_config, self.config = model_config, train_config
        self.checkpoint_dir, self.progress = checkpoint_dir, progress
        if train_config.threads:
            torch.set_num_threads(train_config.threads)
        self.device = pick_device(train_config.device)
        torch.manual_seed(train_config.seed)
        self.rng = np.random.default_rng(train_config.seed)
        self.generator = torch.Generator().manual_seed(train_config.seed)
        self.model = build_model(model_name, data, model_config, self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train_config.lr)
        self.sampler = NegativeSampler(data.train, data.n_items, self.rng)

    # -- one epoch ---------------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        order = self.rng.permutation(len(self.data.train))
        pairs = self.data.train[order]
        negatives = self.sampler.sample(pairs[:, 0])
        sums: dict[str, float] = {}
        batches = range(0, len(pairs), self.config.batch_size)
        for start in iterate(batches, f"epoch {epoch}", self.progress):
            end = start + self.config.batch_size
            users, pos, neg = (torch.from_numpy(a[start:end]).to(self.device)
                               for a in (pairs[:, 0], pairs[:, 1], negatives))
            losses = self.model.batch_loss(users, pos, neg, epoch)
            if not torch.isfinite(losses["total"]):
                raise TrainingError(
                    f"The {self.model_name} loss became {float(losses['total'].detach())} at epoch {epoch}; "
                    f"lower the learning rate (now {self.config.lr}) or the loss weights."
                )
            self.optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            self.optimizer.step()
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value.item()
        logged = {name: value / len(batches) for name, value in sums.items()}
        logged.update(self.model.epoch_end(self.optimizer, epoch, self.generator))
        return logged

    # -- evaluation --------------------------------------------------------------------------------
    def evaluate(self, split: str) -> dict[str, np.ndarray]:
        self.model.eval()
        with torch.no_grad():
            embeddings = self.model.final_embeddings()
            held_out = self.data.valid if split == "valid" else self.data.test
            known = [self.data.train] if split == "valid" else [self.data.train, self.data.valid]
            return evaluate_ranking(lambda users: self.model.score_users(users, embeddings),
                                    self.data.n_users, self.data.n_items, held_out, known,
                                    self.config.ks, self.config.eval_batch_size, self.device)

    # -- checkpoints -------------------------------------------------------------------------------
    def _checkpoint_path(self) -> Path | None:
        return self.checkpoint_dir / "checkpoint.pt" if self.checkpoint_dir else None

    def _save(self, state: dict[str, Any]) -> None:
        path = self._checkpoint_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        torch.save(state, partial)
        partial.replace(path)

    def _resume(self) -> dict[str, Any] | None:
        path = self._checkpoint_path()
        if path is None or not path.exists():
            return None
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["numpy_rng"]
        self.generator.set_state(state["torch_generator"])
        torch.set_rng_state(state["torch_rng"])
        return state

    # -- the loop ----------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg = self.config
        metric = cfg.select_metric
        state = self._resume() or {}
        start_epoch = state.get("epoch", -1) + 1
        best_value = state.get("best_value", -1.0)
        best_epoch = state.get("best_epoch", -1)
        best_weights = state.get("best_weights") or copy.deepcopy(self.model.state_dict())
        history: list[dict[str, Any]] = state.get("history", [])
        stale = state.get("stale", 0)
        train_seconds = state.get("train_seconds", 0.0)
        if start_epoch > 0:
            note(f"Resuming {self.model_name} from epoch {start_epoch} ({self._checkpoint_path()}).", self.progress)
        epoch = start_epoch - 1
        bar = tqdm(range(start_epoch, cfg.epochs), desc=self.model_name, disable=not bars_enabled(self.progress))
        for epoch in bar:
            started = time.perf_counter()
            logged = self.train_epoch(epoch)
            train_seconds += time.perf_counter() - started
            if (epoch + 1) % cfg.eval_every and epoch + 1 < cfg.epochs:
                continue
            valid = summarize(self.evaluate("valid"))
            entry = {"epoch": epoch, **logged, **{f"valid_{k}": v for k, v in valid.items()}}
            if cfg.track_test:
                entry.update({f"test_{k}": v for k, v in summarize(self.evaluate("test")).items()})
            history.append(entry)
            if valid[metric] > best_value:
                best_value, best_epoch, stale = valid[metric], epoch, 0
                best_weights = copy.deepcopy(self.model.state_dict())
            else:
                stale += 1
            bar.set_postfix(loss=f"{logged['total']:.4f}", **{metric: f"{valid[metric]:.4f}"})
            if log_lines_enabled(self.progress):  # a log gets one line per evaluated epoch
                note(f"{self.model_name} epoch {epoch + 1}/{cfg.epochs}: loss {logged['total']:.4f}, "
                     f"valid {metric} {valid[metric]:.4f}", self.progress)
            self._save({"epoch": epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                        "best_value": best_value, "best_epoch": best_epoch, "best_weights": best_weights,
                        "history": history, "stale": stale, "train_seconds": train_seconds,
                        "numpy_rng": self.rng.bit_generator.state, "torch_generator": self.generator.get_state(),
                        "torch_rng": torch.get_rng_state()})
            if stale >= cfg.patience:
                break
        epochs_run = epoch + 1
        self.model.load_state_dict(best_weights)
        valid_metrics = summarize(self.evaluate("valid"))
        test_per_user = self.evaluate("test")
        groups = sparsity_groups(self.data.train_counts(), test_per_user["users"], test_per_user["ndcg@50"]) \
            if "ndcg@50" in test_per_user else []
        return TrainResult(
            model=self.model, best_epoch=best_epoch, epochs_run=epochs_run, valid=valid_metrics,
            test=summarize(test_per_user), sparsity=groups,
            seconds_per_epoch=train_seconds / max(epochs_run, 1), history=history, notes=self.model.notes,
        )
