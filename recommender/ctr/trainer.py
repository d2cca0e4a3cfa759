"""Training loop for CTR models and rerankers: Adam, early stopping on validation, test scored once.

Both kinds share one loop; only the batches and the metric differ. CTR models stop on the
validation split's AUC, rerankers on its NDCG@7 (the deepest K the paper reports). The weights of
the best validation epoch are restored before the test split is scored, exactly once, so test never
chooses anything. With ``contrast`` every training batch is paired with its SWING partners (from
profile histories only, see ``recommender.ctr.data``) and the model adds w * (l_uu + l_ii) (Eq. 4).

The loop receives ``CTRData`` / ``CandidateLists`` and never talks to the graph; seeding torch,
the shuffles and the model's initialisation makes a run repeatable on the same device.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from recommender.ctr.batch import CTRBatch, RerankBatch
from recommender.ctr.data import CandidateLists, CTRData
from recommender.ctr.metrics import ctr_metrics, rerank_metrics
from recommender.ctr.models.base import build_ctr_model
from recommender.errors import ModelConfigError
from recommender.rerank.base import build_rerank_model, rerank_model_class

CTR_SELECT = "auc"
RERANK_SELECT = "ndcg@7"
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


# -- scoring ----------------------------------------------------------------------------------------
def score_ctr(model: nn.Module, data: CTRData, split: str, batch_size: int = 1024,
              device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(labels, click probabilities) of one split's samples, in the split's stored order."""
    labels, probs = [], []
    model.eval()
    with torch.no_grad():
        for batch in data.batches(split, batch_size):
            probs.append(model.predict(batch.to(device)).cpu().numpy())
            labels.append(batch.labels.numpy())
    if not labels:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(labels), np.concatenate(probs)


def score_lists(model: nn.Module, lists: CandidateLists, split: str, batch_size: int = 1024,
                device: str = "cpu") -> np.ndarray:
    """(n, N) scores of one split's lists, aligned with ``lists.splits[split]`` (padding: -inf)."""
    arrays = lists.splits[split]
    scores = np.full(arrays.items.shape, -np.inf, dtype=np.float64)
    row = 0
    model.eval()
    with torch.no_grad():
        for batch in lists.rerank_batches(split, batch_size):
            logits = model(batch.to(device)).cpu().numpy()
            scores[row:row + len(batch), :logits.shape[1]] = np.where(batch.mask.numpy(), logits, -np.inf)
            row += len(batch)
    return scores


def ctr_evaluate(model: nn.Module, data: CTRData, split: str, config: CTRTrainConfig) -> dict[str, float]:
    return ctr_metrics(*score_ctr(model, data, split, config.eval_batch_size, config.device))


def rerank_evaluate(model: nn.Module, lists: CandidateLists, split: str, config: CTRTrainConfig) -> dict[str, float]:
    arrays = lists.splits[split]
    scores = score_lists(model, lists, split, config.eval_batch_size, config.device)
    return rerank_metrics(arrays.labels, np.where(arrays.mask, scores, 0.0), arrays.mask, config.ks)


# -- the loop ---------------------------------------------------------------------------------------
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
    """Train with early stopping on ``select_metric`` of valid; restore the best weights; test once."""
    model.to(config.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history: list[EpochLog] = []
    best_value, best_epoch, best_state, stale = -np.inf, 0, None, 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        losses = _epoch(model, optimizer, train_pairs(epoch), config.device)
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


def _epoch_seed(config: CTRTrainConfig, epoch: int) -> int:
    return config.seed * 1000 + epoch


def train_ctr_model(data: CTRData, model_name: str, config: CTRTrainConfig | None = None,
                    **model_overrides: Any) -> CTRTrainResult:
    """Build ``model_name`` from the CTR registry (seeded) and train it on ``data``."""
    config = config or CTRTrainConfig()
    seed_everything(config.seed)
    model = build_ctr_model(model_name, data.spec, **model_overrides)
    positives = data.swing_positives(config.swing_alpha) if config.contrast else None

    def pairs(epoch: int) -> Iterator[tuple[CTRBatch, CTRBatch | None]]:
        for batch in data.batches("train", config.batch_size, shuffle=True, seed=_epoch_seed(config, epoch)):
            yield batch, None if positives is None else data.partners(batch, positives)

    return fit("ctr", model, config, pairs, lambda m, split: ctr_evaluate(m, data, split, config), CTR_SELECT)


def _fit_list_size(model_name: str, lists: CandidateLists, overrides: dict[str, Any]) -> dict[str, Any]:
    """Size a position table (PRM's ``max_list_size``) to the longest stored list unless set explicitly:
    the sampled lists hold every test positive, so their length follows the user's test history."""
    config_fields = {f.name for f in fields(rerank_model_class(model_name).config_class)}
    if "max_list_size" not in config_fields or "max_list_size" in overrides:
        return overrides
    return {**overrides, "max_list_size": max(lists.longest_list, 1)}


def train_rerank_model(lists: CandidateLists, model_name: str, config: CTRTrainConfig | None = None,
                       **model_overrides: Any) -> CTRTrainResult:
    """Build ``model_name`` from the rerank registry (seeded) and train it on the candidate ``lists``."""
    config = config or CTRTrainConfig()
    if 7 not in config.ks:
        raise ModelConfigError(f"Rerankers stop on {RERANK_SELECT}; keep 7 among ks (got {config.ks}).")
    seed_everything(config.seed)
    model_overrides = _fit_list_size(model_name, lists, model_overrides)
    model = build_rerank_model(model_name, lists.data.spec, **model_overrides)
    positives = lists.data.swing_positives(config.swing_alpha) if config.contrast else None

    def pairs(epoch: int) -> Iterator[tuple[RerankBatch, RerankBatch | None]]:
        for batch in lists.rerank_batches("train", config.batch_size, shuffle=True, seed=_epoch_seed(config, epoch)):
            yield batch, None if positives is None else lists.partners(batch, positives)

    return fit("rerank", model, config, pairs, lambda m, split: rerank_evaluate(m, lists, split, config), RERANK_SELECT)
