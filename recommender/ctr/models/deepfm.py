"""DeepFM (Guo et al. 2017): a factorization machine and a DNN over the same field embeddings.

Fields: user (id, categorical fields, adapted text), item (id, categorical fields, genres, adapted
text) and the history as masked means of its sequence fields (item ids, adapted history text).
logit = bias + first-order weights of the ids, categorical fields and genres
      + FM: 1/2 sum_d [(sum_f e_fd)^2 - sum_f e_fd^2]
      + DNN(concat of all fields).
Text enters through the FM and the DNN (the paper's concatenation before the DNN), not the first order.
"""

from __future__ import annotations

import torch
from torch import nn

from recommender.ctr.models.base import CTRConfig, CTRModel
from recommender.features.batch import CTRBatch, FeatureSpec
from recommender.features.layers import masked_mean, mlp


class FirstOrder(nn.Module):
    """The linear part of the FM: one weight per id and categorical value, a linear map of the genres."""

    def __init__(self, spec: FeatureSpec):
        super().__init__()
        sizes = [spec.n_users, spec.n_items] + [size for _, size in spec.user_fields + spec.item_fields]
        self.tables = nn.ModuleList(nn.Embedding(size, 1) for size in sizes)
        for table in self.tables:
            nn.init.zeros_(table.weight)
        self.genres = nn.Linear(spec.n_genres, 1, bias=False) if spec.n_genres else None
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, batch: CTRBatch) -> torch.Tensor:
        """(B,) logits."""
        columns = [batch.users, batch.items, *batch.user_fields.unbind(-1), *batch.item_fields.unbind(-1)]
        out = self.bias + sum(table(col).squeeze(-1) for table, col in zip(self.tables, columns, strict=True))
        return out + self.genres(batch.genres).squeeze(-1) if self.genres is not None else out


class DeepFM(CTRModel):
    name = "deepfm"
    config_class = CTRConfig

    def __init__(self, spec: FeatureSpec, config: CTRConfig | None = None):
        super().__init__(spec, config)
        f, d = self.features, self.config.embedding_dim
        self.n_fields = f.n_user_fields + f.n_item_fields + f.n_sequence_fields
        self.first_order = FirstOrder(spec)
        self.dnn = mlp(self.n_fields * d, self.config.mlp_dims, 1, self.config.dropout)

    def fields(self, batch: CTRBatch) -> torch.Tensor:
        """All field vectors, (B, F, D)."""
        user, item = self.field_vectors(batch)
        history = self.features.sequence(batch.history_items, batch.history_text)   # (B, L, Fs, D)
        return torch.cat([user, item, masked_mean(history, batch.history_mask)], dim=1)

    def forward(self, batch: CTRBatch) -> torch.Tensor:
        e = self.fields(batch)
        fm = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(-1)
        return self.first_order(batch) + fm + self.dnn(e.flatten(1)).squeeze(-1)
