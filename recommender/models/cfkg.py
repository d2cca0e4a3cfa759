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

A step is one autograd node for the scores (:func:`triple_scores`): the rows are gathered once, and
the backward pass writes the gradient of every gathered row by hand and scatters them into one
zero-filled (U + E, D) gradient, where autograd would zero-fill and scatter per lookup, concatenate
the split rows' gradients and mask the norms'. With Adam's fused step and the KG negatives checked
in a hash set, only where redrawn (:class:`~recommender.kg.TripleSampler`), an epoch on dbbook2014
on one CPU thread takes well under half the time; the losses are the same numbers, the gradient
equal to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from recommender.blas import scores
from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.kg import ItemKG, TripleSampler
from recommender.models.base import RankingModel, xavier_embedding
from recommender.models.configs import CFKGConfig

SCORE_FUNCTIONS = ("distance", "inner_product")


class _TripleScores(torch.autograd.Function):
    """:func:`triple_scores` with a hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, nodes: torch.Tensor,  # type: ignore[override]
                relations: torch.Tensor, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                negative: torch.Tensor, distance: bool, with_squares: bool) -> tuple[torch.Tensor, ...]:
        index = torch.cat([head, tail, negative])
        h, t, wrong = nodes.index_select(0, index).split(len(head))
        r = relations.index_select(0, relation)
        anchor = h + r
        if distance:
            to_tail, to_wrong = anchor - t, anchor - wrong
            positive = torch.linalg.vector_norm(to_tail, dim=-1).neg_()
            corrupted = torch.linalg.vector_norm(to_wrong, dim=-1).neg_()
            ctx.save_for_backward(index, relation, to_tail, to_wrong, positive, corrupted,
                                  *((h, r, t, wrong) if with_squares else ()))
        else:
            positive, corrupted = (anchor * t).sum(-1), (anchor * wrong).sum(-1)
            ctx.save_for_backward(index, relation, anchor, t, wrong, *((h, r) if with_squares else ()))
        # l2_regularizer's sum, term by term in its order
        squares = sum(x.pow(2).sum() for x in (h, r, t, wrong)) if with_squares else anchor.new_zeros(())
        ctx.distance, ctx.with_squares, ctx.shapes = distance, with_squares, (nodes.shape, relations.shape)
        return positive, corrupted, squares

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad_positive: torch.Tensor, grad_corrupted: torch.Tensor,
                 grad_squares: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        saved = ctx.saved_tensors
        index, relation = saved[:2]
        gp, gc = grad_positive[:, None], grad_corrupted[:, None]
        if ctx.distance:
            to_tail, to_wrong, positive, corrupted = saved[2:6]
            # d(-||x||)/dx = -x / ||x||, and 0 at x = 0 (as torch's norm backward)
            unit_tail = to_tail / positive.neg()[:, None].masked_fill_(positive[:, None] == 0, float("inf"))
            unit_wrong = to_wrong / corrupted.neg()[:, None].masked_fill_(corrupted[:, None] == 0, float("inf"))
            grad_t, grad_wrong = unit_tail.mul_(gp), unit_wrong.mul_(gc)
            grad_anchor = (grad_t + grad_wrong).neg_()
            rows = saved[6:]
        else:
            anchor, t, wrong = saved[2:5]
            grad_anchor = t * gp + wrong * gc
            grad_t, grad_wrong = anchor * gp, anchor * gc
            rows = (*saved[5:], t, wrong) if ctx.with_squares else ()
        grad_rows = torch.cat([grad_anchor, grad_t, grad_wrong])
        grad_r = grad_anchor
        if ctx.with_squares:          # d(sum x^2)/dx = 2x for each of h, r, t, wrong
            h, r, t, wrong = rows
            twice = 2 * grad_squares
            grad_rows.add_(torch.cat([h, t, wrong]) * twice)
            grad_r = grad_r + r * twice
        nodes_shape, relations_shape = ctx.shapes
        grad_nodes = grad_rows.new_zeros(nodes_shape).index_add_(0, index, grad_rows)
        grad_relations = grad_rows.new_zeros(relations_shape).index_add_(0, relation, grad_r)
        return grad_nodes, grad_relations, None, None, None, None, None, None


class CFKG(RankingModel):
    name = "cfkg"
    config_class = CFKGConfig
    config: CFKGConfig
    fused_adam = True

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

    def triple_scores(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor, negative: torch.Tensor,
                      with_squares: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """s(h, r, t), s(h, r, t') of node-index triples, and (``with_squares``, else 0) the sum of the
        squared entries of the rows looked up (h, r, t, t'), for the L2 term.
        Shapes: (B,) x4 -> (B,), (B,), scalar."""
        return _TripleScores.apply(self.embedding, self.relation_embedding, head, relation, tail, negative,
                                   self.config.score_function == "distance", with_squares)

    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        size = cfg.kg_batch_size or len(users)
        kg_head, kg_relation, kg_tail, kg_negative = (t.to(self.device) for t in self.sampler.sample(size))
        item, buy = self.n_users, torch.full_like(users, self.buy)
        head = torch.cat([users, kg_head + item])
        relation = torch.cat([buy, kg_relation])
        tail = torch.cat([positives + item, kg_tail + item])
        negative = torch.cat([negatives + item, kg_negative + item])
        positive, corrupted, squares = self.triple_scores(head, relation, tail, negative, cfg.l2 > 0)
        if cfg.score_function == "distance":
            per_triple = F.relu(cfg.margin - positive + corrupted)
        else:
            per_triple = F.softplus(-positive) + F.softplus(corrupted)
        n_interactions = len(users)
        losses = {"rec": per_triple[:n_interactions].mean(), "kg": per_triple[n_interactions:].mean()}
        total = per_triple.mean()
        if cfg.l2 > 0:        # l2_regularizer: half the squared L2 norm per row, over the batch
            total = total + cfg.l2 * (squares / (2 * len(head)))
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
