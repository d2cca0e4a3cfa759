"""The evaluation protocols (``TrainConfig.protocol``) as functions, one per protocol, run by ``train_model``.

Each phase trains its own :class:`~recommender.trainer.Trainer` with its own checkpoint folder
(``<dir>/valid``, ``<dir>/refit``, ``<dir>/test-selected``), so a killed run started again with the
same configuration resumes the phase it was in. What each protocol does is described in
:mod:`recommender.trainer`. Inside a process group of several, each phase's trainer is the
data-parallel one (:mod:`recommender.ddp_loop`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from kg_store.progress import Progress
from recommender.config import TrainConfig
from recommender.data import RecData
from recommender.ddp_loop import trainer_class
from recommender.errors import TrainingError
from recommender.models.configs import RankingConfig
from recommender.trainer import ModelRef, TrainResult


def _phase_dir(checkpoint_dir: Path | None, phase: str) -> Path | None:
    return checkpoint_dir / phase if checkpoint_dir else None


def fit_valid(data: RecData, model: ModelRef, model_config: RankingConfig, train_config: TrainConfig,
              checkpoint_dir: Path | None = None, progress: Progress = None) -> TrainResult:
    """``valid``: epoch chosen on the validation split of ``data``, test scored once."""
    return trainer_class()(data, model, model_config, train_config, _phase_dir(checkpoint_dir, "valid"),
                           progress).fit_valid()


def fit_refit(data: RecData, model: ModelRef, model_config: RankingConfig, train_config: TrainConfig,
              checkpoint_dir: Path | None = None, progress: Progress = None) -> TrainResult:
    """``refit``: the valid protocol picks E = best epoch + 1; a fresh model (same seed) then trains on
    train + validation for exactly E epochs and is scored on test once. Keeps both phases' numbers."""
    chosen = fit_valid(data, model, model_config, train_config, checkpoint_dir, progress)
    epochs = chosen.best_epoch + 1
    refit = trainer_class()(data.without_validation(), model, model_config, replace(train_config, epochs=epochs),
                            _phase_dir(checkpoint_dir, "refit"), progress).fit_epochs()
    if refit.epochs_run != epochs:
        raise TrainingError(f"The refit phase ran {refit.epochs_run} epochs instead of {epochs}; "
                            f"remove its checkpoint ({_phase_dir(checkpoint_dir, 'refit')}) and train again.")
    return replace(refit, best_epoch=chosen.best_epoch, epochs_run=chosen.epochs_run, valid=chosen.valid,
                   history=chosen.history, seconds_per_epoch=chosen.seconds_per_epoch, protocol="refit",
                   refit_epochs=epochs, valid_protocol_test=chosen.test)


def fit_test_selected(data: RecData, model: ModelRef, model_config: RankingConfig, train_config: TrainConfig,
                      checkpoint_dir: Path | None = None, progress: Progress = None) -> TrainResult:
    """``test-selected``: all of train (validation pairs given back), best epoch on test; labelled."""
    return trainer_class()(data.without_validation(), model, model_config, train_config,
                           _phase_dir(checkpoint_dir, "test-selected"), progress).fit_on_test()


PROTOCOLS: dict[str, Callable[..., TrainResult]] = {
    "valid": fit_valid, "refit": fit_refit, "test-selected": fit_test_selected}


def train_model(data: RecData, model: ModelRef, model_config: RankingConfig, train_config: TrainConfig,
                checkpoint_dir: Path | None = None, progress: Progress = None) -> TrainResult:
    """Train ``model`` (a registered name or a ``RankingModel`` subclass) under ``train_config.protocol``;
    each phase checkpoints under ``checkpoint_dir/<phase>``."""
    if train_config.protocol not in PROTOCOLS:
        raise TrainingError(f"Unknown protocol {train_config.protocol!r}; protocols: {', '.join(PROTOCOLS)}.")
    return PROTOCOLS[train_config.protocol](data, model, model_config, train_config, checkpoint_dir, progress)
