"""KGRec's relation-aware attention over KG triples: rationale scores and attentive aggregation.

Both read the triples as a CSR over heads (``crow`` (E + 1,), ``pair`` (T,) the (tail, relation) pair
of each triple, sorted by head), with ``query = e W^Q`` (E, D) per entity and, per pair,
``key = (e_t W^Q) ⊙ e_r`` and ``value = e_t ⊙ e_r`` (P, D). With H heads of width d = D / H::

    f_k(e) = query[h]_k . key[p]_k / sqrt(d)          omega_k = softmax of f_k over h's triples
    out[h]_k = sum over h's triples of omega_k(e) value[p]_k
    gamma(e) = |N_h| softmax over h's triples of mean_k f_k(e)

On one CPU thread (float32) a numba row loop does each in one pass over the triples, forward and
backward, without the (T, D) gathers and products autograd would keep: on 134k triples (a training
step's sample of dbbook2014) about 8x faster than the torch path forward and 4x backward.
Elsewhere (several threads, CUDA) the torch path (gathers, :func:`~recommender.kg.segment_softmax`,
``index_add_``) runs; both give the same numbers to float32 rounding.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import torch

from recommender.blas import one_thread_cpu_float32
from recommender.kg import segment_softmax


def head_rows(head: torch.Tensor, n_rows: int) -> torch.Tensor:
    """CSR row pointers of triples sorted by head. Shapes: (T,) -> (n_rows + 1,) long."""
    crow = torch.zeros(n_rows + 1, dtype=torch.long, device=head.device)
    crow[1:] = torch.cumsum(torch.bincount(head, minlength=n_rows), 0)
    return crow


# -- the torch path -------------------------------------------------------------------------------
def _logits_torch(head: torch.Tensor, pair: torch.Tensor, query: torch.Tensor, key: torch.Tensor,
                  heads: int) -> torch.Tensor:
    width = query.shape[1] // heads
    return (query[head] * key[pair]).view(len(head), heads, width).sum(-1) / math.sqrt(width)


def attend_torch(head: torch.Tensor, pair: torch.Tensor, query: torch.Tensor, key: torch.Tensor,
                 value: torch.Tensor, heads: int) -> torch.Tensor:
    """out[h]_k = sum of omega_k value[p]_k over h's triples, with autograd. Shapes: -> (E, D)."""
    n_rows = query.shape[0]
    logits = _logits_torch(head, pair, query, key, heads)
    segments = (head[:, None] * heads + torch.arange(heads, device=head.device)).flatten()
    omega = segment_softmax(logits.flatten(), segments, n_rows * heads).view(-1, heads, 1)
    messages = (value[pair].view(len(head), heads, -1) * omega).view(len(head), -1)
    return torch.zeros(n_rows, value.shape[1], dtype=value.dtype, device=value.device).index_add_(0, head, messages)


def rationale_torch(head: torch.Tensor, pair: torch.Tensor, query: torch.Tensor, key: torch.Tensor,
                    heads: int) -> torch.Tensor:
    """gamma per triple, no gradient. Shapes: -> (T,)."""
    n_rows = query.shape[0]
    omega = segment_softmax(_logits_torch(head, pair, query, key, heads).mean(1), head, n_rows)
    return omega * torch.bincount(head, minlength=n_rows)[head]


# -- the numba path -------------------------------------------------------------------------------
# The row loops, each compiled on first use (cached on disk). Head k of row h is row h * H + k of the
# (rows * H, d) views, so that every inner loop runs over d contiguous floats: a loop over the heads
# inside the triples' loop keeps LLVM from vectorising (3x slower). ``reassoc`` lets the dot products
# vectorise too: sums in another order, equal to float32 rounding.
@cache
def _jit() -> Any:
    import numba

    return numba.njit(fastmath={"contract", "reassoc"}, boundscheck=False, nogil=True, cache=True)


@cache
def _forward_kernel() -> Any:
    @_jit()
    def forward(crow, pair, query, key, value, heads, scale, out, omega):  # noqa: ANN001, ANN202
        """out and omega (H, T) of every row, head by head."""
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            for k in range(heads):
                r, weights, top = row * heads + k, omega[k], np.float32(-np.inf)
                for e in range(start, end):
                    source, s = key[pair[e] * heads + k], np.float32(0.0)
                    for c in range(query.shape[1]):
                        s += query[r, c] * source[c]
                    weights[e] = s * scale
                    top = max(top, weights[e])
                total = np.float32(0.0)
                for e in range(start, end):
                    weights[e] = np.exp(weights[e] - top)
                    total += weights[e]
                target = out[r]
                target[:] = 0.0
                for e in range(start, end):
                    weights[e] /= total
                    source = value[pair[e] * heads + k]
                    for c in range(len(target)):
                        target[c] += weights[e] * source[c]

    return forward


@cache
def _backward_kernel() -> Any:
    @_jit()
    def backward(crow, pair, query, key, value, omega, grad, heads, scale,  # noqa: ANN001, ANN202
                 d_query, d_key, d_value, scratch):
        """d query (written), d key and d value (added to: zeroed by the caller)."""
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            for k in range(heads):
                r, weights, expected = row * heads + k, omega[k], np.float32(0.0)
                g, q, dq = grad[r], query[r], d_query[r]
                for e in range(start, end):       # d loss / d omega, and its omega-weighted mean
                    source, s = value[pair[e] * heads + k], np.float32(0.0)
                    for c in range(len(g)):
                        s += g[c] * source[c]
                    scratch[e] = s
                    expected += weights[e] * s
                dq[:] = 0.0
                for e in range(start, end):
                    p, w = pair[e] * heads + k, weights[e]
                    d_logit = w * (scratch[e] - expected) * scale
                    source, dk, dv = key[p], d_key[p], d_value[p]
                    for c in range(len(g)):
                        dq[c] += d_logit * source[c]
                        dk[c] += d_logit * q[c]
                        dv[c] += w * g[c]

    return backward


@cache
def _rationale_kernel() -> Any:
    @_jit()
    def rationale(crow, pair, query, key, scale, out):  # noqa: ANN001, ANN202
        """gamma of every triple: the whole row's dot product is the mean over heads times H."""
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            top = np.float32(-np.inf)
            for e in range(start, end):
                source, s = key[pair[e]], np.float32(0.0)
                for c in range(query.shape[1]):
                    s += query[row, c] * source[c]
                out[e] = s * scale
                top = max(top, out[e])
            total = np.float32(0.0)
            for e in range(start, end):
                out[e] = np.exp(out[e] - top)
                total += out[e]
            for e in range(start, end):
                out[e] = out[e] / total * (end - start)

    return rationale


def _np(tensor: torch.Tensor, heads: int = 1) -> np.ndarray:
    """A contiguous tensor as numpy, each row split into ``heads`` rows."""
    array = tensor.detach().contiguous().numpy()
    return array.reshape(-1, array.shape[1] // heads) if array.ndim == 2 else array


class _Attend(torch.autograd.Function):
    """:func:`attend_torch` as one numba pass forward and one backward (d query, d key, d value)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, query: torch.Tensor, key: torch.Tensor,  # type: ignore[override]
                value: torch.Tensor, crow: torch.Tensor, pair: torch.Tensor, heads: int) -> torch.Tensor:
        query, key, value = query.contiguous(), key.contiguous(), value.contiguous()
        out = torch.empty(query.shape[0], value.shape[1])
        omega = torch.empty(heads, len(pair))
        scale = np.float32(1 / math.sqrt(query.shape[1] // heads))
        _forward_kernel()(_np(crow), _np(pair), _np(query, heads), _np(key, heads), _np(value, heads), heads,
                              scale, _np(out, heads), omega.numpy())
        ctx.save_for_backward(query, key, value, omega, crow, pair)
        ctx.heads, ctx.scale = heads, scale
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        query, key, value, omega, crow, pair = ctx.saved_tensors
        heads = ctx.heads
        d_query, d_key, d_value = torch.empty_like(query), torch.zeros_like(key), torch.zeros_like(value)
        _backward_kernel()(_np(crow), _np(pair), _np(query, heads), _np(key, heads), _np(value, heads),
                               omega.numpy(), _np(grad, heads), heads, ctx.scale, _np(d_query, heads),
                               _np(d_key, heads), _np(d_value, heads), np.empty(len(pair), dtype=np.float32))
        return d_query, d_key, d_value, None, None, None


def attend(crow: torch.Tensor, head: torch.Tensor, pair: torch.Tensor, query: torch.Tensor, key: torch.Tensor,
           value: torch.Tensor, heads: int) -> torch.Tensor:
    """out[h]_k = sum of omega_k(e) value[p]_k over h's triples, differentiable in query, key and value.
    Shapes: (E + 1,), (T,), (T,), (E, D), (P, D), (P, D) -> (E, D)."""
    if one_thread_cpu_float32(query, key, value):
        return _Attend.apply(query, key, value, crow, pair, heads)
    return attend_torch(head, pair, query, key, value, heads)


@torch.no_grad()
def rationale(crow: torch.Tensor, head: torch.Tensor, pair: torch.Tensor, query: torch.Tensor,
              key: torch.Tensor, heads: int) -> torch.Tensor:
    """gamma(e) = |N_h| softmax over h's triples of mean_k f_k(e). Shapes: -> (T,)."""
    if not one_thread_cpu_float32(query, key):
        return rationale_torch(head, pair, query, key, heads)
    out = torch.empty(len(pair))
    scale = np.float32(1 / (math.sqrt(query.shape[1] // heads) * heads))
    _rationale_kernel()(_np(crow), _np(pair), _np(query), _np(key), scale, out.numpy())
    return out
