"""KGCL's relation-aware aggregation (Sec. 3.1) with its dropout, forward and backward, as numba loops
over the items' neighbour slots for one CPU thread (float32).

With item i's dropped row x_i, slot s's dropped entity row n_is and relation r = r_is, the logit
``r^T (W [x_i || n_is] + b)`` is ``x_i . A_r + n_is . B_r + c_r`` with ``A = R W_item``,
``B = R W_entity`` (R, D) and ``c = R b`` (R,), made once per step (autograd, R = 13 rows on
dbbook2014). The same sum in another order: equal to float32 rounding, without the (I, S, D)
projection ``n W_entity^T``, its (I, S, D) products and their backward (most of a KGCL step on one
thread: 26,800 slots x 64 x 64). The loops read each entity row where a slot points and never build
the (I, S, D) neighbour tensor; the dropout draws are torch's (I, D), (I, S, D), (I, S) and (I, D)
uniforms, drawn by the caller in the order the torch path draws them, so both paths drop the same
entries. Each kernel is compiled on first use and cached on disk.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np


@cache
def _jit() -> Any:
    import numba

    return numba.njit(fastmath={"contract", "reassoc"}, boundscheck=False, nogil=True, cache=True)


@cache
def aggregate_forward() -> Any:
    @_jit()
    def forward(item, entity, a_rel, b_rel, c_rel, neighbours, relations, present, draws,  # noqa: ANN001, ANN202
                p, scale, slope, out, weights, logits):
        """out (I, D); weights (I, S) the attention (zero off the present slots), logits (I, S) before
        the LeakyReLU. ``draws`` = (item, entity slots, weights, out) uniforms against ``p``."""
        u_item, u_entity, u_weight, u_out = draws
        width = item.shape[1]
        x, z, n = np.empty(width, np.float32), np.empty(width, np.float32), np.empty(width, np.float32)
        for i in range(item.shape[0]):
            source, draw = item[i], u_item[i]
            for c in range(len(x)):
                x[c] = source[c] * scale if draw[c] >= p else np.float32(0.0)
            top, here, row_weights, row_logits = np.float32(-np.inf), present[i], weights[i], logits[i]
            for s in range(len(here)):
                row_weights[s] = 0.0
                if not here[s]:
                    continue
                r = relations[i, s]
                source, draw, factor_a, factor_b = entity[neighbours[i, s]], u_entity[i, s], a_rel[r], b_rel[r]
                for c in range(len(n)):
                    n[c] = source[c] * scale if draw[c] >= p else np.float32(0.0)
                t = c_rel[r]
                for c in range(len(n)):
                    t += x[c] * factor_a[c] + n[c] * factor_b[c]
                row_logits[s] = t
                row_weights[s] = t if t > 0 else t * slope
                top = max(top, row_weights[s])
            total = np.float32(0.0)
            for s in range(len(here)):
                if here[s]:
                    row_weights[s] = np.exp(row_weights[s] - top)
                    total += row_weights[s]
            z[:] = x
            for s in range(len(here)):
                if not here[s]:
                    continue
                row_weights[s] /= total
                if u_weight[i, s] < p:
                    continue
                w, source, draw = row_weights[s] * scale, entity[neighbours[i, s]], u_entity[i, s]
                for c in range(len(z)):
                    z[c] += w * (source[c] * scale if draw[c] >= p else np.float32(0.0))
            target, draw = out[i], u_out[i]
            for c in range(len(z)):
                target[c] = z[c] * scale if draw[c] >= p else np.float32(0.0)

    return forward


@cache
def aggregate_backward() -> Any:
    @_jit()
    def backward(item, entity, a_rel, b_rel, neighbours, relations, present, draws, p, scale,  # noqa: ANN001, ANN202
                 slope, weights, logits, grad, d_item, d_entity, d_a, d_b, d_c):
        """d item (written), d entity, d A, d B and d c (added to: zeroed by the caller)."""
        u_item, u_entity, u_weight, u_out = draws
        width, slots = item.shape[1], neighbours.shape[1]
        x, gz = np.empty(width, np.float32), np.empty(width, np.float32)
        dx, n = np.empty(width, np.float32), np.empty(width, np.float32)
        d_weight = np.empty(slots, np.float32)
        for i in range(item.shape[0]):
            source, draw, g, draw_out = item[i], u_item[i], grad[i], u_out[i]
            for c in range(width):
                x[c] = source[c] * scale if draw[c] >= p else np.float32(0.0)
                gz[c] = g[c] * scale if draw_out[c] >= p else np.float32(0.0)
            dx[:] = gz
            expected, here, row_weights = np.float32(0.0), present[i], weights[i]
            for s in range(slots):        # d loss / d weight before its dropout, and its weighted mean
                d_weight[s] = 0.0
                if here[s] and u_weight[i, s] >= p:
                    source, draw, total = entity[neighbours[i, s]], u_entity[i, s], np.float32(0.0)
                    for c in range(width):
                        total += gz[c] * (source[c] * scale if draw[c] >= p else np.float32(0.0))
                    d_weight[s] = total * scale
                    expected += row_weights[s] * d_weight[s]
            for s in range(slots):
                if not here[s]:
                    continue
                e, r, draw = neighbours[i, s], relations[i, s], u_entity[i, s]
                d_logit = row_weights[s] * (d_weight[s] - expected)
                d_logit = d_logit if logits[i, s] > 0 else d_logit * slope
                w = row_weights[s] * scale if u_weight[i, s] >= p else np.float32(0.0)
                source, target, factor_a, factor_b = entity[e], d_entity[e], a_rel[r], b_rel[r]
                for c in range(width):
                    n[c] = source[c] * scale if draw[c] >= p else np.float32(0.0)
                for c in range(width):
                    target[c] += (w * gz[c] + d_logit * factor_b[c]) * scale if draw[c] >= p else np.float32(0.0)
                for c in range(width):
                    dx[c] += d_logit * factor_a[c]
                grad_a, grad_b = d_a[r], d_b[r]
                for c in range(width):
                    grad_a[c] += d_logit * x[c]
                for c in range(width):
                    grad_b[c] += d_logit * n[c]
                d_c[r] += d_logit
            target, draw = d_item[i], u_item[i]
            for c in range(width):
                target[c] = dx[c] * scale if draw[c] >= p else np.float32(0.0)

    return backward
