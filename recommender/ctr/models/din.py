"""DIN (Zhou et al. 2018): the history is pooled with weights that depend on the target item.

Each history item h and the target t are sequence vectors (item id embedding, plus adapted text when
on), width Hd. Activation unit: a(h, t) = MLP([h, t, h - t, h * t]) -> scalar, no softmax (as in the
paper, so the pooled vector keeps the intensity of interest); padded positions get weight 0.
interest = sum_l a(h_l, t) h_l. DNN input: user fields, item fields, interest (all concatenated).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from recommender.ctr.models.base import CTRConfig, CTRModel
from recommender.features.batch import CTRBatch, FeatureSpec
from recommender.features.layers import mlp


@dataclass(frozen=True)
class DINConfig(CTRConfig):
    attention_dims: tuple[int, ...] = (80, 40)   # hidden layers of the activation unit


class TargetAttention(nn.Module):
    """DIN's activation unit and weighted sum pooling. Shapes: (B, L, H), (B, H), (B, L) -> (B, H)."""

    def __init__(self, width: int, hidden: tuple[int, ...]):
        super().__init__()
        self.score = mlp(4 * width, hidden, 1, dropout=0.0)

    def forward(self, history: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        t = target[:, None].expand_as(history)
        weights = self.score(torch.cat([history, t, history - t, history * t], dim=-1)).squeeze(-1)
        weights = weights.masked_fill(~mask, 0.0)
        return (weights[..., None] * history).sum(1)


class DIN(CTRModel):
    name = "din"
    config_class = DINConfig

    def __init__(self, spec: FeatureSpec, config: DINConfig | None = None):
        super().__init__(spec, config)
        f, d = self.features, self.config.embedding_dim
        width = f.n_sequence_fields * d
        self.attention = TargetAttention(width, self.config.attention_dims)
        self.dnn = mlp((f.n_user_fields + f.n_item_fields) * d + width, self.config.mlp_dims, 1, self.config.dropout)

    def forward(self, batch: CTRBatch) -> torch.Tensor:
        user, item = self.field_vectors(batch)
        history = self.features.sequence(batch.history_items, batch.history_text).flatten(2)   # (B, L, Hd)
        target = self.features.sequence(batch.items, batch.item_text, "item_text").flatten(1)   # (B, Hd)
        interest = self.attention(history, target, batch.history_mask)
        return self.dnn(torch.cat([user.flatten(1), item.flatten(1), interest], dim=1)).squeeze(-1)
