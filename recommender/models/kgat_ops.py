"""KGAT's two training objectives as single autograd nodes with hand-written backward passes.

Both are the maths of :mod:`recommender.models.kgat` (Eq. 1-2, Eq. 3 and 8); what changes is the
work per step. On one CPU thread a KGAT epoch on dbbook2014 is matrix products and memory traffic
over (N, d) blocks (N = 14,484 nodes) and, in the TransR phase, hundreds of small operations per
step; autograd records each one, zero-fills a gradient block per row lookup and sums gradients that
reach a tensor by several paths into fresh blocks. Here:

- :func:`collaborative_rows` (Eq. 3, 8 and message dropout, all layers) returns the batch's rows of
  every layer. The last layer is computed at the batch's distinct rows only (on dbbook2014 2.2k of
  the 14.5k nodes, 30 % of A's entries), since nothing else reads it; its dropout mask is still drawn
  whole, so the random stream is the one of dropping out every node. The backward pass is two
  matrix products per linear map, the LeakyReLU slopes read off the saved activations (their sign
  is their input's), and each layer's gradients (through the sum, the product, A^T and the rows
  read by the loss) summed into one block.
- :func:`transr_loss` (Eq. 1-2 plus the L2 term) gathers the batch's rows once, already grouped by
  relation, as [heads | tails | negative tails] of each relation, so each W_r is one product over its
  3 n_r rows; the softplus, the distances and the L2 term are differentiated by hand, and the rows'
  gradients are scattered into one zero-filled (N, D) block.

The forward values are those of autograd's ops (TransR's batch mean sums the triples in relation
order, the last layer's products run over fewer rows); the gradients are equal to float rounding
(checked against autograd in tests/test_model_kgat.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from recommender import csr_kernels
from recommender.blas import one_thread_cpu_float32
from recommender.graphs import sparse_dense_mm
from recommender.models import kgat_kernels
from recommender.models.base import distinct_rows

LEAKY_SLOPE = 0.2          # tf.nn.leaky_relu's default, used by the authors' bi-interaction layers


def dropout_keep(like: torch.Tensor, p: float) -> torch.Tensor:
    """``F.dropout``'s mask (1 / (1 - p) with probability 1 - p, else 0) shaped like ``like``, from
    uniform draws of torch's global generator: torch's CPU ``bernoulli_`` takes 2.4x as long as
    ``rand`` for the same (N, d) mask."""
    with torch.no_grad():
        return torch.rand_like(like).ge_(p).mul_(1 / (1 - p))


Weights = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]   # W1, b1, W2, b2 of one layer


def bi_interaction(ego: torch.Tensor, side: torch.Tensor, weights: Weights,
                   keep: torch.Tensor | None) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
    """Eq. 8 with no autograd: (LeakyReLU(W1 (e + e_N) + b1) + LeakyReLU(W2 (e * e_N) + b2)) * ``keep``
    (the dropout mask, or None), and what :func:`_bi_interaction_backward` needs.
    Shapes: (R, d), (R, d) -> (R, d')."""
    w_sum, b_sum, w_bi, b_bi = weights
    summed, product = ego + side, ego * side
    summed_out = F.leaky_relu(torch.addmm(b_sum, summed, w_sum.t()), LEAKY_SLOPE, inplace=True)
    product_out = F.leaky_relu(torch.addmm(b_bi, product, w_bi.t()), LEAKY_SLOPE, inplace=True)
    out = summed_out + product_out
    if keep is not None:
        out.mul_(keep)
    return out, (ego, side, summed, product, summed_out, product_out, w_sum, w_bi, keep)


def _bi_interaction_backward(grad: torch.Tensor, saved: tuple[torch.Tensor | None, ...]
                             ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """(d/d e, d/d e_N, [d/d W1, d/d b1, d/d W2, d/d b2]) of :func:`bi_interaction` given d/d out
    (a block of the caller's own: the dropout mask is applied to it in place)."""
    ego, side, summed, product, summed_out, product_out, w_sum, w_bi, keep = saved
    if keep is not None:
        grad = grad.mul_(keep)
    # LeakyReLU's slope from its output: positive slope, so the output has its input's sign
    grad_sum = torch.ops.aten.leaky_relu_backward(grad, summed_out, LEAKY_SLOPE, True)
    grad_bi = torch.ops.aten.leaky_relu_backward(grad, product_out, LEAKY_SLOPE, True)
    grads_w = [grad_sum.t() @ summed, grad_sum.sum(0), grad_bi.t() @ product, grad_bi.sum(0)]
    through_sum, through_product = grad_sum @ w_sum, grad_bi @ w_bi              # (R, d) each
    grad_side = torch.addcmul(through_sum, through_product, ego)                # sum + e * .
    return through_sum.addcmul_(through_product, side), grad_side, grads_w      # sum + e_N * .


def _rows_product(adjacency: torch.Tensor, rows: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``(adjacency @ dense)[rows]``, from those rows' entries where ``csr_kernels`` applies."""
    if csr_kernels.applies(adjacency, dense):
        return csr_kernels.csr_rows_dense_mm(adjacency, rows, dense)
    return sparse_dense_mm(adjacency, dense.contiguous()).index_select(0, rows)


def _rows_product_backward_(pair: tuple[torch.Tensor, torch.Tensor], rows: torch.Tensor, grad: torch.Tensor,
                            out: torch.Tensor) -> None:
    """``out += A[rows]^T @ grad`` in place, for ``pair`` = (A, A^T) and distinct ``rows``."""
    if csr_kernels.applies(pair[0], grad) and out.is_contiguous():
        csr_kernels.csr_rows_transposed_add_(pair[0], rows, grad, out)
    else:
        out.add_(sparse_dense_mm(pair[1], grad.new_zeros(pair[0].shape[0], grad.shape[1]).index_copy_(0, rows, grad)))


def _full_layer(adjacency: torch.Tensor, ego: torch.Tensor, weights: Weights,
                dropout: float) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
    """Eq. 3, e_N = A e, Eq. 8 and dropout over all nodes (fused by ``kgat_kernels`` on one thread)."""
    if csr_kernels.applies(adjacency, ego):
        return kgat_kernels.layer_forward(adjacency, ego, weights, dropout)
    side = sparse_dense_mm(adjacency, ego.contiguous())
    keep = dropout_keep(side.new_empty(len(ego), weights[0].shape[0]), dropout) if dropout > 0 else None
    return bi_interaction(ego, side, weights, keep)


def _full_layer_backward(grad: torch.Tensor, saved: tuple[torch.Tensor | None, ...],
                         pair: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(d/d e, weight gradients) of :func:`_full_layer`, through A^T too."""
    if csr_kernels.applies(pair[1], grad):
        return kgat_kernels.layer_backward(grad, saved, pair[1])
    grad_ego, grad_side, grads_w = _bi_interaction_backward(grad, saved)
    return grad_ego.add_(sparse_dense_mm(pair[1], grad_side)), grads_w                # e_N = A e: A^T .


class _CollaborativeRows(torch.autograd.Function):
    """:func:`collaborative_rows` with a hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, rows: torch.Tensor,  # type: ignore[override]
                adjacency: torch.Tensor, transposed: torch.Tensor, dropout: float, embedding: torch.Tensor,
                *weights: torch.Tensor) -> tuple[torch.Tensor, ...]:
        distinct, where = distinct_rows(rows, len(embedding))
        n_layers = len(weights) // 4
        ego, saved, picked = embedding, [], [embedding.index_select(0, rows)]
        for layer in range(n_layers):
            layer_weights = weights[4 * layer:4 * layer + 4]
            width = layer_weights[0].shape[0]
            if layer < n_layers - 1:                 # Eq. 3, e_N = A e, and Eq. 8 over all nodes
                ego, state = _full_layer(adjacency, ego, layer_weights, dropout)
                picked.append(ego.index_select(0, rows))
            else:                                    # the last layer is read at the batch's rows only
                side = _rows_product(adjacency, distinct, ego)
                keep = None
                if dropout > 0:                      # the whole mask is drawn: the same random stream
                    keep = dropout_keep(side.new_empty(len(ego), width), dropout).index_select(0, distinct)
                last, state = bi_interaction(ego.index_select(0, distinct), side, layer_weights, keep)
                picked.append(last.index_select(0, where))
            saved.append(state)
        ctx.saved, ctx.pair, ctx.rows, ctx.distinct, ctx.where = saved, (adjacency, transposed), rows, distinct, where
        ctx.n_nodes = len(embedding)
        return tuple(picked)

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        saved, pair, rows, distinct = ctx.saved, ctx.pair, ctx.rows, ctx.distinct
        if not saved:                                # no layer: the rows of e^(0) alone
            return None, None, None, None, grads[0].new_zeros(ctx.n_nodes, grads[0].shape[1]).index_add_(
                0, rows, grads[0])
        last = grads[-1].new_zeros(len(distinct), grads[-1].shape[1]).index_add_(0, ctx.where, grads[-1])
        grad_rows, grad_side, grads_w = _bi_interaction_backward(last, saved[-1])
        grad = grad_rows.new_zeros(ctx.n_nodes, grad_rows.shape[1]).index_add_(0, distinct, grad_rows)
        _rows_product_backward_(pair, distinct, grad_side, grad)
        grad.index_add_(0, rows, grads[-2])
        weight_grads = grads_w
        for layer in range(len(saved) - 2, -1, -1):  # the layers over all nodes, last to first
            grad, grads_w = _full_layer_backward(grad, saved[layer], pair)
            grad.index_add_(0, rows, grads[layer])
            weight_grads = grads_w + weight_grads
        return None, None, None, None, grad, *weight_grads


def collaborative_rows(embedding: torch.Tensor, pair: tuple[torch.Tensor, torch.Tensor],
                       sum_layers: nn.ModuleList, bi_layers: nn.ModuleList, rows: torch.Tensor,
                       dropout: float) -> list[torch.Tensor]:
    """e^(0)[rows], ..., e^(L)[rows] (Eq. 3 and 8, message dropout ``dropout``, 0 for none), each
    layer over every node except the last, which is computed at the distinct ``rows`` only (nothing
    reads it elsewhere); ``pair`` is (A, A^T). Differentiable in the embedding and the layers.
    Shapes: (N, D), (N, N) CSR x2, (R,) -> [(R, D), (R, d_1), ..., (R, d_L)]."""
    weights = [w for pair_layers in zip(sum_layers, bi_layers, strict=True)
               for layer in pair_layers for w in (layer.weight, layer.bias)]
    return list(_CollaborativeRows.apply(rows, pair[0], pair[1], dropout, embedding, *weights))


def _runs(counts: list[int]) -> list[tuple[int, int, int]]:
    """(relation, start, end) of each non-empty run of triples sorted by relation."""
    ends = np.cumsum(counts)
    return [(r, int(end - count), int(end)) for r, (count, end) in enumerate(zip(counts, ends, strict=True)) if count]


class _TransRLoss(torch.autograd.Function):
    """:func:`transr_loss` with a hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, nodes: torch.Tensor,  # type: ignore[override]
                relations: torch.Tensor, transfer: torch.Tensor, head: torch.Tensor, relation: torch.Tensor,
                tail: torch.Tensor, negative: torch.Tensor, l2: float) -> torch.Tensor:
        size = len(head)
        counts = torch.bincount(relation, minlength=transfer.shape[0])
        order = torch.argsort(relation, stable=True)
        relation = relation.index_select(0, order)
        # triple j (in relation order) of a relation whose triples start at s, n of them: its head,
        # tail and negative rows sit at 3 s + (j - s) + {0, n, 2 n} of the gathered block
        start, count = (counts.cumsum(0) - counts).index_select(0, relation), counts.index_select(0, relation)
        first = 2 * start + torch.arange(size, device=head.device)
        positions = torch.cat([first, first + count, first + 2 * count])
        slots = torch.empty_like(positions).index_copy_(0, positions, torch.arange(len(positions)))  # its inverse
        index = torch.cat([head, tail, negative]).view(3, -1).index_select(1, order).view(-1).index_select(0, slots)
        rows = nodes.index_select(0, index)                                          # (3B, D)
        projected = rows.new_empty(len(rows), transfer.shape[2])
        runs = _runs(counts.tolist())
        for r, first_triple, end in runs:
            torch.mm(rows[3 * first_triple:3 * end], transfer[r], out=projected[3 * first_triple:3 * end])
        loss, ctx.terms = _transr_terms(projected, positions.view(3, size), relations, relation, l2)
        ctx.save_for_backward(rows, index, transfer)
        ctx.runs, ctx.shapes = runs, (nodes.shape, relations.shape)
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        rows, index, transfer = ctx.saved_tensors
        grouped, grad_relations = _transr_terms_backward(grad, ctx.terms)
        grad_rows = torch.empty_like(rows)
        grad_transfer = torch.zeros_like(transfer)
        for rel, first_triple, end in ctx.runs:
            block = slice(3 * first_triple, 3 * end)
            torch.mm(grouped[block], transfer[rel].t(), out=grad_rows[block])
            torch.mm(rows[block].t(), grouped[block], out=grad_transfer[rel])
        grad_nodes = grad_rows.new_zeros(ctx.shapes[0]).index_add_(0, index, grad_rows)
        return grad_nodes, grad_relations, grad_transfer, None, None, None, None, None


def _transr_terms(projected: torch.Tensor, positions: torch.Tensor, relations: torch.Tensor, relation: torch.Tensor,
                  l2: float) -> tuple[torch.Tensor, tuple[Any, ...]]:
    """Eq. 2's mean plus the L2 term, from the projected rows (row ``positions[i, j]`` is W_r e of
    triple j's head, tail or negative tail for i = 0, 1, 2), and what the backward pass needs: in
    one compiled pass on one CPU thread, else in tensor ops. Shapes: (3B, k), (3, B), (R, k), (B,)."""
    size = positions.shape[1]
    if one_thread_cpu_float32(projected, relations):
        margin, total, squares = kgat_kernels.transr_terms(projected, positions, relations, relation)
        loss = projected.new_tensor(total / size + l2 * (squares / (2 * size)))
        return loss, (True, l2, projected, positions, relations, relation, margin)
    h, t, wrong = projected.index_select(0, positions.reshape(-1)).view(3, size, -1).unbind(0)   # W_r e, (B, k)
    r = relations.index_select(0, relation)
    to_tail, to_wrong = h + r - t, h + r - wrong
    margin = to_tail.pow(2).sum(-1) - to_wrong.pow(2).sum(-1)               # g(h, r, t) - g(h, r, t')
    squares = sum(x.pow(2).sum() for x in (h, r, t, wrong))                # l2_regularizer's, in its order
    loss = F.softplus(margin).mean() + l2 * (squares / (2 * size))
    return loss, (False, l2, positions, relation, relations.shape, h, r, t, wrong, to_tail, to_wrong, margin)


def _transr_terms_backward(grad: torch.Tensor, terms: tuple[Any, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(d/d projected rows (3B, k), d/d relations (R, k)) of :func:`_transr_terms`."""
    compiled, l2 = terms[:2]
    if compiled:
        projected, positions, relations, relation, margin = terms[2:]
        size = positions.shape[1]
        return kgat_kernels.transr_backward(projected, positions, relations, relation, margin,
                                            2 * float(grad) / size, float(grad) * l2 / size)
    positions, relation, relations_shape, h, r, t, wrong, to_tail, to_wrong, margin = terms[2:]
    size = len(h)
    weight = (torch.sigmoid(margin) * (2 * grad / size))[:, None]        # d mean softplus / d margin, x2
    to_tail, to_wrong = to_tail * weight, to_wrong * weight              # d/d(h + r - t), -d/d(h + r - t')
    decay = grad * l2 / size                                              # d (l2 sum x^2 / 2B) / dx = l2 x / B
    through_anchor = to_tail - to_wrong
    grad_r = through_anchor + decay * r
    grad_projected = torch.cat([through_anchor + decay * h, decay * t - to_tail, to_wrong + decay * wrong])
    grouped = torch.empty_like(grad_projected).index_copy_(0, positions.reshape(-1), grad_projected)
    return grouped, grad_r.new_zeros(relations_shape).index_add_(0, relation, grad_r)


def transr_loss(nodes: torch.Tensor, relations: torch.Tensor, transfer: torch.Tensor, head: torch.Tensor,
                relation: torch.Tensor, tail: torch.Tensor, negative: torch.Tensor, l2: float) -> torch.Tensor:
    """Eq. 1-2: mean softplus(g(h, r, t) - g(h, r, t')) with g(h, r, t) = ||W_r e_h + e_r - W_r e_t||^2,
    plus ``l2`` times the L2 of the projected batch (W_r e_h, e_r, W_r e_t, W_r e_t').
    Shapes: e (N, D), e_r (R, k), W_r (R, D, k), node and relation indices (B,) x4 -> scalar."""
    return _TransRLoss.apply(nodes, relations, transfer, head, relation, tail, negative, l2)
