"""BPR-MF (Rendle et al. 2009): dot products of free user and item embeddings."""

from __future__ import annotations

import torch

from recommender.data import RecData
from recommender.losses import bpr_loss, l2_regularizer
from recommender.models.base import RankingModel, xavier_embedding
from recommender.models.configs import BPRMFConfig


class BPRMF(RankingModel):
    name = "bprmf"
    config_class = BPRMFConfig
    config: BPRMFConfig

    def __init__(self, data: RecData, config: BPRMFConfig, device: torch.device):
        super().__init__(data, config, device)
        self.user_embedding = xavier_embedding(data.n_users, config.embedding_dim)
        self.item_embedding = xavier_embedding(data.n_items, config.embedding_dim)

    def batch_loss(self, users, positives, negatives, epoch):
        u, p, n = self.user_embedding[users], self.item_embedding[positives], self.item_embedding[negatives]
        bpr = bpr_loss(u, p, n)
        reg = self.config.l2 * l2_regularizer(u, p, n)
        return {"total": bpr + reg, "bpr": bpr}

    def final_embeddings(self):
        return self.user_embedding, self.item_embedding
