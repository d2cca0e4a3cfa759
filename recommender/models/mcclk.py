"""MCCLK (Zou et al., SIGIR 2022, "Multi-level Cross-view Contrastive Learning for Knowledge-aware
Recommender System"): three views of users and items, contrasted at two levels.

Shapes: U users, I items, E entity nodes (:class:`~recommender.kg.ItemKG` with inverse triples, items
first), R relations (the KG's and their inverses), T KG triples, K their distinct (relation, tail)
pairs, k the kNN size, B batch rows, D the embedding size.

- Global structural view (user-item-entity graph), ``context_hops`` hops l, summed:
  KG side ``e_h^(l+1) = sum_(h,r,t) pi(h, r, t) (e_r * e_t^(l))`` with
  ``pi = softmax_h(|e_h^(l) * e_r|^2 |e_t^(l) * e_r|^2)`` (the authors' attention); computed as a CSR
  product ``A_pi X`` with ``X = e_r * e_t`` once per distinct pair (K, D) and ``A_pi`` (E, K) holding
  pi, whose gradient is a sampled product (:class:`_AttentiveProduct`). User side
  ``m_u = mean_{i in N_u} e_i^(l)``, ``e_u^(l+1) = m_u + (softmax_r(e_u^(l) . e_r) E_R) * m_u``.
  Each hop: message dropout, L2 normalisation; ``z^g = e^(0) + e^(1) + ... + e^(L)``.
- Local collaborative view: LightGCN (``lightgcn_layers``, mean of layers 0..K) over the interactions,
  D^-1/2 A D^-1/2; z^c_u (U, D), z^c_i (I, D).
- Local semantic view: a kNN item-item graph ``S = (1 - lambda) kNN(z^g_items) + lambda kNN(e^(0)_items)``,
  where kNN(x) keeps each item's k most cosine-similar items (itself included) and normalises
  ``s_ij / sqrt(d_i d_j)`` with d the row sums; ``z^s = normalize(S^(semantic_layers) e^(0)_items)``.
- Local-level contrast: items' z^s against z^c through the projection head fc1;
  global-level contrast: users' z^g against z^c (head fc2), items' z^g against z^c + z^s (head fc3);
  each :func:`~recommender.models.kgcl.cross_view_nce` with intra-view negatives and ``temperature``,
  one-directional at the local level and symmetric at the global one, over the batch's distinct users
  and distinct items (positives and negatives). Heads: Linear-ReLU-Linear (D -> D -> D).
- Score ``u* . i*`` with ``u* = z^g_u || z^c_u`` and ``i* = z^g_i || (z^c_i + z^s_i)`` (U or I, 2D);
  ``L = L_bpr + l2 |batch u*, i*|^2 / 2B + local_weight L_local + global_weight (L_global,u + L_global,i)``.
  The paper writes the weights as beta alpha and beta (1 - alpha).
- Node dropout (training): each KG triple kept with probability 1 - ``node_dropout`` (the attention is
  over the kept ones), each user-item entry of the mean matrix likewise, scaled by 1 / (1 - p).

The kNN graph is rebuilt at every forward pass (every batch and every evaluation), without
gradient, as the authors' GraphConv.forward does: it follows the embeddings as they train, and on
dbbook2014 (2,680 items) the two (I, I) similarity products and their top-k take about 0.1 s per
batch on one CPU thread, a fraction of the contrastive terms' cost.

As in the authors' code (CCIIPLab/MCCLK: modules/MCCLK.py, utils/parser.py) where the paper is less
specific: the attention above, the users' relation gate, the hop sum, inverse KG triples, the
kNN graph built from the structural view's KG aggregation (rather than a separate one) mixed with
the layer-0 graph, the normalised one-layer semantic view, the projection heads, the one-directional
local contrast and the l2 term on the batch's final representations. Where kgrec follows the paper
instead of that code, and why: the global contrast pairs the structural view with the local views,
as the paper defines it (the code's last version contrasts layer-0 embeddings with the collaborative
view, leaving the structural view out of the contrast); the loss is BPR on kgrec's triples (the
code trains a BCE on its CTR data); the collaborative view uses LightGCN's symmetric normalisation
(the code scales both directions by the user's degree); the kNN graph is over items (the code's is
over every entity, 8,908 rows for dbbook2014's 2,680 items); evaluation runs without node dropout
(the code keeps it on); KG node dropout keeps each triple with probability 1 - p where the code
keeps exactly floor((1 - p) T) (the same in expectation); negative similarities inside a top-k row
(never seen in practice) are zeroed so that the degrees stay positive.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.blas import scores_into
from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.graphs import SparsePattern, normalized_adjacency, propagate, sparse_dense_mm
from recommender.kg import ItemKG, segment_softmax
from recommender.losses import bpr_loss, l2_regularizer
from recommender.models.base import RankingModel, gather_rows, xavier_embedding
from recommender.models.configs import MCCLKConfig
from recommender.models.kgcl import cross_view_nce, dropout


class _AttentiveProduct(torch.autograd.Function):
    """``A @ X`` for a CSR ``A`` whose values (its entries in row order) are differentiable too:
    their gradient is ``(G X^T)`` at A's entries, a sampled product, and X's is ``A^T G``."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, values: torch.Tensor,  # type: ignore[override]
                pair: tuple[torch.Tensor, torch.Tensor], dense: torch.Tensor) -> torch.Tensor:
        ctx.pair = pair
        ctx.save_for_backward(dense)
        return sparse_dense_mm(pair[0], dense)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, None, torch.Tensor | None]:
        (dense,) = ctx.saved_tensors
        matrix, transposed = ctx.pair
        grad = grad.contiguous()
        grad_values = (torch.sparse.sampled_addmm(matrix, grad, dense.T, beta=0.0).values()
                       if ctx.needs_input_grad[0] else None)
        grad_dense = sparse_dense_mm(transposed, grad) if ctx.needs_input_grad[2] else None
        return grad_values, None, grad_dense


def knn_weights(items: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalised kNN item-item graph of ``items`` (I, D): (neighbours (I, k), weights (I, k)),
    weight ``s_ij / sqrt(d_i d_j)`` with s the cosine (negatives zeroed) and d each row's sum."""
    unit = F.normalize(items.detach(), dim=1)
    similarity, neighbours = torch.topk(scores_into(unit, unit), min(k, len(unit)), dim=1)
    similarity = similarity.clamp_min(0)
    inv_sqrt = similarity.sum(1).clamp_min(1e-12).rsqrt()
    return neighbours, similarity * inv_sqrt[:, None] * inv_sqrt[neighbours]


def projection_head(dim: int) -> nn.Sequential:
    """The authors' fc1, fc2, fc3: Linear-ReLU-Linear, D -> D -> D."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))


class MCCLK(RankingModel):
    name = "mcclk"
    config_class = MCCLKConfig
    config: MCCLKConfig

    def __init__(self, data: RecData, config: MCCLKConfig, device: torch.device):
        super().__init__(data, config, device)
        _check(config)
        kg = ItemKG.from_data(data, "MCCLK", inverse=True)
        self.n_entities, dim = kg.n_entities, config.embedding_dim
        self.embedding = xavier_embedding(data.n_users + kg.n_entities, dim)   # [users | entities] (U + E, D)
        self.relation = xavier_embedding(kg.n_relations, dim)                 # e_r (R, D)
        self.local_head, self.user_head, self.item_head = (projection_head(dim) for _ in range(3))
        self._build_kg(kg, device)
        pairs = np.unique(data.train[:, :2].astype(np.int64), axis=0)
        self.interaction_pattern = SparsePattern(pairs[:, 0], pairs[:, 1], (data.n_users, data.n_items), device)
        degree = torch.bincount(self.interaction_pattern.rows, minlength=data.n_users).clamp_min(1).float()
        self.interaction_weights = degree.reciprocal()                        # the mean over a user's items
        edges = np.stack([pairs[:, 0], pairs[:, 1] + data.n_users], 1)
        self.graph = normalized_adjacency(edges, data.n_users + data.n_items, device)

    def _build_kg(self, kg: ItemKG, device: torch.device) -> None:
        """The (E, K) pattern of triples over distinct (relation, tail) pairs, with each entry's
        head, relation and tail for the attention."""
        triples, relation, tail, pair = kg.relation_tail_pairs()
        self.pair_relation, self.pair_tail = (torch.from_numpy(a).to(device) for a in (relation, tail))
        self.kg_pattern = SparsePattern(triples[:, 0], pair, (kg.n_entities, len(tail)), device)
        self.entry_relation = self.pair_relation[self.kg_pattern.cols]
        self.entry_tail = self.pair_tail[self.kg_pattern.cols]

    # -- the structural view -----------------------------------------------------------------------
    def _kg_hop(self, entity: torch.Tensor, kept: torch.Tensor | None) -> torch.Tensor:
        """One KG hop over the kept triples (all with ``kept`` None): (E, D) -> (E, D)."""
        pattern = self.kg_pattern
        entries = torch.arange(len(pattern), device=entity.device) if kept is None else kept.nonzero().squeeze(1)
        heads, relations, tails = pattern.rows[entries], self.entry_relation[entries], self.entry_tail[entries]
        norms = entity.square() @ self.relation.square().T                    # |e * e_r|^2 (E, R)
        logits = norms[heads, relations] * norms[tails, relations]
        attention = segment_softmax(logits, heads, self.n_entities)
        values = torch.zeros(len(pattern), device=entity.device).index_copy_(0, entries, attention.detach())
        paths = self.relation.index_select(0, self.pair_relation) * entity.index_select(0, self.pair_tail)
        return _AttentiveProduct.apply(attention, pattern.build(values, kept), paths)

    def structural(self, training: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The global view: (z^g users (U, D), z^g entities (E, D)); ``training`` for the dropouts."""
        cfg = self.config
        p = cfg.node_dropout if training else 0.0
        kg_kept = torch.rand(len(self.kg_pattern), device=self.device) >= p if p > 0 else None
        weights, kept = self.interaction_weights, None
        if p > 0:
            kept = torch.rand(len(self.interaction_pattern), device=self.device) >= p
            weights = weights / (1 - p)
        entry_weights = weights[self.interaction_pattern.rows]
        interactions = self.interaction_pattern.build(entry_weights, kept)
        weights_kept = entry_weights if kept is None else entry_weights[kept]   # no gradient: a constant
        mess = cfg.mess_dropout if training else 0.0
        user, entity = self.embedding[:self.n_users], self.embedding[self.n_users:]
        user_sum, entity_sum = user, entity
        for _ in range(cfg.context_hops):
            items = _AttentiveProduct.apply(weights_kept, interactions, entity[:self.n_items])   # m_u (U, D)
            gate = torch.softmax(user @ self.relation.T, dim=1) @ self.relation          # (U, D)
            user, entity = items + gate * items, self._kg_hop(entity, kg_kept)
            user, entity = F.normalize(dropout(user, mess), dim=1), F.normalize(dropout(entity, mess), dim=1)
            user_sum, entity_sum = user_sum + user, entity_sum + entity
        return user_sum, entity_sum

    # -- the local views ---------------------------------------------------------------------------
    def collaborative(self) -> torch.Tensor:
        """LightGCN over the interactions: (U + I, D), users first."""
        nodes = self.embedding[:self.n_users + self.n_items]
        return propagate(self.graph, nodes, self.config.lightgcn_layers)

    def semantic(self, structural_items: torch.Tensor) -> torch.Tensor:
        """z^s (I, D) over the kNN graph rebuilt from ``structural_items`` and the layer-0 items."""
        cfg = self.config
        items = self.embedding[self.n_users:self.n_users + self.n_items]
        graphs = [knn_weights(structural_items, cfg.knn_k), knn_weights(items, cfg.knn_k)]
        out = items
        for _ in range(cfg.semantic_layers):
            out = sum(share * torch.einsum("ik,ikd->id", weights, out[neighbours])
                      for share, (neighbours, weights) in zip((1 - cfg.knn_lambda, cfg.knn_lambda), graphs,
                                                               strict=True))
        return F.normalize(out, dim=1)

    def views(self, training: bool) -> dict[str, torch.Tensor]:
        """Every view's users and items: keys ``g_user``, ``g_item``, ``c_user``, ``c_item``, ``s_item``."""
        g_user, g_entity = self.structural(training)
        g_item = g_entity[:self.n_items]
        collaborative = self.collaborative()
        return {"g_user": g_user, "g_item": g_item, "c_user": collaborative[:self.n_users],
                "c_item": collaborative[self.n_users:], "s_item": self.semantic(g_item)}

    # -- contract ----------------------------------------------------------------------------------
    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        v = self.views(self.training)
        user_all, item_all = _joined(v)
        user = user_all.index_select(0, users)
        positive, negative = gather_rows(item_all, positives, negatives)
        bpr = bpr_loss(user, positive, negative)
        reg = cfg.l2 * l2_regularizer(user, positive, negative)
        u, i = torch.unique(users), torch.unique(torch.cat([positives, negatives]))
        local = cross_view_nce(self.local_head(v["s_item"][i]), self.local_head(v["c_item"][i]), cfg.temperature,
                               symmetric=False)
        global_user = cross_view_nce(self.user_head(v["g_user"][u]), self.user_head(v["c_user"][u]), cfg.temperature)
        global_item = cross_view_nce(self.item_head(v["g_item"][i]),
                                     self.item_head(v["c_item"][i] + v["s_item"][i]), cfg.temperature)
        total = bpr + reg + cfg.local_weight * local + cfg.global_weight * (global_user + global_item)
        return {"total": total, "bpr": bpr, "local": local, "global": global_user + global_item}

    def final_embeddings(self):
        """(u* (U, 2D), i* (I, 2D)) without dropout, whatever the module's mode."""
        return _joined(self.views(False))


def _joined(v: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """u* = z^g_u || z^c_u, i* = z^g_i || (z^c_i + z^s_i)."""
    return (torch.cat([v["g_user"], v["c_user"]], dim=1),
            torch.cat([v["g_item"], v["c_item"] + v["s_item"]], dim=1))


def _check(config: MCCLKConfig) -> None:
    for name in ("node_dropout", "mess_dropout"):
        if not 0 <= getattr(config, name) < 1:
            raise ModelConfigError(f"MCCLK's {name} must be in [0, 1), got {getattr(config, name)}.")
    if not 0 <= config.knn_lambda <= 1:
        raise ModelConfigError(f"MCCLK's knn_lambda must be in [0, 1], got {config.knn_lambda}.")
    if min(config.context_hops, config.lightgcn_layers, config.semantic_layers, config.knn_k) < 1:
        raise ModelConfigError("MCCLK needs context_hops, lightgcn_layers, semantic_layers and knn_k >= 1.")
