"""SGL (Wu et al., SIGIR 2021, "Self-supervised Graph Learning for Recommendation") on LightGCN.

Two random subgraphs s1(G), s2(G) of the user-item graph are propagated by the same LightGCN as
the main graph (shared embeddings E (N, D), N = U + I, mean over layers 0..L), and each node's two
views are pulled together against every other node of its kind (Sec. 3.2)::

    ND: s(G) = (M' * V, E)        drop a share rho of the users and of the items with their edges
    ED: s(G) = (V, M * E)         drop a share rho of the interactions
    A'  = D'^-1/2 A_s D'^-1/2     each view renormalised, no self-loops (isolated nodes: zero rows)
    L_ssl^user = sum_u -log exp(s(z'_u, z''_u) / tau) / sum_{v in U} exp(s(z'_u, z''_v) / tau)
    L_ssl = L_ssl^user + L_ssl^item,   s = cosine similarity
    L = L_bpr + lambda_1 L_ssl + lambda_2 ||E_batch||^2

Shapes: views (N, D); anchors are the batch's users and positive items (B each), candidates every
user (U, D) or every item (I, D) of the second view.

As in the authors' code (wujcan/SGL-Torch): the two views are drawn once per epoch (at the
epoch's first batch, from torch's global generator, so a resumed run draws the same ones), ED
keeps exactly (1 - rho) |E| interactions and ND drops exactly rho U users and rho I items, the
contrast sums over the batch's rows (a user or item repeated in the batch counts each time) against
all users or items, and the L2 term is on the batch's layer-0 embeddings. Departures: losses are
means over the batch rather than sums (the same ratio between the terms; Adam is scale-free), and
the random-walk operator (a view per layer) is not offered.
"""

from __future__ import annotations

import torch

from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.graphs import InteractionSubgraphs, propagate
from recommender.losses import ScoreWorkspace, candidate_info_nce
from recommender.models.configs import SGLConfig
from recommender.models.lightgcn import LightGCN

AUGMENTATIONS = ("edge", "node")


class InteractionDropout(InteractionSubgraphs):
    """SGL's random subgraphs of the user-item graph, renormalised without self-loops (ED and ND)."""

    def edge_dropout(self, ratio: float) -> torch.Tensor:
        """ED: keep exactly int(|E| (1 - ratio)) interactions, drawn without replacement."""
        n_keep = int(self.n_edges * (1 - ratio))
        keep = torch.zeros(self.n_edges, dtype=torch.bool, device=self.rows.device)
        keep[torch.randperm(self.n_edges, device=self.rows.device)[:n_keep]] = True
        return self.keep(keep)

    def node_dropout(self, ratio: float) -> torch.Tensor:
        """ND: drop int(ratio U) users and int(ratio I) items, drawn without replacement, with all
        their interactions."""
        device = self.rows.device
        users = torch.zeros(self.n_users, dtype=torch.bool, device=device)
        users[torch.randperm(self.n_users, device=device)[:int(self.n_users * ratio)]] = True
        items = torch.zeros(self.n_items, dtype=torch.bool, device=device)
        items[torch.randperm(self.n_items, device=device)[:int(self.n_items * ratio)]] = True
        return self.keep(~(users[self.user] | items[self.item]))

    def sample(self, augmentation: str, ratio: float) -> torch.Tensor:
        return self.edge_dropout(ratio) if augmentation == "edge" else self.node_dropout(ratio)


class SGL(LightGCN):
    """LightGCN + InfoNCE between two edge- or node-dropout views, redrawn once per epoch."""

    name = "sgl"
    config_class = SGLConfig
    config: SGLConfig
    fused_adam = False     # the figures measured with the per-tensor step

    def __init__(self, data: RecData, config: SGLConfig, device: torch.device):
        super().__init__(data, config, device)
        if config.augmentation not in AUGMENTATIONS:
            raise ModelConfigError(f"SGL's augmentation must be one of {', '.join(AUGMENTATIONS)}; "
                                   f"got {config.augmentation!r}")
        if not 0 <= config.drop_ratio < 1:
            raise ModelConfigError(f"SGL's drop_ratio must be in [0, 1); got {config.drop_ratio}")
        self.subgraphs = InteractionDropout(data.train, data.n_users, data.n_items, device)
        self.views: tuple[torch.Tensor, torch.Tensor] | None = None
        self.views_epoch: int | None = None
        self.workspaces = (ScoreWorkspace(), ScoreWorkspace())    # users' and items' (B, U) / (B, I) scores

    def _views(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The epoch's two subgraphs, drawn at its first batch."""
        if self.views is None or self.views_epoch != epoch:
            cfg = self.config
            self.views = (self.subgraphs.sample(cfg.augmentation, cfg.drop_ratio),
                          self.subgraphs.sample(cfg.augmentation, cfg.drop_ratio))
            self.views_epoch = epoch
        return self.views

    def ssl_loss(self, users: torch.Tensor, positives: torch.Tensor, epoch: int) -> torch.Tensor:
        """L_ssl^user + L_ssl^item, each the mean over the batch's rows (repeats weighted, scored once)."""
        first, second = self._views(epoch)
        layers = self.config.n_layers
        view_a, view_b = propagate(first, self.embedding, layers), propagate(second, self.embedding, layers)
        loss = torch.zeros((), device=self.embedding.device)
        for offset, anchors, last, workspace in ((0, users, self.n_users, self.workspaces[0]),
                                                 (self.n_users, positives, self.n_users + self.n_items,
                                                  self.workspaces[1])):
            nodes, counts = torch.unique(anchors, return_counts=True)
            loss = loss + candidate_info_nce(view_a[nodes + offset], view_b[offset:last], self.config.temperature,
                                             nodes, counts, workspace=workspace)
        return loss

    def batch_loss(self, users, positives, negatives, epoch):
        losses = self._bpr(self.propagated(), users, positives, negatives)
        losses["ssl"] = self.ssl_loss(users, positives, epoch)
        losses["total"] = losses["total"] + self.config.cl_weight * losses["ssl"]
        return losses
