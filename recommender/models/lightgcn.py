"""LightGCN (He et al. 2020) on the user-item graph, and SimGCL (Yu et al. 2022) on top of it.

LightGCN's training step (:func:`propagated_bpr`) is one autograd node for the propagation, the BPR
loss and the L2 term. The layer mean E* = (E + A E + ... + A^L E) / (L + 1) is linear in E, so the
backward pass needs no saved layer: dL/dE = G + A (G + A (G + ...)) (Horner, A symmetric), G the
gradient of the batch's rows of E* scattered once, with the L2 rows' gradient added at the same
rows. The forward pass keeps only the batch's rows of each layer, and makes the last product at
the batch's distinct rows only (the same additions in the same order: the numbers of gathering
the full mean); the first backward product is scattered from G's non-zero rows, the batch's. On
one CPU thread (``csr_kernels``) that spares about 40 % of two of the 2L products, and BPR's
gradient is written by hand: against autograd through ``propagate``, lookups and ``bpr_loss``, no
full-size mean or division, no zero-filled gradient per lookup, no gradient sums, a few ops
instead of dozens. With Adam's fused step an epoch on dbbook2014 takes about 60-70 % of the CPU
time. The losses are the same numbers, the gradient equal to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from recommender import csr_kernels
from recommender.data import RecData
from recommender.graphs import normalized_adjacency, propagate, sparse_dense_mm
from recommender.losses import bpr_loss, info_nce, l2_regularizer
from recommender.models.base import RankingModel, distinct_rows, gather_rows, xavier_embedding
from recommender.models.configs import LightGCNConfig, SimGCLConfig


class _PropagatedBPR(torch.autograd.Function):
    """:func:`propagated_bpr` with a hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, adjacency: torch.Tensor,  # type: ignore[override]
                embeddings: torch.Tensor, rows: torch.Tensor, n_layers: int,
                l2: float) -> tuple[torch.Tensor, torch.Tensor]:
        distinct, where = distinct_rows(rows, len(embeddings))
        compiled = csr_kernels.applies(adjacency, embeddings)
        ego = embeddings.index_select(0, rows)
        total, current = ego, embeddings
        for layer in range(n_layers):   # propagate's order of additions: E + A E, then + A^2 E, ...
            if compiled and layer == n_layers - 1:      # the last product, at the batch's rows only
                picked = csr_kernels.csr_rows_dense_mm(adjacency, distinct, current).index_select(0, where)
            else:
                current = sparse_dense_mm(adjacency, current)
                picked = current.index_select(0, rows)
            total = total + picked if layer == 0 else total.add_(picked)
        user, positive, negative = (total.div_(n_layers + 1) if n_layers else total).split(len(rows) // 3)
        margin = (user * positive).sum(-1) - (user * negative).sum(-1)       # bpr_loss's terms, in its order
        bpr = F.softplus(-margin).mean()
        ctx.save_for_backward(rows, distinct, where, ego, user, positive, negative, margin)
        ctx.adjacency, ctx.n_layers, ctx.l2, ctx.n_nodes, ctx.compiled = adjacency, n_layers, l2, len(embeddings), compiled
        return bpr + l2 * l2_regularizer(*ego.split(len(rows) // 3)), bpr

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad_total: torch.Tensor, grad_bpr: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        rows, distinct, where, ego, user, positive, negative, margin = ctx.saved_tensors
        size, layers = len(user), ctx.n_layers
        # d mean softplus(-m) / dm = -sigmoid(-m) / B; the mean's rows share the 1 / (L + 1)
        weight = (torch.sigmoid(-margin) * ((grad_total + grad_bpr) / (size * (layers + 1))))[:, None]
        grad_rows = torch.cat([(negative - positive).mul_(weight), user * -weight, user * weight])
        per_row = grad_rows.new_zeros(len(distinct), grad_rows.shape[1]).index_add_(0, where, grad_rows)
        grad = grad_rows.new_zeros(ctx.n_nodes, grad_rows.shape[1]).index_copy_(0, distinct, per_row)   # G
        for layer in range(layers):                   # G + A (G + A (G + ...)): A is symmetric
            if ctx.compiled and layer == 0:           # A G from the batch's rows of G, its only non-zero ones
                csr_kernels.csr_rows_transposed_add_(ctx.adjacency, distinct, per_row, grad)
            else:
                grad = sparse_dense_mm(ctx.adjacency, grad).index_add_(0, distinct, per_row)
        # l2_regularizer: d (l2 sum x^2 / 2B) / dx = l2 x / B, on the rows of layer 0
        return None, grad.index_add_(0, rows, ego * (grad_total * ctx.l2 / size)), None, None, None


def propagated_bpr(adjacency: torch.Tensor, embeddings: torch.Tensor, rows: torch.Tensor, n_layers: int,
                   l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(BPR + ``l2`` times the L2 of the batch's rows of E, BPR), differentiable in ``embeddings``, for
    ``rows`` = [users | positive items | negative items] as node indices (B each). BPR is
    ``bpr_loss`` of those rows of ``propagate(adjacency, embeddings, n_layers)``, computed without the
    full (N, D) mean; ``adjacency`` must be symmetric. Shapes: (N, N) sparse, (N, D), (3B,) -> (), ()."""
    return _PropagatedBPR.apply(adjacency, embeddings, rows, n_layers, l2)


class LightGCN(RankingModel):
    """Propagates free embeddings over the normalized interaction graph; BPR loss."""

    name = "lightgcn"
    config_class = LightGCNConfig
    config: LightGCNConfig
    fused_adam = True

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
        """BPR on the propagated rows plus ``l2`` times the L2 of the same rows of E (layer 0)."""
        rows = torch.cat([users, positives + self.n_users, negatives + self.n_users])
        total, bpr = propagated_bpr(self.adjacency, self.embedding, rows, self.config.n_layers, self.config.l2)
        return {"total": total, "bpr": bpr}

    def final_embeddings(self):
        nodes = self.propagated()
        return nodes[:self.n_users], nodes[self.n_users:]


class SimGCL(LightGCN):
    """LightGCN + InfoNCE between two noise-perturbed propagations (no graph augmentation)."""

    name = "simgcl"
    config_class = SimGCLConfig
    config: SimGCLConfig
    fused_adam = False     # the figures measured with the per-tensor step

    def batch_loss(self, users, positives, negatives, epoch):
        losses = self._bpr(self.propagated(), users, positives, negatives)
        view_a, view_b = self.propagated(self.config.noise_eps), self.propagated(self.config.noise_eps)
        u, i = torch.unique(users), torch.unique(positives) + self.n_users
        t = self.config.temperature
        cl = info_nce(view_a[u], view_b[u], t) + info_nce(view_a[i], view_b[i], t)
        losses["cl"] = cl
        losses["total"] = losses["total"] + self.config.cl_weight * cl
        return losses
