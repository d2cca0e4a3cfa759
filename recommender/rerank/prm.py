"""PRM (Pei et al. 2019): a transformer encoder reads the whole list, positions included.

1. Input: E_n = W_in [user fields, item fields]_n + PE_n, PE a learned embedding of the position in
   the initial order (``max_list_size`` rows), width d (``hidden_dim``), initialised N(0, 0.02²) as in
   BERT: torch's N(0, 1) default drowned the candidates' own features (on ml-100k's sampled lists,
   whose order is random, validation NDCG@7 0.674 after 8 epochs against 0.762 with the small init).
2. ``n_layers`` post-norm transformer encoder blocks (multi-head self-attention + feed-forward), the
   padded candidates masked out as keys.
3. score_n = MLP(output_n) (``head_dims``); the paper's softmax over the list is the listwise loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from recommender.errors import DataError
from recommender.features.batch import FeatureSpec, RerankBatch
from recommender.features.layers import mlp
from recommender.rerank.base import RerankModel, SelfAttentionConfig, key_padding

POSITION_INIT_STD = 0.02


@dataclass(frozen=True)
class PRMConfig(SelfAttentionConfig):
    max_list_size: int = 64   # rows of the position embedding: the longest list the model accepts


class PRM(RerankModel):
    name = "prm"
    config_class = PRMConfig

    def __init__(self, spec: FeatureSpec, config: PRMConfig | None = None):
        super().__init__(spec, config)
        c = self.config
        self.input_layer = nn.Linear(self.input_dim, c.hidden_dim)
        self.positions = nn.Embedding(c.max_list_size, c.hidden_dim)
        nn.init.normal_(self.positions.weight, std=POSITION_INIT_STD)
        layer = nn.TransformerEncoderLayer(c.hidden_dim, c.n_heads, c.ff_dim, c.dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.n_layers, enable_nested_tensor=False)
        self.head = mlp(c.hidden_dim, c.head_dims, 1, c.dropout)

    def score(self, batch: RerankBatch) -> torch.Tensor:
        n = batch.items.shape[1]
        if n > self.config.max_list_size:
            raise DataError(f"Lists of {n} candidates exceed PRM's max_list_size={self.config.max_list_size}; "
                            "build the model with a larger max_list_size.")
        x = self.input_layer(self.candidate_vectors(batch)) + self.positions.weight[:n]
        return self.head(self.encoder(x, src_key_padding_mask=key_padding(batch.mask))).squeeze(-1)
