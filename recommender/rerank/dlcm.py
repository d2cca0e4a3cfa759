"""DLCM (Ai et al. 2018): a GRU reads the list, a local attention function scores each candidate.

1. Input layer: x_n = ELU(W_x [user fields, item fields]_n) of width k (``hidden_dim``), dropout.
2. GRU over the real candidates from the bottom of the initial order to the top (as the paper feeds
   it, so the best-ranked candidates weigh most in the final state s): outputs o_n (B, N, k), s (B, k).
3. Local ranking function: score_n = V . (o_n . tanh(W s + b)), with tanh(W s + b) an (alpha, k)
   matrix per list (``local_heads`` = alpha), so score_n = sum_a V_a <o_n, c_a>.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from recommender.features.batch import FeatureSpec, RerankBatch
from recommender.features.layers import run_masked_gru
from recommender.rerank.base import RerankConfig, RerankModel


@dataclass(frozen=True)
class DLCMConfig(RerankConfig):
    local_heads: int = 4   # alpha: rows of the local context matrix


class DLCM(RerankModel):
    name = "dlcm"
    config_class = DLCMConfig

    def __init__(self, spec: FeatureSpec, config: DLCMConfig | None = None):
        super().__init__(spec, config)
        k, heads = self.config.hidden_dim, self.config.local_heads
        self.input_layer = nn.Sequential(nn.Linear(self.input_dim, k), nn.ELU(), nn.Dropout(self.config.dropout))
        self.gru = nn.GRUCell(k, k)
        self.context = nn.Linear(k, heads * k)
        self.combine = nn.Linear(heads, 1, bias=False)

    def score(self, batch: RerankBatch) -> torch.Tensor:
        x = self.input_layer(self.candidate_vectors(batch))
        outputs, final = run_masked_gru(self.gru, x, batch.mask, reverse=True)
        context = torch.tanh(self.context(final)).view(len(final), self.config.local_heads, -1)   # (B, alpha, k)
        return self.combine(torch.einsum("bnk,bak->bna", outputs, context)).squeeze(-1)
