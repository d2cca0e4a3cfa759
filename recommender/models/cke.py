"""CKE (Zhang et al., KDD 2016, "Collaborative Knowledge Base Embedding for Recommender Systems"),
with structural knowledge only.

An item's vector is a free latent vector plus the TransR embedding of its KG entity (the item is
that entity: :class:`recommender.kg.ItemKG` numbers items first); users are free vectors::

    e_j = eta_j + v_j                                       (D,)  item j, eta free, v its entity
    score(i, j) = u_i . e_j
    v_h^r = v_h M_r,  v_t^r = v_t M_r                       (k,)  TransR projection, M_r (D, k)
    f_r(h, t) = || v_h^r + r - v_t^r ||^2                   plausibility of (h, r, t)
    L = L_bpr(u, e_pos, e_neg) + kg_weight * mean(-ln sigma(f_r(h, t') - f_r(h, t)))
        + l2 * ||u, e_pos, e_neg||^2 / 2 per row

The BPR term (the trainer's (user, positive, negative) batch) and the TransR term (``kg_batch_size``
KG triples with a corrupted tail, :class:`recommender.kg.TripleSampler`, from torch's global
generator) are optimised jointly in every step, as in the KGAT authors' CKE
(xiangwang1223/knowledge_graph_attention_network, Model/CKE.py), which also L2-normalises
v_h^r, v_t^r and r before the distance. That is the structural part of CKE as RecBole and the KGAT
authors implement it; the paper's textual and visual embeddings are left out (no such inputs here).

Departures from the KGAT authors' code: KG triples are drawn uniformly (theirs: distinct heads, then
one triple of each head), and their L2 term on the unit-normalised KG vectors, which is a constant
with no gradient, is dropped; the L2 on the BPR batch is a mean over rows (theirs a sum with weight
1e-5 at batch 1,024, the same as ``l2`` = 1e-2 here).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from recommender.data import RecData
from recommender.kg import ItemKG, TripleSampler
from recommender.losses import bpr_loss, l2_regularizer, transe_loss
from recommender.models.base import RankingModel, gather_rows, xavier_embedding
from recommender.models.configs import CKEConfig


def project_by_relation(rows: torch.Tensor, relation: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """``rows[b] @ matrices[relation[b]]`` for every b: TransR's projection of a batch.

    Rows are grouped by relation and each group is one matrix product, a loop over the relations:
    the batched product over per-row copies of M_r (B x D x k floats gathered, and scattered back in
    the backward pass) took 20 times as long on dbbook2014's batches of 2,048 triples.
    Shapes: (B, m, D), (B,), (R, D, k) -> (B, m, k).
    """
    order = torch.argsort(relation)
    counts = torch.bincount(relation, minlength=len(matrices)).tolist()
    grouped = rows.index_select(0, order).split(counts)
    projected = torch.cat([group @ matrices[r] for r, group in enumerate(grouped) if len(group)])
    return torch.empty_like(projected).index_copy(0, order, projected)


class CKE(RankingModel):
    name = "cke"
    config_class = CKEConfig
    config: CKEConfig

    def __init__(self, data: RecData, config: CKEConfig, device: torch.device):
        super().__init__(data, config, device)
        kg = ItemKG.from_data(data, "CKE")
        dim, k = config.embedding_dim, config.relation_dim
        self.user_embedding = xavier_embedding(data.n_users, dim)
        self.item_embedding = xavier_embedding(data.n_items, dim)            # eta_j
        self.entity_embedding = xavier_embedding(kg.n_entities, dim)          # v (items first)
        self.relation_embedding = xavier_embedding(kg.n_relations, k)         # r
        bound = math.sqrt(6 / (dim + k))                                       # xavier of each (D, k) M_r
        self.projection = nn.Parameter(torch.empty(kg.n_relations, dim, k).uniform_(-bound, bound))
        self.sampler = TripleSampler(kg.triples, kg.n_entities, kg.n_relations)

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """e_j = eta_j + v_j for the given items, or all of them. Shapes: (B,) -> (B, D); None -> (I, D)."""
        if items is None:
            return self.item_embedding + self.entity_embedding[:self.n_items]
        return self.item_embedding[items] + self.entity_embedding[items]

    def transr_loss(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                    negative: torch.Tensor) -> torch.Tensor:
        """mean -ln sigma(f_r(h, t') - f_r(h, t)) on unit-normalised projections. Shapes: (B,) x4 -> scalar."""
        entities = torch.stack(gather_rows(self.entity_embedding, head, tail, negative), 1)    # (B, 3, D)
        projected = F.normalize(project_by_relation(entities, relation, self.projection), dim=-1)  # (B, 3, k)
        r = F.normalize(self.relation_embedding[relation], dim=-1)
        return transe_loss(projected[:, 0], r, projected[:, 1], projected[:, 2], squared=True)

    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        user = self.user_embedding[users]
        free, entity = (gather_rows(table, positives, negatives) for table in (self.item_embedding,
                                                                              self.entity_embedding))
        positive, negative = free[0] + entity[0], free[1] + entity[1]
        bpr = bpr_loss(user, positive, negative)
        head, relation, tail, corrupted = (t.to(self.device) for t in self.sampler.sample(cfg.kg_batch_size))
        kg = self.transr_loss(head, relation, tail, corrupted)
        reg = cfg.l2 * l2_regularizer(user, positive, negative)
        return {"total": bpr + cfg.kg_weight * kg + reg, "bpr": bpr, "kg": kg}

    def final_embeddings(self):
        return self.user_embedding, self.item_vectors()
