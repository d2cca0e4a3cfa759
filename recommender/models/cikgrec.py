"""CIKGRec (Hu et al., AAAI 2025): LightGCN on the Collaborative Interest Knowledge Graph.

Objective (Eq. 11): ``bpr_weight * L_r + reconstruction_weight * L_u + cl_weight * L_c``, with
TransE on the KG (Eq. 12) after every epoch (alternating, as in the paper, with its own optimizer).

- ``L_r`` (Eq. 10): BPR on the l-layer propagation over the full CIKG.
- ``L_u`` (Eq. 3-7): mask a scheduled share of interest nodes with a learnable token, encode
  with l-1 layers, project linearly, decode with one propagation, scaled cosine error.
- ``L_c`` (Eq. 8-9): InfoNCE between the noise-perturbed interaction graph (view 1) and
  interaction + interest graph (view 2) for users, and view 1 and interaction + KG (view 3) for
  items. Items are their KG entities' nodes, so the KG is "mapped to items" (M(G_K, P)).
Every part can be switched off (``use_*`` flags) for the ablations; a dataset without
interests or KG switches the matching parts off and says so in ``notes``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from recommender.config import ModelConfig
from recommender.data import RecData
from recommender.graphs import (
    interaction_edges,
    interest_edges,
    kg_edges,
    node_layout,
    normalized_adjacency,
    propagate,
)
from recommender.losses import bpr_loss, info_nce, l2_regularizer, scaled_cosine_error, transe_loss
from recommender.models.base import RankingModel, xavier_embedding


class CIKGRec(RankingModel):
    name = "cikgrec"

    def __init__(self, data: RecData, config: ModelConfig, device: torch.device):
        super().__init__(data, config, device)
        self.use_interests = config.use_interests and data.has_interests
        self.use_kg = config.use_kg and data.has_kg
        if config.use_interests and not data.has_interests:
            self.notes.append("dataset has no user interests: interest graph, view 2 and reconstruction are off")
        if config.use_kg and not data.has_kg:
            self.notes.append("dataset has no KG: KG edges, view 3 and TransE are off")
        self.use_reconstruction = config.use_reconstruction and self.use_interests
        self.use_contrastive = config.use_contrastive
        self.use_transe = config.use_transe and self.use_kg
        self.kg_optimizer: torch.optim.Optimizer | None = None  # TransE alternates with its own Adam
        self.layout = node_layout(data)
        dim = config.embedding_dim
        self.embedding = xavier_embedding(self.layout.n_nodes, dim)
        self._build_graphs(data, device)
        if self.use_reconstruction:
            self.mask_token = nn.Parameter(torch.zeros(1, dim))
            self.projection = nn.Linear(dim, dim)
            self.interest_nodes = torch.arange(self.layout.interest_offset, self.layout.n_nodes, device=device)
        if self.use_transe:
            self.relation_embedding = xavier_embedding(data.n_relations, dim)
            self.triples = torch.from_numpy(data.triples).to(device)
            self.entity_node = torch.from_numpy(self.layout.entity_node).to(device)

    def _build_graphs(self, data: RecData, device: torch.device) -> None:
        n = self.layout.n_nodes
        loops = self.config.self_loops
        ui = interaction_edges(data, self.layout)
        uj = interest_edges(data, self.layout) if self.use_interests else np.zeros((0, 2), np.int64)
        kg = kg_edges(data, self.layout) if self.use_kg else np.zeros((0, 2), np.int64)
        self.cikg = normalized_adjacency(np.concatenate([ui, uj, kg]), n, device, loops)
        if self.use_contrastive:
            self.view_interactions = normalized_adjacency(ui, n, device, loops)
            self.view_interests = (normalized_adjacency(np.concatenate([ui, uj]), n, device, loops)
                                   if self.use_interests else None)
            self.view_kg = normalized_adjacency(np.concatenate([ui, kg]), n, device, loops) if self.use_kg else None

    # -- parts -------------------------------------------------------------------------------------
    def item_nodes(self, items: torch.Tensor) -> torch.Tensor:
        return items + self.n_users

    def reconstruction_loss(self, epoch: int) -> torch.Tensor:
        """Eq. 5-7 on a random subset of interest nodes, of size rate(epoch) * |J|."""
        rate = self.config.mask.rate(epoch)
        n_masked = max(1, int(round(rate * len(self.interest_nodes))))
        masked = self.interest_nodes[torch.randperm(len(self.interest_nodes), device=self.device)[:n_masked]]
        masked_input = self.embedding.index_put((masked,), self.mask_token.expand(n_masked, -1))
        encoded = propagate(self.cikg, masked_input, self.config.n_layers - 1)
        projected = self.projection(encoded).index_fill(0, masked, 0.0)  # re-mask before decoding
        decoded = torch.sparse.mm(self.cikg, projected)
        return scaled_cosine_error(self.embedding[masked], decoded[masked], self.config.eta)

    def contrastive_loss(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        view1 = propagate(self.view_interactions, self.embedding, cfg.n_layers, perturb=cfg.noise_eps,
                          include_input=False)
        loss = torch.zeros((), device=self.device)
        if self.view_interests is not None:
            view2 = propagate(self.view_interests, self.embedding, cfg.n_layers)
            u = torch.unique(users)
            loss = loss + info_nce(view1[u], view2[u], cfg.temperature)
        if self.view_kg is not None:
            view3 = propagate(self.view_kg, self.embedding, cfg.n_layers)
            i = self.item_nodes(torch.unique(items))
            loss = loss + info_nce(view1[i], view3[i], cfg.temperature)
        if self.view_interests is None and self.view_kg is None:  # no side views: SimGCL's own
            view2 = propagate(self.view_interactions, self.embedding, cfg.n_layers, perturb=cfg.noise_eps,
                              include_input=False)
            u, i = torch.unique(users), self.item_nodes(torch.unique(items))
            loss = info_nce(view1[u], view2[u], cfg.temperature) + info_nce(view1[i], view2[i], cfg.temperature)
        return loss

    # -- contract ----------------------------------------------------------------------------------
    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        nodes = propagate(self.cikg, self.embedding, cfg.n_layers)
        pos, neg = self.item_nodes(positives), self.item_nodes(negatives)
        bpr = bpr_loss(nodes[users], nodes[pos], nodes[neg])
        reg = cfg.l2 * l2_regularizer(self.embedding[users], self.embedding[pos], self.embedding[neg])
        losses = {"bpr": bpr}
        total = cfg.bpr_weight * bpr + reg
        if self.use_reconstruction:
            losses["reconstruction"] = self.reconstruction_loss(epoch)
            total = total + cfg.reconstruction_weight * losses["reconstruction"]
        if self.use_contrastive:
            losses["cl"] = self.contrastive_loss(users, positives)
            total = total + cfg.cl_weight * losses["cl"]
        losses["total"] = total
        return losses

    def epoch_end(self, optimizer, epoch, generator):
        """One pass of TransE over the KG triples (Eq. 12), negatives are random tails."""
        if not self.use_transe:
            return {}
        if self.kg_optimizer is None:
            self.kg_optimizer = torch.optim.Adam(self.parameters(), lr=self.config.kg_lr)
        optimizer = self.kg_optimizer
        order = torch.randperm(len(self.triples), generator=generator).to(self.device)
        total, steps = 0.0, 0
        for start in range(0, len(order), self.config.transe_batch_size):
            batch = self.triples[order[start:start + self.config.transe_batch_size]]
            negative = torch.randint(0, len(self.entity_node), (len(batch),), generator=generator).to(self.device)
            head = self.embedding[self.entity_node[batch[:, 0]]]
            tail = self.embedding[self.entity_node[batch[:, 2]]]
            wrong = self.embedding[self.entity_node[negative]]
            relation = self.relation_embedding[batch[:, 1]]
            loss = transe_loss(head, relation, tail, wrong) + self.config.transe_l2 * l2_regularizer(head, relation, tail, wrong)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        return {"transe": total / max(steps, 1)}

    def final_embeddings(self):
        nodes = propagate(self.cikg, self.embedding, self.config.n_layers)
        return nodes[:self.n_users], nodes[self.n_users:self.n_users + self.n_items]
