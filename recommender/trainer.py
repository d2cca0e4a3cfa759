"""One trainer for every ranking model: BPR sampling, early stopping, checkpoints, and the
evaluation protocols (``TrainConfig.protocol``), each its own code path, run by ``train_model``
(:mod:`recommender.protocols`):

* ``valid`` (``fit_valid``): the epoch is chosen on the validation split (carved from train or
  stored in the graph) with early stopping; test is scored once, with the chosen weights.
* ``refit`` (``fit_refit``): the ``valid`` protocol chooses the epoch count E = best epoch + 1, then
  a fresh model with the same seed trains on all of train (train + the validation pairs) for
  exactly E epochs without any evaluation, and test is scored once.
* ``test-selected`` (``fit_test_selected``): the paper's protocol: all of train, test evaluated
  at every evaluation, early stopping and the best epoch on test (recall@K + ndcg@K, K from
  ``select_metric``: the reference code's criterion). Labelled as such: for comparison only.

A checkpoint is written after every evaluation (every ``eval_every`` epochs without one), so a
killed run started again with the same configuration resumes where it stopped; ``train_model``
gives each phase its own checkpoint folder (``<dir>/valid``, ``<dir>/refit``, ``<dir>/test-selected``).
A checkpoint holds tensors and plain values only and is read with ``weights_only=True``: a file that
needs any other object unpickled is refused, not run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from kg_store.progress import Progress, bars_enabled, iterate, log_lines_enabled, note
from recommender.config import TrainConfig, config_dict
from recommender.data import RecData
from recommender.errors import DataError, TrainingError
from recommender.evaluate import evaluate_ranking, sparsity_groups, summarize
from recommender.models.base import RankingModel, build_model
from recommender.models.configs import RankingConfig
from recommender.registry import model_label

#: a model as the trainer takes it: a registered name or a ``RankingModel`` subclass (not an instance:
#: the model is built from the data's sizes, and afresh for each seed and protocol phase)
ModelRef = str | type[RankingModel]


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
        """One negative per user. Each round redraws the clashing negatives only, and checks only those
        again (the others are unchanged): the draws of checking every pair each round, at a fraction of
        the lookups, each a binary search in the sorted known pairs."""
        negatives = self.rng.integers(0, self.n_items, len(users))
        keys = users.astype(np.int64) * self.n_items
        pending = np.arange(len(users))
        for _ in range(20):
            pending = pending[self._known(keys[pending] + negatives[pending])]
            if not len(pending):
                break
            negatives[pending] = self.rng.integers(0, self.n_items, len(pending))
        return negatives

    def _known(self, keys: np.ndarray) -> np.ndarray:
        """Whether each (user * n_items + item) key is a train pair. Shapes: (B,) -> (B,) bool."""
        if not len(self.known):
            return np.zeros(len(keys), dtype=bool)
        found = np.searchsorted(self.known, keys).clip(max=len(self.known) - 1)
        return self.known[found] == keys


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
    protocol: str = "valid"
    refit_epochs: int | None = None                  # refit: epochs trained on all of train
    valid_protocol_test: dict[str, float] | None = None  # refit: test metrics of the valid phase's model

    def metrics(self) -> dict[str, Any]:
        metrics = {"protocol": self.protocol, "best_epoch": self.best_epoch, "epochs_run": self.epochs_run,
                   "valid": self.valid, "test": self.test, "sparsity_ndcg@50": self.sparsity,
                   "seconds_per_epoch": round(self.seconds_per_epoch, 3)}
        if self.protocol == "refit":
            metrics.update(refit_epochs=self.refit_epochs, valid_protocol_test=self.valid_protocol_test)
        if self.protocol == "test-selected":
            metrics["selection"] = TEST_SELECTED_NOTE
        return metrics


TEST_SELECTED_NOTE = ("epoch chosen on test (the paper's protocol): for comparison only, "
                      "not a kgrec model selection")


def run_key(model: ModelRef, dataset: str, data_key: str, model_config: RankingConfig,
            train_config: TrainConfig) -> str:
    text = json.dumps({"m": model_label(model), "d": dataset, "k": data_key, **config_dict(model_config, train_config)},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Trainer:
    """Trains one model on ``data``. ``model`` is a registered name or a ``RankingModel`` subclass; an
    instance is refused, because the model is built here from the data's sizes (and ``refit`` builds
    a fresh one for its second phase), with ``model_config`` of the class's ``config_class``."""

    def __init__(self, data: RecData, model: ModelRef, model_config: RankingConfig, train_config: TrainConfig,
                 checkpoint_dir: Path | None = None, progress: Progress = None):
        self.data, self.model_ref, self.model_name = data, model, model_label(model)
        self.model_config, self.config = model_config, train_config
        self.checkpoint_dir, self.progress = checkpoint_dir, progress
        if train_config.threads:
            torch.set_num_threads(train_config.threads)
        self.device = pick_device(train_config.device)
        torch.manual_seed(train_config.seed)
        self.rng = np.random.default_rng(train_config.seed)
        self.generator = torch.Generator().manual_seed(train_config.seed)
        self.model = build_model(model, data, model_config, self.device)
        self.optimizer = self.model.make_optimizer(train_config.lr)
        self.sampler = NegativeSampler(data.train, data.n_items, self.rng)
        self.captured: Callable[..., dict[str, float]] | None = None   # TrainConfig.capture: recommender.capture
        if train_config.capture != "none":
            from recommender.capture import captured_step
            self.captured = captured_step(self)

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
            losses = self._step(pairs[start:end, 0], pairs[start:end, 1], negatives[start:end], epoch)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value
        logged = {name: value / len(batches) for name, value in sums.items()}
        logged.update(self.model.epoch_end(self.optimizer, epoch, self.generator))
        return logged

    def _step(self, users: np.ndarray, pos: np.ndarray, neg: np.ndarray, epoch: int) -> dict[str, float]:
        """One optimisation step on a batch of (user, positive, negative) index arrays."""
        if self.captured is not None:
            return self.captured(users, pos, neg, epoch)
        tensors = (torch.from_numpy(a).to(self.device) for a in (users, pos, neg))
        losses = self.model.batch_loss(*tensors, epoch)
        if not torch.isfinite(losses["total"]):
            raise TrainingError(
                f"The {self.model_name} loss became {float(losses['total'].detach())} at epoch {epoch}; "
                f"lower the learning rate (now {self.config.lr}) or the loss weights."
            )
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        self.optimizer.step()
        return {name: value.item() for name, value in losses.items()}

    def steps_per_epoch(self) -> int:
        return -(-len(self.data.train) // self.config.batch_size)

    def time_steps(self, steps: int) -> float:
        """Median seconds of one full-size optimisation step, over ``steps`` steps after one warm-up
        (for ``kgrec train --estimate``; the model is changed, so use a throw-away trainer)."""
        self.model.train()
        size = min(self.config.batch_size, len(self.data.train))
        times = []
        for _ in range(steps + 1):
            picked = self.data.train[self.rng.integers(0, len(self.data.train), size)]
            negatives = self.sampler.sample(picked[:, 0])
            started = time.perf_counter()
            self._step(picked[:, 0], picked[:, 1], negatives, 0)
            times.append(time.perf_counter() - started)
        return float(np.median(times[1:]))

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

    def _state(self, epoch: int, best_weights: dict[str, Any] | None, loop: dict[str, Any]) -> dict[str, Any]:
        return {"epoch": epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "model_training_state": self.model.training_state(), "best_weights": best_weights, **loop,
                "numpy_rng": self.rng.bit_generator.state, "torch_generator": self.generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                # masks, edge dropout and view noise are drawn on the model's device
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None}

    def _resume(self) -> dict[str, Any] | None:
        path = self._checkpoint_path()
        if path is None or not path.exists():
            return None
        try:    # kgrec's own checkpoints hold tensors and plain values only: nothing else is unpickled
            state = torch.load(path, map_location=self.device, weights_only=True)
        except pickle.UnpicklingError as error:
            raise TrainingError(f"Checkpoint {path} holds more than tensors and plain values, which kgrec does "
                                f"not load; remove it to train this run from the start ({error}).") from error
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.model.load_training_state(state.get("model_training_state", {}))  # older checkpoints lack it
        self.rng.bit_generator.state = state["numpy_rng"]
        # RNG states are CPU byte tensors; map_location moved them to the model's device with the rest
        self.generator.set_state(state["torch_generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)
        return state

    # -- the loop ----------------------------------------------------------------------------------
    def _run_epochs(self, select: Callable[[], tuple[float, dict[str, float]]] | None, label: str) -> dict[str, Any]:
        """Train up to ``epochs``. Every ``eval_every`` epochs ``select`` returns (value to maximize,
        history fields); the best weights are kept and training stops after ``patience``
        evaluations without improvement. Without ``select`` every epoch is trained, nothing is
        evaluated and the last weights are kept. Leaves the kept weights in the model."""
        cfg = self.config
        state = self._resume() or {}
        loop = {"best_value": -1.0, "best_epoch": -1, "history": [], "stale": 0, "train_seconds": 0.0,
                **{k: state[k] for k in ("best_value", "best_epoch", "history", "stale", "train_seconds") if k in state}}
        best_weights = state.get("best_weights") or (copy.deepcopy(self.model.state_dict()) if select else None)
        start_epoch = state.get("epoch", -1) + 1
        stopped = select is not None and self._should_stop(loop, start_epoch)  # a finished run is not trained further
        if start_epoch > 0:
            note(f"Resuming {self.model_name} from epoch {start_epoch} ({self._checkpoint_path()}).", self.progress)
        epoch = start_epoch - 1
        bar = tqdm(range(start_epoch, start_epoch if stopped else cfg.epochs), desc=self.model_name,
                   disable=not bars_enabled(self.progress))
        for epoch in bar:
            started = time.perf_counter()
            logged = self.train_epoch(epoch)
            loop["train_seconds"] += time.perf_counter() - started
            if (epoch + 1) % cfg.eval_every and epoch + 1 < cfg.epochs:
                continue
            entry: dict[str, Any] = {"epoch": epoch, **logged}
            if select is not None:
                value, fields = select()
                entry.update(fields)
                if value > loop["best_value"]:
                    loop.update(best_value=value, best_epoch=epoch, stale=0)
                    best_weights = copy.deepcopy(self.model.state_dict())
                else:
                    loop["stale"] += 1
                self._log(epoch, logged, bar, f"{label} {value:.4f}")
            loop["history"].append(entry)
            self._save(self._state(epoch, best_weights, loop))
            if select is not None and self._should_stop(loop, epoch + 1):
                break
        loop["epochs_run"] = epoch + 1
        if select is None:
            loop["best_epoch"] = epoch
        else:
            self.model.load_state_dict(best_weights)
        return loop

    def _should_stop(self, loop: dict[str, Any], epochs_done: int) -> bool:
        """Patience is spent, and at least ``min_epochs`` epochs are trained (a selecting run only)."""
        cfg = self.config
        return bool(loop["history"]) and loop["stale"] >= cfg.patience and epochs_done >= cfg.min_epochs

    def _logged_epoch(self, epoch: int) -> bool:
        """The first and last epoch and every fifth of the run: a readable log however long the run."""
        every = max(1, self.config.epochs // 5)
        return epoch == 0 or (epoch + 1) % every == 0 or epoch + 1 == self.config.epochs

    def _log(self, epoch: int, logged: dict[str, float], bar: Any, shown: str) -> None:
        bar.set_postfix(loss=f"{logged['total']:.4f}", selection=shown)
        if log_lines_enabled(self.progress) and self._logged_epoch(epoch):  # a log gets about six lines a run
            note(f"{self.model_name} epoch {epoch + 1}/{self.config.epochs}: loss {logged['total']:.4f}, {shown}",
                 self.progress)

    def _result(self, loop: dict[str, Any], valid: dict[str, float], protocol: str,
                extra_notes: tuple[str, ...] = ()) -> TrainResult:
        """Score test once with the weights now in the model."""
        test_per_user = self.evaluate("test")
        groups = sparsity_groups(self.data.train_counts(), test_per_user["users"], test_per_user["ndcg@50"]) \
            if "ndcg@50" in test_per_user and len(test_per_user["users"]) else []
        return TrainResult(
            model=self.model, best_epoch=loop["best_epoch"], epochs_run=loop["epochs_run"], valid=valid,
            test=summarize(test_per_user), sparsity=groups,
            seconds_per_epoch=loop["train_seconds"] / max(loop["epochs_run"], 1), history=loop["history"],
            notes=[*self.model.notes, *extra_notes], protocol=protocol,
        )

    # -- the protocols' training loops ---------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train under the configured protocol. ``valid`` (and ``test-selected`` on data without
        validation) train this trainer's model; ``refit`` (and ``test-selected`` on data with
        validation, given back to train) need fresh trainers: ``train_model`` runs them, with
        checkpoints under ``checkpoint_dir/<phase>``."""
        if self.config.protocol == "valid":
            return self.fit_valid()
        if self.config.protocol == "test-selected" and len(self.data.valid) == 0:
            return self.fit_on_test()
        from recommender.protocols import train_model  # the protocols build trainers: imported when used

        return train_model(self.data, self.model_ref, self.model_config, self.config, self.checkpoint_dir,
                           self.progress)

    def fit_valid(self) -> TrainResult:
        """Epoch chosen on validation (``select_metric``), early stopping; test scored once at the end."""
        require_validation(self.data, self.config)
        metric = self.config.select_metric

        def select() -> tuple[float, dict[str, float]]:
            valid = summarize(self.evaluate("valid"))
            fields = {f"valid_{k}": v for k, v in valid.items()}
            if self.config.track_test:  # recorded only, never used to select
                fields.update({f"test_{k}": v for k, v in summarize(self.evaluate("test")).items()})
            return valid[metric], fields

        loop = self._run_epochs(select, f"valid {metric}")
        return self._result(loop, summarize(self.evaluate("valid")), "valid")

    def fit_on_test(self) -> TrainResult:
        """The paper's protocol: every evaluation scores test, and the best epoch (and early stopping)
        follow recall@K + ndcg@K on test. Trains on all of train: the data must have no validation."""
        if len(self.data.valid):
            raise TrainingError("The test-selected protocol trains on all of train: give the validation pairs "
                                "back first (RecData.without_validation()).")
        k = selection_cutoff(self.config)

        def select() -> tuple[float, dict[str, float]]:
            test = summarize(self.evaluate("test"))
            return test[f"recall@{k}"] + test[f"ndcg@{k}"], {f"test_{m}": v for m, v in test.items()}

        loop = self._run_epochs(select, f"test recall@{k}+ndcg@{k}")
        return self._result(loop, {}, "test-selected", (TEST_SELECTED_NOTE,))

    def fit_epochs(self) -> TrainResult:
        """Exactly ``epochs`` epochs, no evaluation and no early stopping; test scored once at the end."""
        return self._result(self._run_epochs(None, ""), {}, self.config.protocol)


def require_validation(data: RecData, config: TrainConfig) -> None:
    if len(data.valid) == 0:
        raise DataError(
            f"The {config.protocol} protocol chooses the epoch on a validation split, but '{data.dataset}' has "
            f"none (valid_ratio is {config.valid_ratio:g} and the graph stores no valid split): set valid_ratio > 0 "
            "(--valid-ratio) or store a split with `kgrec split valid`.")


def selection_cutoff(config: TrainConfig) -> int:
    """K of ``select_metric`` (50 for recall@50): test-selected picks the epoch by recall@K + ndcg@K."""
    k = int(config.select_metric.rsplit("@", 1)[-1])
    if k not in config.ks:
        raise TrainingError(f"select_metric {config.select_metric} needs {k} in ks (now {config.ks}).")
    return k
