"""SetRank (Pang et al. 2020): permutation-equivariant self-attention over the candidate set.

No positions: permuting a list permutes its scores. Input: X_n = LN(W_in [user fields, item fields]_n);
the LayerNorm keeps each candidate's own signal on the scale of the attention outputs added to it
(without it the induced variant stalls: the set summary drowns the small ID embeddings).
Each block is a multi-head attention block MAB(Q, K) = LN(H + rFF(H)), H = LN(Q + MultiHead(Q, K, K)), with padded keys masked.
- ``induced_points = 0``: MSAB(X) = MAB(X, X), ``n_layers`` of them;
- ``induced_points = m``: IMSAB(X) = MAB(X, MAB(I, X)), I m learned inducing vectors per layer.
score_n = MLP(output_n) (``head_dims``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from recommender.features.batch import FeatureSpec, RerankBatch
from recommender.features.layers import mlp
from recommender.rerank.base import RerankModel, SelfAttentionConfig, key_padding


@dataclass(frozen=True)
class SetRankConfig(SelfAttentionConfig):
    induced_points: int = 0   # m of IMSAB; 0 = plain MSAB


class MAB(nn.Module):
    """Multi-head attention block. Shapes: (B, Q, d), (B, K, d), (B, K) bool pad -> (B, Q, d)."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_attention, self.norm_ff = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ff_dim, dim))

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, key_pad: torch.Tensor | None) -> torch.Tensor:
        h = self.norm_attention(queries + self.attention(queries, keys, keys, key_padding_mask=key_pad,
                                                          need_weights=False)[0])
        return self.norm_ff(h + self.ff(h))


class SetRank(RerankModel):
    name = "setrank"
    config_class = SetRankConfig

    def __init__(self, spec: FeatureSpec, config: SetRankConfig | None = None):
        super().__init__(spec, config)
        c = self.config
        self.input_layer = nn.Sequential(nn.Linear(self.input_dim, c.hidden_dim), nn.LayerNorm(c.hidden_dim))
        block = lambda: MAB(c.hidden_dim, c.n_heads, c.ff_dim, c.dropout)
        self.blocks = nn.ModuleList(block() for _ in range(c.n_layers))
        self.induce = nn.ModuleList(block() for _ in range(c.n_layers)) if c.induced_points else None
        self.inducing = nn.Parameter(torch.randn(c.n_layers, c.induced_points, c.hidden_dim) * 0.1)
        self.head = mlp(c.hidden_dim, c.head_dims, 1, c.dropout)

    def score(self, batch: RerankBatch) -> torch.Tensor:
        x, pad = self.input_layer(self.candidate_vectors(batch)), key_padding(batch.mask)
        for layer, block in enumerate(self.blocks):
            if self.induce is None:
                x = block(x, x, pad)
            else:
                points = self.inducing[layer].expand(len(x), -1, -1)
                x = block(x, self.induce[layer](points, x, pad), None)
        return self.head(x).squeeze(-1)
