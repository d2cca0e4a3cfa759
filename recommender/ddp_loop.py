"""Data-parallel training of one ranking model: :class:`DistributedTrainer`, the trainer each process of
a process group runs (:func:`trainer_class` picks it inside :func:`recommender.distributed.session`).

Split and replicated. Every process seeds its RNGs alike, so it draws the one-process run's epoch
permutation and negatives; of each global batch of ``batch_size`` rows, rank r computes the loss of
the r-th of W contiguous parts (``np.array_split``'s sizes) and scales it by rows_r * W / rows before
the backward pass. The W gradients are then averaged (all-reduced, as DistributedDataParallel does), so
the step is the one-process step on the whole batch, to float rounding, for every loss that is a mean
over the batch's rows; terms that every process draws alike from the shared RNG streams (KG batches,
masks, graph views, regularizers of the whole model) are computed by every process and averaged to
themselves. A loss that contrasts the
batch's rows with each other (in-batch InfoNCE over the batch's distinct users) contrasts within each
part instead. ``epoch_end`` (TransE, attention updates) runs on every process with the same weights
and RNG states, so its result is the same everywhere without communication.

The gradients are averaged after the backward pass rather than by DistributedDataParallel's hooks:
those hooks also fire in the backward passes ``epoch_end`` makes outside the wrapped forward (KGAT's
TransR, CIKGRec's and KGCL's TransE phases), which breaks DDP's bookkeeping; a parameter no process has
a gradient for (one only ``epoch_end`` trains) stays without one, as in one process.

Rank 0 alone evaluates; the per-user results reach every process (:meth:`evaluate`), which therefore
choose the same best epoch and stop together. Rank 0 alone writes checkpoints; every process resumes
from the same file, after checking that they all see the same one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recommender import distributed
from recommender.config import TrainConfig, config_dict
from recommender.errors import TrainingError
from recommender.models.configs import RankingConfig
from recommender.trainer import Trainer

SHARED_CHECKPOINTS = ("every process must see the same checkpoint folder: on several machines, put the cache "
                      "(KGREC_CACHE_DIR) on a filesystem they share")


def shard_bounds(rows: int, world: int, rank: int) -> tuple[int, int]:
    """[start, end) of ``rank``'s part of a batch: ``np.array_split``'s, the first rows % world one longer."""
    size, extra = divmod(rows, world)
    start = rank * size + min(rank, extra)
    return start, start + size + int(rank < extra)


def file_digest(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class DistributedTrainer(Trainer):
    """:class:`Trainer` with each global batch split over the process group (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if getattr(self.config, "capture", "none") != "none":
            raise TrainingError(f"capture {self.config.capture} replays one process's whole step; data-parallel "
                                "training splits each step over the processes: leave capture at none.")
        self.rank, self.world = distributed.rank(), distributed.world_size()
        if self.rank:
            self.progress = False       # one process draws bars and notes
        self.trained = [p for p in self.model.parameters() if p.requires_grad]
        with distributed.peer_errors(f"setting up {self.model_name}"):
            distributed.broadcast_parameters(self.model)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One epoch; the logged losses are the whole batch's (each process's scaled part, averaged)."""
        with distributed.peer_errors(f"training epoch {epoch + 1}"):
            return distributed.mean_over_ranks(super().train_epoch(epoch))

    def _step(self, users: np.ndarray, pos: np.ndarray, neg: np.ndarray, epoch: int) -> dict[str, float]:
        """This process's part of the global batch: its loss scaled by rows_r * W / rows (weight 0, on
        the whole batch, for a process left without rows by a batch smaller than the group)."""
        rows = len(users)
        start, end = shard_bounds(rows, self.world, self.rank)
        scale = (end - start) * self.world / rows
        if start == end:
            start, end, scale = 0, rows, 0.0
        tensors = (torch.from_numpy(a[start:end]).to(self.device) for a in (users, pos, neg))
        losses = self.model.batch_loss(*tensors, epoch)
        if not torch.isfinite(losses["total"]):
            raise TrainingError(
                f"The {self.model_name} loss became {float(losses['total'].detach())} at epoch {epoch} on rank "
                f"{self.rank}; lower the learning rate (now {self.config.lr}) or the loss weights.")
        self.optimizer.zero_grad(set_to_none=True)
        (losses["total"] * scale).backward()
        distributed.average_gradients(self.trained)
        self.optimizer.step()
        return {name: value.item() * scale for name, value in losses.items()}

    def evaluate(self, split: str) -> dict[str, np.ndarray]:
        """Rank 0's evaluation, on every process (the others wait for it)."""
        with distributed.peer_errors(f"evaluating on {split}"):
            return distributed.share_from_main(super().evaluate(split) if self.rank == 0 else None)

    def _save(self, state: dict[str, Any]) -> None:
        if self.rank == 0:
            super()._save(state)

    def _resume(self) -> dict[str, Any] | None:
        distributed.agree("the checkpoint to resume from", hint=SHARED_CHECKPOINTS,
                          checkpoint=file_digest(self._checkpoint_path()))
        return super()._resume()


def agree_on_run(model: str, dataset: str, data_key: str, model_config: RankingConfig,
                 train_config: TrainConfig) -> None:
    """The handshake before a run: every process names the same model, dataset, export and
    configuration and sees the same world size, or every process stops with the differences named."""
    distributed.agree("the run", world_size=distributed.world_size(), model=model, dataset=dataset,
                      export=data_key, config=config_dict(model_config, train_config))


def trainer_class() -> type[Trainer]:
    """The trainer for this process: data-parallel inside a process group of several, else the plain one."""
    return DistributedTrainer if distributed.world_size() > 1 else Trainer
