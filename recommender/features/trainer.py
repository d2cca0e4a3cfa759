"""The training loop CTR models and rerankers share: Adam, early stopping on validation, test scored once.

Only the batches and the metric differ between the kinds (``recommender.ctr.trainer`` and
``recommender.rerank.trainer`` supply them). The weights of the best validation epoch are restored
before the test split is scored, exactly once, so test never chooses anything. With ``contrast``
every training batch is paired with its SWING partners (from profile histories only) and the model
adds w * (l_uu + l_ii) (Eq. 4). Seeding torch, the shuffles and the model's initialisation makes a
run repeatable on the same device.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from recommender.errors import ModelConfigError
from recommender.features.batch import CTRBatch, RerankBatch

Batch = CTRBatch | RerankBatch


@dataclass(frozen=True)
class CTRTrainConfig:
    """Optimisation settings shared by both kinds; defaults are the paper's (lr 1e-4, batch 256)."""

    lr: float = 1e-4
    batch_size: int = 256
    epochs: int = 100                # at most: early stopping on validation decides (a 30-epoch cap cut DLCM
                                     # short: bench/results/kellmrec_epoch_cap/); CTR models stop by epoch ~20
    patience: int = 3                # epochs without a better validation score before stopping
    weight_decay: float = 0.0
    seed: int = 2024
    contrast: bool = False           # add the SWING knowledge contrast (Eq. 4)
    swing_alpha: float = 1.0
    eval_batch_size: int = 1024
    device: str = "cpu"
    ks: tuple[int, ...] = (3, 7)     # rerank cut-offs

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1 or self.patience < 1 or self.eval_batch_size < 1:
            raise ModelConfigError("need lr > 0 and batch_size, epochs, patience, eval_batch_size >= 1")
        if self.weight_decay < 0 or self.swing_alpha <= 0:
            raise ModelConfigError("need weight_decay >= 0 and swing_alpha > 0")


TRAIN_FIELDS = frozenset(CTRTrainConfig.__dataclass_fields__)


@dataclass
class EpochLog:
    epoch: int                       # 1-based
    losses: dict[str, float]         # mean of each loss term over the epoch's batches ("total", "uu", ...)
    valid: dict[str, float]
    seconds: float                   # training time of the epoch (validation excluded)


@dataclass
class CTRTrainResult:
    """One seed's run: the model with its selected weights and what selected them."""

    kind: str                        # "ctr" | "rerank"
    model: nn.Module
    config: CTRTrainConfig
    select_metric: str
    best_epoch: int
    valid: dict[str, float]          # at the selected epoch
    test: dict[str, float]           # scored once, with the selected weights
    history: list[EpochLog] = field(default_factory=list)

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean([log.seconds for log in self.history])) if self.history else 0.0

    def metrics(self) -> dict[str, Any]:
        return {"seed": self.config.seed, "best_epoch": self.best_epoch, "select_metric": self.select_metric,
                "valid": self.valid, "test": self.test, "seconds_per_epoch": round(self.seconds_per_epoch, 3),
                "history": [asdict(log) for log in self.history]}


def seed_everything(seed: int) -> None:
    """Seed torch (and its CUDA generators) so initialisation and dropout repeat."""
    torch.manual_seed(seed)


def _epoch(model: nn.Module, optimizer: torch.optim.Optimizer, pairs: Iterable[tuple[Batch, Batch | None]],
           device: str) -> dict[str, float]:
    """One pass over the training batches; the mean of each loss term (``total`` included)."""
    model.train()
    sums: dict[str, float] = {}
    steps = 0
    for batch, partners in pairs:
        terms = model.loss(batch.to(device), None if partners is None else partners.to(device))
        optimizer.zero_grad()
        terms["total"].backward()
        optimizer.step()
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + float(value.detach())
        steps += 1
    return {name: total / max(steps, 1) for name, total in sums.items()}


def fit(kind: str, model: nn.Module, config: CTRTrainConfig,
        train_pairs: Callable[[int], Iterator[tuple[Batch, Batch | None]]],
        evaluate: Callable[[nn.Module, str], dict[str, float]], select_metric: str) -> CTRTrainResult:
    """Train with early stopping on ``select_metric`` of valid; restore the best weights; test once.
    In a process group of several (torchrun), each process trains its part of every batch and rank 0
    evaluates (``recommender.features.ddp``)."""
    model.to(config.device)
    run_epoch = _epoch
    if torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        from recommender.features.ddp import DataParallelLoop

        loop = DataParallelLoop(model, config, train_pairs, evaluate)
        run_epoch, evaluate = loop.epoch, loop.evaluate
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history: list[EpochLog] = []
    best_value, best_epoch, best_state, stale = -np.inf, 0, None, 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        losses = run_epoch(model, optimizer, train_pairs(epoch), config.device)
        seconds = time.perf_counter() - started
        valid = evaluate(model, "valid")
        history.append(EpochLog(epoch, losses, valid, seconds))
        if valid[select_metric] > best_value:
            best_value, best_epoch, stale = valid[select_metric], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    test = evaluate(model, "test")
    return CTRTrainResult(kind, model, config, select_metric, best_epoch, history[best_epoch - 1].valid, test, history)


def epoch_seed(config: CTRTrainConfig, epoch: int) -> int:
    return config.seed * 1000 + epoch
