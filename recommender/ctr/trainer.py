"""Training and scoring CTR models: batches of ``CTRData``, early stopping on the validation AUC.

The loop is ``recommender.features.trainer.fit``; it receives ``CTRData`` and never talks to the graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from recommender.ctr.models.base import build_ctr_model
from recommender.features.batch import CTRBatch
from recommender.features.data import CTRData
from recommender.features.metrics import ctr_metrics
from recommender.features.trainer import (
    TRAIN_FIELDS,
    CTRTrainConfig,
    CTRTrainResult,
    epoch_seed,
    fit,
    seed_everything,
)

__all__ = ["CTR_SELECT", "TRAIN_FIELDS", "CTRTrainConfig", "CTRTrainResult", "ctr_evaluate", "score_ctr",
           "train_ctr_model"]

CTR_SELECT = "auc"


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


def ctr_evaluate(model: nn.Module, data: CTRData, split: str, config: CTRTrainConfig) -> dict[str, float]:
    return ctr_metrics(*score_ctr(model, data, split, config.eval_batch_size, config.device))


def train_ctr_model(data: CTRData, model_name: str, config: CTRTrainConfig | None = None,
                    **model_overrides: Any) -> CTRTrainResult:
    """Build ``model_name`` from the CTR registry (seeded) and train it on ``data``."""
    config = config or CTRTrainConfig()
    seed_everything(config.seed)
    model = build_ctr_model(model_name, data.spec, **model_overrides)
    positives = data.swing_positives(config.swing_alpha) if config.contrast else None

    def pairs(epoch: int) -> Iterator[tuple[CTRBatch, CTRBatch | None]]:
        for batch in data.batches("train", config.batch_size, shuffle=True, seed=epoch_seed(config, epoch)):
            yield batch, None if positives is None else data.partners(batch, positives)

    return fit("ctr", model, config, pairs, lambda m, split: ctr_evaluate(m, data, split, config), CTR_SELECT)
