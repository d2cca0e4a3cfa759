"""A training run's record, made the same way for every model kind (ranking, CTR, rerank).

Every kind trains one model per seed and reports the test metrics as mean and std over the seeds
(population std, so one seed gives 0). One seed's model is the one written back: the one with the
best validation score, the first on ties; test never chooses, so a ``test-selected`` run (which
has no validation score) keeps its first seed's model. The run's ``TrainingRun`` node is made
before its TOP_K lists point at it and completed (metrics, ``finished``, artifacts) after them,
through ``kg_store.writeback``; its id comes from ``kg_store.run_ids.new_run_id``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from kg_store.connection import GraphStore
from kg_store.run_ids import new_run_id
from kg_store.writeback import save_training_run, start_training_run
from recommender.errors import TrainingError

Summary = dict[str, dict[str, float]]      # test metric -> {mean, std}


class SeedResult(Protocol):
    """What a run needs of one seed's result (``TrainResult``, ``CTRTrainResult``)."""

    test: dict[str, float]

    def metrics(self) -> dict[str, Any]: ...


def mean_std(results: Sequence[SeedResult]) -> Summary:
    """Each test metric of the first seed's result: its mean and std over the seeds."""
    return {name: {"mean": float(np.mean([r.test[name] for r in results])),
                   "std": float(np.std([r.test[name] for r in results]))} for name in results[0].test}


def best_seed_index(valid_scores: Sequence[float], protocol: str = "valid") -> int:
    """The position of the best validation score, the first on ties; 0 for ``test-selected`` runs,
    which have no validation score (test never chooses among seeds)."""
    if protocol == "test-selected":
        return 0
    return max(range(len(valid_scores)), key=lambda n: valid_scores[n])


def seed_metrics(seeds: Sequence[int], results: Sequence[SeedResult], summary: Summary, selected_seed: int | None,
                 notes: Sequence[str]) -> dict[str, Any]:
    """The part of a run's stored metrics every kind shares: the summary, each seed's own metrics,
    the seeds and the one selected, and the notes."""
    return {"test_mean_std": summary, "per_seed": [r.metrics() for r in results], "seeds": list(seeds),
            "selected_seed": selected_seed, "notes": list(notes)}


@dataclass(frozen=True)
class RunRecord:
    """The ``TrainingRun`` node of one run, for ``dataset`` and ``model``, with the selected seed's config."""

    dataset: str
    model: str
    config: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_id: str = ""

    def __post_init__(self) -> None:
        if not self.run_id:     # the id carries the start time, as every run id kgrec makes
            object.__setattr__(self, "run_id", new_run_id(self.model, self.started))

    def start(self, store: GraphStore) -> None:
        """Make the node (with the config) before the run's TOP_K lists point at it."""
        start_training_run(store, self.dataset, self.model, self.run_id, self.config, self.started)

    def finish(self, store: GraphStore, metrics: dict[str, Any],
               artifacts: dict[str, str | int] | None = None) -> None:
        """Complete the node: metrics, ``finished`` time, and where the run's files and vectors are."""
        save_training_run(store, self.dataset, self.model, self.run_id, self.config, metrics, self.started,
                          artifacts=artifacts)


def _is_out_of_memory(error: BaseException) -> bool:
    """A CUDA or CPU allocation failure (torch reports the CPU's as a RuntimeError)."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)


def _readable_size(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:,.1f} MB"


def memory_floor(n_users: int, n_items: int, embedding_dim: int, eval_batch_size: int) -> str:
    """What a run needs at the least, from the sizes alone (nothing is allocated): every ranking model
    has a D-wide row per user and per item, each held four times (weights, gradients, Adam's two
    moments) in float32, and each evaluation batch scores min(B_eval, users) x items float32s."""
    tables = (n_users + n_items) * embedding_dim * 4 * 4
    scores = min(eval_batch_size, n_users) * n_items * 4
    return (f"its user and item embeddings with their gradients and Adam's moments need at least "
            f"{_readable_size(tables)}, one evaluation batch's scores {_readable_size(scores)}")


@contextmanager
def out_of_memory_hint(model: str, dataset: str, config: Any, sizes: tuple[int, int, int] | None = None
                       ) -> Iterator[None]:
    """Turn running out of memory while training ``model`` into a :class:`TrainingError` that says
    how to size the run: the floor of its memory from ``sizes`` (users, items, embedding size), the
    ``--estimate`` command that measures the whole peak, and the settings that lower it. The
    checkpoint stays, so a rerun with the same settings resumes."""
    try:
        yield
    except (MemoryError, RuntimeError) as error:
        if not _is_out_of_memory(error):
            raise
        floor = f"; {memory_floor(*sizes, config.eval_batch_size)}" if sizes else ""
        raise TrainingError(
            f"{model} ran out of memory on '{dataset}' (device {config.device}, batch size {config.batch_size}, "
            f"evaluation batch {config.eval_batch_size}){floor}. `kgrec train {model} --dataset {dataset} "
            "--estimate` measures the expected peak memory; lower --batch-size (the training step), "
            "--eval-batch-size (the full-ranking evaluation) or the model's size (embedding_dim, --layers)."
        ) from error
