"""The contract every reranker keeps.

A reranker rescores the candidate lists of a ``RerankBatch``: ``forward`` gives (B, N) logits with
padded candidates at ``PADDED_LOGIT`` (so they sort last and vanish in a softmax), ``loss`` the terms
with ``total`` to minimise. The task loss is listwise softmax cross-entropy by default
(``loss_kind="listwise"``: -sum_n y_n / sum y * log softmax(s)_n over the real candidates, averaged
over lists with a positive; DLCM's AttRank loss, PRM's and SetRank's objective) or pointwise BCE on the
real candidates (``loss_kind="bce"``). Subclasses write ``score``; the base masks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from kg_store.registry import Registry
from recommender.errors import ModelConfigError
from recommender.features.batch import FeatureSpec, RerankBatch
from recommender.features.model import BackboneConfig, FeatureModel, create_feature_model
from recommender.rerank.registry import RERANKERS

PADDED_LOGIT = -1e9   # finite, so 0 * log p stays 0 in the losses


@dataclass(frozen=True)
class RerankConfig(BackboneConfig):
    hidden_dim: int = 32         # width of the list encoder (DLCM's GRU, PRM's and SetRank's model dim)
    loss_kind: str = "listwise"  # listwise softmax cross-entropy | bce (pointwise)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.loss_kind not in ("listwise", "bce") or self.hidden_dim < 1:
            raise ModelConfigError(f"loss_kind must be listwise or bce (got {self.loss_kind!r}), hidden_dim >= 1")


@dataclass(frozen=True)
class SelfAttentionConfig(RerankConfig):
    """What PRM and SetRank share: a stack of multi-head self-attention blocks and a scoring head."""

    n_layers: int = 2
    n_heads: int = 2
    ff_dim: int = 64                    # inner width of each block's feed-forward layer
    head_dims: tuple[int, ...] = (32,)  # hidden layers of the per-candidate scoring MLP


def listwise_softmax_loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy against the label distribution of each list. (B, N) x3 -> scalar."""
    log_p = logits.masked_fill(~mask, PADDED_LOGIT).log_softmax(-1)
    target = labels.float() * mask
    totals = target.sum(-1)
    per_list = -(target * log_p).sum(-1) / totals.clamp(min=1)
    has_positive = totals > 0
    return per_list[has_positive].mean() if has_positive.any() else (per_list * 0).sum()


def key_padding(mask: torch.Tensor) -> torch.Tensor:
    """Attention's key_padding_mask (True = ignore) from a real-candidate mask; a list with no real
    candidate keeps position 0 so attention stays finite (its outputs are masked anyway)."""
    pad = ~mask
    pad[:, 0] &= mask.any(1)
    return pad


class RerankModel(FeatureModel):
    """Base of the rerankers: candidate inputs, listwise or pointwise loss, the item hook."""

    config_class: ClassVar[type[RerankConfig]] = RerankConfig
    registry: ClassVar[Registry] = RERANKERS

    def __init__(self, spec: FeatureSpec, config: RerankConfig | None = None):
        super().__init__(spec, config)
        self.input_dim = (self.features.n_user_fields + self.features.n_item_fields) * self.config.embedding_dim

    def score(self, batch: RerankBatch) -> torch.Tensor:
        """Raw (B, N) scores; padded positions may hold anything."""
        raise NotImplementedError

    def forward(self, batch: RerankBatch) -> torch.Tensor:
        """(B, N) logits, ``PADDED_LOGIT`` at padded candidates."""
        return self.score(batch).masked_fill(~batch.mask, PADDED_LOGIT)

    def task_loss(self, batch: RerankBatch) -> dict[str, torch.Tensor]:
        logits = self(batch)
        if self.config.loss_kind == "bce":
            loss = F.binary_cross_entropy_with_logits(logits[batch.mask], batch.labels[batch.mask].float())
        else:
            loss = listwise_softmax_loss(logits, batch.labels, batch.mask)
        return {self.config.loss_kind: loss, "task": loss}

    def candidate_vectors(self, batch: RerankBatch) -> torch.Tensor:
        """Each candidate's input: user fields and item fields concatenated, (B, N, input_dim)."""
        f = self.features
        user = f.user(batch.users, batch.user_fields, batch.user_text).flatten(1)
        items = f.item(batch.items, batch.item_fields, batch.genres, batch.item_text).flatten(2)
        return torch.cat([user[:, None].expand(-1, items.shape[1], -1), items], dim=-1)

    def item_representation(self, batch: RerankBatch) -> torch.Tensor:
        """(M, D) for the M real candidates, row-major: adapted item text (ID embedding when text is off)."""
        return self.features.item_representation(batch.items, batch.item_text)[batch.mask]


def rerank_model_class(model: str | type[RerankModel]) -> type[RerankModel]:
    """The class of a registered name (or the class itself)."""
    return RERANKERS.class_of(model)


def build_rerank_model(model: str | type[RerankModel] | RerankModel, spec: FeatureSpec | None,
                       **overrides: Any) -> RerankModel:
    """The reranker ``model`` (a registered name, a class, or an instance returned as is) with its
    class defaults and ``overrides``."""
    return create_feature_model(RERANKERS, model, spec, overrides)
