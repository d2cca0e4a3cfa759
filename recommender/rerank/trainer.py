"""Training and scoring rerankers: batches of ``CandidateLists``, early stopping on the validation NDCG@7
(the deepest K the paper reports).

The loop is ``recommender.features.trainer.fit``; it receives ``CandidateLists`` and never talks to the graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import numpy as np
import torch
from torch import nn

from recommender.errors import ModelConfigError
from recommender.features.batch import RerankBatch
from recommender.features.metrics import rerank_metrics
from recommender.features.trainer import CTRTrainConfig, CTRTrainResult, epoch_seed, fit, seed_everything
from recommender.rerank.base import build_rerank_model, rerank_model_class
from recommender.rerank.lists import CandidateLists

RERANK_SELECT = "ndcg@7"


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


def rerank_evaluate(model: nn.Module, lists: CandidateLists, split: str, config: CTRTrainConfig) -> dict[str, float]:
    arrays = lists.splits[split]
    scores = score_lists(model, lists, split, config.eval_batch_size, config.device)
    return rerank_metrics(arrays.labels, np.where(arrays.mask, scores, 0.0), arrays.mask, config.ks)


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
        for batch in lists.rerank_batches("train", config.batch_size, shuffle=True, seed=epoch_seed(config, epoch)):
            yield batch, None if positives is None else lists.partners(batch, positives)

    return fit("rerank", model, config, pairs, lambda m, split: rerank_evaluate(m, lists, split, config), RERANK_SELECT)
