"""CFKG (Ai et al., Algorithms 2018, "Learning Heterogeneous Knowledge Base Embeddings for
Explainable Recommendation"): users, items and KG entities in one translation space, where a
purchase is one more relation, ``buy``.

Nodes are ``[users | entities]`` with the entities numbered items first
(:class:`recommender.kg.ItemKG`), so an item is its KG entity; relations are the KG's plus ``buy``
(the last one). Every batch mixes the trainer's interactions, as (user, buy, positive item) with
the negative item as corrupted tail, with ``kg_batch_size`` KG triples with a corrupted tail
(:class:`recommender.kg.TripleSampler`, torch's global generator), in one loss::

    distance (default):  s(h, r, t) = -|| h + r - t ||
                         L = mean max(0, margin - s(h, r, t) + s(h, r, t'))
    inner_product:       s(h, r, t) = (h + r) . t
                         L = mean softplus(-s(h, r, t)) + softplus(s(h, r, t'))
    score(u, i) = s(u, buy, i)                  recommendation; shapes (B, D) rows, (U, I) scores

``distance`` is the translation score of the KGAT authors' CFKG (xiangwang1223/
knowledge_graph_attention_network, Model/CFKG.py: squared L2, margin 1) and of RecBole's ``transe``
option (L2, margin 1); ``inner_product`` is the paper's training objective (a softmax over
(h + r) . t, learnt with negative sampling) and RecBole's default. As in RecBole, the interactions
and the KG triples are sampled apart and mixed in one batch (the KGAT authors draw heads from users
and entities together), KG negatives are entities (theirs: any node), and no inverse relations are
added (theirs add one per relation).

The score is not a dot product of the final vectors, so ``score_users`` computes it; evaluation and
the written recommendations use that. ``final_embeddings`` gives (u + r_buy (U, D), i (I, D)): the
user's translated point and the item's vector, whose distance is the score. A consumer that ranks
stored vectors by inner product (serving's cold start) ranks ``distance`` runs by a different rule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from recommender.blas import scores
from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.kg import ItemKG, TripleSampler
from recommender.losses import l2_regularizer
from recommender.models.base import RankingModel, gather_rows, xavier_embedding
from recommender.models.configs import CFKGConfig

SCORE_FUNCTIONS = ("distance", "inner_product")


class CFKG(RankingModel):
    name = "cfkg"
    config_class = CFKGConfig
    config: CFKGConfig

    def __init__(self, data: RecData, config: CFKGConfig, device: torch.device):
        super().__init__(data, config, device)
        if config.score_function not in SCORE_FUNCTIONS:
            raise ModelConfigError(f"CFKG's score_function must be one of {', '.join(SCORE_FUNCTIONS)}; "
                                   f"got {config.score_function!r}")
        kg = ItemKG.from_data(data, "CFKG")
        self.embedding = xavier_embedding(data.n_users + kg.n_entities, config.embedding_dim)   # [users | entities]
        self.relation_embedding = xavier_embedding(kg.n_relations + 1, config.embedding_dim)   # [KG relations | buy]
        self.buy = kg.n_relations
        self.sampler = TripleSampler(kg.triples, kg.n_entities, kg.n_relations)

    def triple_scores(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                      negative: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """s(h, r, t) and s(h, r, t') of node-index triples, and the rows looked up (for the L2 term).
        Shapes: (B,) x4 -> (B,), (B,), [(B, D) x4]."""
        h, t, wrong = gather_rows(self.embedding, head, tail, negative)
        r = self.relation_embedding[relation]
        anchor = h + r
        if self.config.score_function == "distance":
            positive = -torch.linalg.vector_norm(anchor - t, dim=-1)
            corrupted = -torch.linalg.vector_norm(anchor - wrong, dim=-1)
        else:
            positive, corrupted = (anchor * t).sum(-1), (anchor * wrong).sum(-1)
        return positive, corrupted, [h, r, t, wrong]

    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        size = cfg.kg_batch_size or len(users)
        kg_head, kg_relation, kg_tail, kg_negative = (t.to(self.device) for t in self.sampler.sample(size))
        item, buy = self.n_users, torch.full_like(users, self.buy)
        head = torch.cat([users, kg_head + item])
        relation = torch.cat([buy, kg_relation])
        tail = torch.cat([positives + item, kg_tail + item])
        negative = torch.cat([negatives + item, kg_negative + item])
        positive, corrupted, rows = self.triple_scores(head, relation, tail, negative)
        if cfg.score_function == "distance":
            per_triple = F.relu(cfg.margin - positive + corrupted)
        else:
            per_triple = F.softplus(-positive) + F.softplus(corrupted)
        n_interactions = len(users)
        losses = {"rec": per_triple[:n_interactions].mean(), "kg": per_triple[n_interactions:].mean()}
        total = per_triple.mean()
        if cfg.l2 > 0:
            total = total + cfg.l2 * l2_regularizer(*rows)
        losses["total"] = total
        return losses

    def final_embeddings(self):
        """(u + r_buy (U, D), item vectors (I, D)): score(u, i) is their negative distance (``distance``)
        or their inner product (``inner_product``)."""
        users = self.embedding[:self.n_users] + self.relation_embedding[self.buy]
        return users, self.embedding[self.n_users:self.n_users + self.n_items]

    def score_users(self, users: torch.Tensor,
                    embeddings: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """score(u, i) of the given users against every item. Shapes: (B,) -> (B, I).

        ``distance``: -||a - b|| = -sqrt(||a||^2 - 2 a.b + ||b||^2), with a.b from one BLAS product.
        """
        anchors, items = embeddings or self.final_embeddings()
        anchors = anchors[users]
        products = scores(anchors, items)
        if self.config.score_function == "inner_product":
            return products
        squared = anchors.pow(2).sum(-1, keepdim=True) - 2 * products + items.pow(2).sum(-1)
        return -squared.clamp_min(0).sqrt()
