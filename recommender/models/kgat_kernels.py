"""KGAT's bi-interaction layer over all nodes, fused into few passes for one CPU thread (numba).

On one thread a KGAT layer over dbbook2014's 14.5k nodes is a handful of matrix products and a
dozen element-wise passes over (N, d) blocks, each of which, out of cache, costs nearly what a
product does. These kernels fold the passes into the products' loops and into each other
(:func:`layer_forward`, :func:`layer_backward`): e_N = A e with e + e_N and e * e_N written in the
same row loop; both LeakyReLUs, their sum and the dropout mask in one pass; the mask, both
LeakyReLU slopes and the bias gradients in one pass back; and the gradient of e through the sum,
the product and A^T in one pass and one row loop. The forward numbers are those of
:func:`recommender.models.kgat_ops.bi_interaction` (the same operations in the same order), the
gradients equal to float rounding (the bias gradients sum the rows in float64, in row order).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import torch

LEAKY_SLOPE = 0.2          # as recommender.models.kgat_ops


@cache
def _kernels() -> dict[str, Any]:
    """The kernels, compiled on first use (cached on disk)."""
    import numba

    compile_ = numba.njit(fastmath={"contract"}, boundscheck=False, nogil=True, cache=True)

    @compile_
    def side_terms(crow: np.ndarray, col: np.ndarray, val: np.ndarray, ego: np.ndarray, side: np.ndarray,
                   summed: np.ndarray, product: np.ndarray) -> None:
        width = ego.shape[1]
        for row in range(ego.shape[0]):      # csr_kernels' row loop, then e + e_N and e * e_N
            start, end = crow[row], crow[row + 1]
            target = side[row]
            if start == end:
                target[:] = 0.0
            else:
                weight, source = val[start], ego[col[start]]
                for c in range(width):
                    target[c] = weight * source[c]
                for entry in range(start + 1, end):
                    weight, source = val[entry], ego[col[entry]]
                    for c in range(width):
                        target[c] += weight * source[c]
            own, added, multiplied = ego[row], summed[row], product[row]
            for c in range(width):
                added[c] = own[c] + target[c]
                multiplied[c] = own[c] * target[c]

    @compile_
    def combine(through_sum: np.ndarray, through_product: np.ndarray, ego: np.ndarray, side: np.ndarray,
                grad_side: np.ndarray) -> None:
        for row in range(ego.shape[0]):
            for c in range(ego.shape[1]):
                a, b = through_sum[row, c], through_product[row, c]
                grad_side[row, c] = a + b * ego[row, c]
                through_sum[row, c] = a + b * side[row, c]      # becomes d/d e

    @compile_
    def product_add(crow: np.ndarray, col: np.ndarray, val: np.ndarray, dense: np.ndarray, out: np.ndarray) -> None:
        width = out.shape[1]
        total = np.empty(width, dtype=np.float32)
        for row in range(out.shape[0]):        # out += A @ dense, each row's sum made first
            start, end = crow[row], crow[row + 1]
            if start == end:
                continue
            weight, source = val[start], dense[col[start]]
            for c in range(width):
                total[c] = weight * source[c]
            for entry in range(start + 1, end):
                weight, source = val[entry], dense[col[entry]]
                for c in range(width):
                    total[c] += weight * source[c]
            target = out[row]
            for c in range(width):
                target[c] += total[c]

    return {"side_terms": side_terms, "combine": combine, "product_add": product_add,
            **_activation_kernels(), **_transr_kernels()}


@cache
def _activation_kernels() -> dict[str, Any]:
    """Both LeakyReLUs, their sum and the dropout mask, forward and back, compiled on first use."""
    import numba

    slope = np.float32(LEAKY_SLOPE)
    compile_ = numba.njit(fastmath={"contract"}, boundscheck=False, nogil=True, cache=True)

    @compile_
    def activate(first: np.ndarray, second: np.ndarray, uniform: np.ndarray, p: np.float32, scale: np.float32,
                 out: np.ndarray, keep: np.ndarray) -> None:
        dropout = uniform.shape[0] > 0
        for row in range(out.shape[0]):
            for c in range(out.shape[1]):
                x, y = first[row, c], second[row, c]
                value = (x if x > 0 else x * slope) + (y if y > 0 else y * slope)
                if dropout:
                    kept = scale if uniform[row, c] >= p else np.float32(0.0)
                    keep[row, c] = kept
                    value = value * kept
                out[row, c] = value

    @compile_
    def activate_backward(grad: np.ndarray, keep: np.ndarray, first: np.ndarray, second: np.ndarray,
                          grad_first: np.ndarray, grad_second: np.ndarray, bias_first: np.ndarray,
                          bias_second: np.ndarray) -> None:
        dropout = keep.shape[0] > 0
        sum_first = np.zeros(grad.shape[1], dtype=np.float64)     # the bias gradients, summed in float64
        sum_second = np.zeros(grad.shape[1], dtype=np.float64)
        for row in range(grad.shape[0]):
            for c in range(grad.shape[1]):
                g = grad[row, c] * keep[row, c] if dropout else grad[row, c]
                x = g if first[row, c] > 0 else g * slope
                y = g if second[row, c] > 0 else g * slope
                grad_first[row, c] = x
                grad_second[row, c] = y
                sum_first[c] += x
                sum_second[c] += y
        bias_first[:] = sum_first
        bias_second[:] = sum_second

    return {"activate": activate, "activate_backward": activate_backward}


@cache
def _transr_kernels() -> dict[str, Any]:
    """TransR's margin terms and their gradients, compiled on first use (cached on disk)."""
    import numba

    compile_ = numba.njit(fastmath={"contract"}, boundscheck=False, nogil=True, cache=True)

    @compile_
    def transr_terms(projected: np.ndarray, positions: np.ndarray, relations: np.ndarray, relation: np.ndarray,
                     margin: np.ndarray) -> tuple[float, float]:
        total, squares = 0.0, 0.0                   # float64 sums
        for j in range(len(relation)):
            h, t, wrong = projected[positions[0, j]], projected[positions[1, j]], projected[positions[2, j]]
            r = relations[relation[j]]
            to_tail, to_wrong = np.float32(0.0), np.float32(0.0)
            for c in range(len(r)):
                anchor = h[c] + r[c]
                a, b = anchor - t[c], anchor - wrong[c]
                to_tail += a * a
                to_wrong += b * b
                squares += h[c] * h[c] + r[c] * r[c] + t[c] * t[c] + wrong[c] * wrong[c]
            margin[j] = to_tail - to_wrong
            total += margin[j] if margin[j] > 20.0 else np.log1p(np.exp(margin[j]))   # softplus, torch's threshold
        return total, squares

    @compile_
    def transr_backward(projected: np.ndarray, positions: np.ndarray, relations: np.ndarray, relation: np.ndarray,
                        margin: np.ndarray, scale: np.float32, decay: np.float32, grouped: np.ndarray,
                        grad_relations: np.ndarray) -> None:
        for j in range(len(relation)):
            h, t, wrong = projected[positions[0, j]], projected[positions[1, j]], projected[positions[2, j]]
            r, grad_r = relations[relation[j]], grad_relations[relation[j]]
            weight = scale / (np.float32(1.0) + np.exp(-margin[j]))          # 2 sigmoid(m) g / B
            grad_h, grad_t, grad_wrong = grouped[positions[0, j]], grouped[positions[1, j]], grouped[positions[2, j]]
            for c in range(len(r)):
                anchor = h[c] + r[c]
                a, b = (anchor - t[c]) * weight, (anchor - wrong[c]) * weight
                grad_h[c] = a - b + decay * h[c]
                grad_t[c] = decay * t[c] - a
                grad_wrong[c] = b + decay * wrong[c]
                grad_r[c] += a - b + decay * r[c]

    return {"transr_terms": transr_terms, "transr_backward": transr_backward}


def _csr(matrix: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return matrix.crow_indices().numpy(), matrix.col_indices().numpy(), matrix.values().numpy()


def layer_forward(adjacency: torch.Tensor, ego: torch.Tensor, weights: tuple[torch.Tensor, ...],
                  dropout: float) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
    """Eq. 3 and 8 over all nodes, then message dropout (0: none): the layer's output and what
    :func:`layer_backward` needs (``kgat_ops``' layout; the activations are kept before the
    LeakyReLU, which has their sign). The mask's uniform draws are those of ``kgat_ops.dropout_keep``.
    Shapes: (N, N) CSR float32, (N, d) -> (N, d')."""
    kernels = _kernels()
    w_sum, b_sum, w_bi, b_bi = weights
    source = ego.detach().contiguous()
    side, summed, product = (torch.empty_like(source) for _ in range(3))
    kernels["side_terms"](*_csr(adjacency), source.numpy(), side.numpy(), summed.numpy(), product.numpy())
    first, second = torch.addmm(b_sum, summed, w_sum.t()), torch.addmm(b_bi, product, w_bi.t())
    out = torch.empty_like(first)
    uniform = torch.rand(first.shape) if dropout > 0 else torch.empty(0, first.shape[1])
    keep = torch.empty_like(first) if dropout > 0 else None
    kernels["activate"](first.numpy(), second.numpy(), uniform.numpy(), np.float32(dropout),
                        np.float32(1 / (1 - dropout)), out.numpy(), (keep if keep is not None else uniform).numpy())
    return out, (ego, side, summed, product, first, second, w_sum, w_bi, keep)


def layer_backward(grad: torch.Tensor, saved: tuple[torch.Tensor | None, ...],
                   transposed: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(d/d e, [d/d W1, d/d b1, d/d W2, d/d b2]) of a layer over all nodes given d/d out, A^T
    included: d/d e = sum + e_N * prod + A^T (sum + e * prod), sum and prod the gradients that
    reach e + e_N and e * e_N. Shapes: (N, d'), saved, (N, N) CSR -> (N, d), [...]."""
    kernels = _kernels()
    ego, side, summed, product, first, second, w_sum, w_bi, keep = saved
    grad = grad.contiguous()
    grad_first, grad_second = torch.empty_like(grad), torch.empty_like(grad)
    bias_first, bias_second = grad.new_empty(grad.shape[1]), grad.new_empty(grad.shape[1])
    kernels["activate_backward"](grad.numpy(), (keep if keep is not None else grad.new_empty(0, 0)).numpy(),
                                 first.numpy(), second.numpy(), grad_first.numpy(), grad_second.numpy(),
                                 bias_first.numpy(), bias_second.numpy())
    grads_w = [grad_first.t() @ summed, bias_first, grad_second.t() @ product, bias_second]
    through_sum, through_product = grad_first @ w_sum, grad_second @ w_bi
    grad_side = torch.empty_like(through_sum)
    kernels["combine"](through_sum.numpy(), through_product.numpy(), ego.detach().contiguous().numpy(),
                       side.numpy(), grad_side.numpy())
    kernels["product_add"](*_csr(transposed), grad_side.numpy(), through_sum.numpy())
    return through_sum, grads_w


def transr_terms(projected: torch.Tensor, positions: torch.Tensor, relations: torch.Tensor,
                 relation: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """TransR's per-triple terms in one pass over the projected rows (``kgat_ops``' layout: row
    ``positions[i, j]`` of ``projected`` is W_r e of triple j's head, tail or negative tail for
    i = 0, 1, 2): (g(h, r, t) - g(h, r, t') per triple, sum of its softplus, sum of the squared
    entries of W_r e_h, e_r, W_r e_t, W_r e_t'), the sums in float64.
    Shapes: (3B, k), (3, B), (R, k), (B,) -> (B,), float, float."""
    margin = projected.new_empty(relation.shape[0])
    total, squares = _kernels()["transr_terms"](projected.numpy(), positions.numpy(), relations.detach().numpy(),
                                                relation.numpy(), margin.numpy())
    return margin, total, squares


def transr_backward(projected: torch.Tensor, positions: torch.Tensor, relations: torch.Tensor, relation: torch.Tensor,
                    margin: torch.Tensor, scale: float, decay: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(d/d projected (3B, k), d/d relations (R, k)) of mean softplus(margin) * B * ``scale`` / 2 plus
    ``decay`` times half the squared entries (``scale`` = 2 g / B, ``decay`` = g l2 / B)."""
    grouped = torch.empty_like(projected)
    grad_relations = torch.zeros_like(relations)
    _kernels()["transr_backward"](projected.numpy(), positions.numpy(), relations.detach().numpy(), relation.numpy(),
                                  margin.numpy(), np.float32(scale), np.float32(decay), grouped.numpy(),
                                  grad_relations.numpy())
    return grouped, grad_relations
