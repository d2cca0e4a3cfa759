"""``kgrec train --estimate``: expected time and memory of a training run, before it starts.

From the graph's counts (via the cached export) and a short calibration on a throw-away model: a
few full-size optimisation steps (their median times the steps per epoch), the model's
end-of-epoch pass timed once (CIKGRec's TransE pass; nothing for the others), and one batch of
the full-ranking evaluation (times the number of evaluation batches). Training holds one batch at
a time and evaluation one block of users, so the peak RSS seen during calibration, which covers a
step and an evaluation batch, is the run's expected peak too.
"""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from kg_store.connection import GraphStore
from kg_store.export import export_dataset
from kg_store.graph_export import GraphExport
from kg_store.interest_sets import AUTHORS_SET
from recommender.config import resolve_config
from recommender.evaluate import users_with
from recommender.trainer import Trainer

CALIBRATION_STEPS = 5


@dataclass(frozen=True)
class TrainingEstimate:
    dataset: str
    model: str
    users: int
    items: int
    train_interactions: int
    batch_size: int
    threads: int
    steps_per_epoch: int
    seconds_per_step: float
    epoch_end_seconds: float
    seconds_per_epoch: float
    evaluation_seconds: float
    epochs: int
    total_seconds: int            # epochs x (epoch + one evaluation), the valid protocol's pattern
    peak_rss_mb: float
    calibration_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _evaluation_seconds(trainer: Trainer) -> float:
    """One evaluation batch (final embeddings + scores of eval_batch_size users), times the batches."""
    users = users_with(trainer.data.test, trainer.data.n_users)
    size = trainer.config.eval_batch_size
    started = time.perf_counter()
    trainer.model.eval()
    with torch.no_grad():
        embeddings = trainer.model.final_embeddings()
        batch = torch.from_numpy(users[:size]).to(trainer.device)
        torch.topk(trainer.model.score_users(batch, embeddings).float(), min(100, trainer.data.n_items))
    return (time.perf_counter() - started) * max(1, -(-len(users) // size))


def estimate_training(store: GraphStore, dataset: str, model: str, steps: int = CALIBRATION_STEPS,
                      interest_set: str | None = None, **overrides: Any) -> TrainingEstimate:
    """Calibrate ``model`` on ``dataset`` (its cached export) for a few steps and extrapolate to a whole run."""
    started = time.perf_counter()
    export = export_dataset(store, dataset, interest_set=interest_set or AUTHORS_SET)
    return estimate_for_export(export, model, steps, config_dataset=dataset, started=started, **overrides)


def estimate_for_export(export: GraphExport, model: str, steps: int = CALIBRATION_STEPS,
                        config_dataset: str | None = None, started: float | None = None,
                        **overrides: Any) -> TrainingEstimate:
    """The calibration on arrays already exported; ``config_dataset`` picks the dataset defaults."""
    from recommender.data import from_export

    started = started or time.perf_counter()
    model_config, train_config = resolve_config(model, config_dataset or export.dataset, **overrides)
    data = from_export(export, valid_ratio=train_config.valid_ratio, seed=train_config.seed)
    trainer = Trainer(data, model, model_config, train_config, progress=False)
    step_s = trainer.time_steps(steps)
    end_started = time.perf_counter()
    trainer.model.epoch_end(trainer.optimizer, 0, trainer.generator)
    end_s = time.perf_counter() - end_started
    eval_s = _evaluation_seconds(trainer)
    epoch_s = step_s * trainer.steps_per_epoch() + end_s
    n_epochs = train_config.epochs
    return TrainingEstimate(
        dataset=export.dataset, model=model, users=data.n_users, items=data.n_items,
        train_interactions=len(data.train), batch_size=train_config.batch_size, threads=torch.get_num_threads(),
        steps_per_epoch=trainer.steps_per_epoch(), seconds_per_step=round(step_s, 4),
        epoch_end_seconds=round(end_s, 3), seconds_per_epoch=round(epoch_s, 2), evaluation_seconds=round(eval_s, 4),
        epochs=n_epochs, total_seconds=round(n_epochs * (epoch_s + eval_s)),
        peak_rss_mb=round(_rss_mb(), 1), calibration_seconds=round(time.perf_counter() - started, 2))


def describe(estimate: TrainingEstimate) -> str:
    """Two lines for the terminal."""
    e = estimate
    return (f"{e.model} on {e.dataset}: {e.users:,} users, {e.items:,} items, {e.train_interactions:,} train "
            f"interactions; {e.steps_per_epoch:,} steps of {e.batch_size:,} per epoch, {e.threads} thread(s)\n"
            f"expected: {e.seconds_per_epoch:.1f} s/epoch ({e.seconds_per_step * 1000:.0f} ms/step"
            f" + {e.epoch_end_seconds:.1f} s end of epoch), evaluation {e.evaluation_seconds:.1f} s, "
            f"{e.epochs} epochs ~ {e.total_seconds / 60:.1f} min; peak memory ~ {e.peak_rss_mb:,.0f} MB "
            f"(calibration took {e.calibration_seconds:.1f} s)")
