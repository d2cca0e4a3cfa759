"""LightGCN (He et al. 2020) on the user-item graph, and SimGCL (Yu et al. 2022) on top of it."""

from __future__ import annotations

import torch

from recommender.data import RecData
from recommender.graphs import normalized_adjacency, propagate
from recommender.losses import bpr_loss, info_nce, l2_regularizer
from recommender.models.base import RankingModel, gather_rows, xavier_embedding
from recommender.models.configs import LightGCNConfig, SimGCLConfig


class LightGCN(RankingModel):
    """Propagates free embeddings over the normalized interaction graph; BPR loss."""

    name = "lightgcn"
    config_class = LightGCNConfig
    config: LightGCNConfig

    def __init__(self, data: RecData, config: LightGCNConfig, device: torch.device):
        super().__init__(data, config, device)
        n_nodes = data.n_users + data.n_items
        self.embedding = xavier_embedding(n_nodes, config.embedding_dim)
        edges = data.train.copy()
        edges[:, 1] += data.n_users
        self.adjacency = normalized_adjacency(edges, n_nodes, device)

    def propagated(self, perturb: float = 0.0) -> torch.Tensor:
        return propagate(self.adjacency, self.embedding, self.config.n_layers, perturb=perturb,
                         include_input=perturb == 0)

    def _bpr(self, nodes: torch.Tensor, users, positives, negatives) -> dict[str, torch.Tensor]:
        item = self.n_users
        pos, neg = positives + item, negatives + item
        bpr = bpr_loss(*gather_rows(nodes, users, pos, neg))
        reg = self.config.l2 * l2_regularizer(*gather_rows(self.embedding, users, pos, neg))
        return {"total": bpr + reg, "bpr": bpr}

    def batch_loss(self, users, positives, negatives, epoch):
        return self._bpr(self.propagated(), users, positives, negatives)

    def final_embeddings(self):
        nodes = self.propagated()
        return nodes[:self.n_users], nodes[self.n_users:]


class SimGCL(LightGCN):
    """LightGCN + InfoNCE between two noise-perturbed propagations (no graph augmentation)."""

    name = "simgcl"
    config_class = SimGCLConfig
    config: SimGCLConfig

    def batch_loss(self, users, positives, negatives, epoch):
        losses = self._bpr(self.propagated(), users, positives, negatives)
        view_a, view_b = self.propagated(self.config.noise_eps), self.propagated(self.config.noise_eps)
        u, i = torch.unique(users), torch.unique(positives) + self.n_users
        t = self.config.temperature
        cl = info_nce(view_a[u], view_b[u], t) + info_nce(view_a[i], view_b[i], t)
        losses["cl"] = cl
        losses["total"] = losses["total"] + self.config.cl_weight * cl
        return losses
