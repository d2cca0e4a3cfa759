"""KGRec's (``kgrec-sr``) one-thread CPU kernels: the relation-aware attention, the rationale score,
the KG view's mean aggregation, each hop's dropout and normalisation, and the triple sample.

The triple kernels make a triple's key ``(e_t W^Q) ⊙ e_r`` and value ``e_t ⊙ e_r`` from the (E, D)
query and entity tables and the (R, D) relation table as they go, and the backward passes add into
the gradients of those tables directly: no (tail, relation)-pair (P, D) key and value tables are
made, multiplied, gathered and scattered by autograd. On dbbook2014 (a training step's 134k triples,
P = 24k pairs, D = 64, one thread) those pair tables and their backward took about a quarter of a
step; the tables these kernels read instead (E = 8.9k rows) are smaller and stay in cache longer.

The attention reads ``qe`` (E * H, 2d): row ``i * H + k`` holds head k of entity i's query and then
of its entity row, so that a triple's key and value inputs are one 256-byte read and their gradients
one 256-byte update (the backward pass is 1.7x faster than with separate query and entity tables,
whose four random rows per triple miss the cache more). Each inner loop runs over d contiguous
floats (a loop over the heads inside the triples' loop keeps LLVM from vectorising), and writes one
row: with several outputs in one loop LLVM's alias checks fall back to scalar code. ``reassoc`` lets
the dot products vectorise: sums in another order than torch's, the same to float32 rounding. Each
kernel is compiled on first use and cached on disk.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np


@cache
def _jit(fastmath: bool = True) -> Any:
    import numba

    return numba.njit(fastmath={"contract", "reassoc"} if fastmath else False, boundscheck=False, nogil=True,
                      cache=True)


@cache
def attend_forward() -> Any:
    @_jit()
    def forward(crow, tail, rel, qe, relation, heads, scale, out, omega):  # noqa: ANN001, ANN202
        """omega (H, T): softmax over each row's triples of scale q_h . (q_t ⊙ r), head by head; out
        (rows * H, d): the omega-weighted sum of e_t ⊙ r."""
        d = out.shape[1]
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            for k in range(heads):
                r, weights, top = row * heads + k, omega[k], np.float32(-np.inf)
                q = qe[r, :d]
                for e in range(start, end):
                    source, factor, s = qe[tail[e] * heads + k, :d], relation[rel[e] * heads + k], np.float32(0.0)
                    for c in range(len(q)):
                        s += q[c] * (source[c] * factor[c])
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
                    w, source, factor = weights[e], qe[tail[e] * heads + k, d:], relation[rel[e] * heads + k]
                    for c in range(len(target)):
                        target[c] += w * (source[c] * factor[c])

    return forward


@cache
def attend_backward() -> Any:
    @_jit()
    def backward(crow, tail, rel, qe, relation, omega, grad, heads, scale,  # noqa: ANN001, ANN202
                 d_qe, d_relation, scratch, dq):
        """Adds d qe and d relation (zeroed by the caller); ``dq`` (d,) and ``scratch`` (T,) are work space."""
        d = grad.shape[1]
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            for k in range(heads):
                r, weights, expected = row * heads + k, omega[k], np.float32(0.0)
                g, q = grad[r], qe[r, :d]
                for e in range(start, end):       # d loss / d omega, and its omega-weighted mean
                    source, factor, s = qe[tail[e] * heads + k, d:], relation[rel[e] * heads + k], np.float32(0.0)
                    for c in range(len(g)):
                        s += g[c] * (source[c] * factor[c])
                    scratch[e] = s
                    expected += weights[e] * s
                dq[:] = 0.0
                for e in range(start, end):
                    t, f, w = tail[e] * heads + k, rel[e] * heads + k, weights[e]
                    d_logit = w * (scratch[e] - expected) * scale
                    factor, dr, both, d_both = relation[f], d_relation[f], qe[t], d_qe[t]
                    qt, et, dqt, det = both[:d], both[d:], d_both[:d], d_both[d:]
                    for c in range(len(dq)):
                        dq[c] += d_logit * (qt[c] * factor[c])
                    for c in range(len(dqt)):
                        dqt[c] += (d_logit * q[c]) * factor[c]
                    for c in range(len(det)):
                        det[c] += (w * g[c]) * factor[c]
                    for c in range(len(dr)):
                        dr[c] += (d_logit * q[c]) * qt[c] + (w * g[c]) * et[c]
                target = d_qe[r, :d]
                for c in range(len(target)):
                    target[c] += dq[c]

    return backward


@cache
def rationale_scores() -> Any:
    @_jit()
    def rationale(crow, tail, rel, query, relation, scale, out):  # noqa: ANN001, ANN202
        """gamma of every triple: the whole row's dot product is the mean over heads times H."""
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            top, q = np.float32(-np.inf), query[row]
            for e in range(start, end):
                source, factor, s = query[tail[e]], relation[rel[e]], np.float32(0.0)
                for c in range(len(q)):
                    s += q[c] * (source[c] * factor[c])
                out[e] = s * scale
                top = max(top, out[e])
            total = np.float32(0.0)
            for e in range(start, end):
                out[e] = np.exp(out[e] - top)
                total += out[e]
            for e in range(start, end):
                out[e] = out[e] / total * (end - start)

    return rationale


@cache
def mean_forward() -> Any:
    @_jit()
    def forward(crow, tail, rel, entity, relation, out):  # noqa: ANN001, ANN202
        """out[h] = sum of (1 / |N_h|) (e_t ⊙ e_r) over h's triples (zero for a head with none)."""
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            target = out[row]
            target[:] = 0.0
            if start == end:
                continue
            w = np.float32(1.0) / np.float32(end - start)
            for e in range(start, end):
                source, factor = entity[tail[e]], relation[rel[e]]
                for c in range(len(target)):
                    target[c] += w * (source[c] * factor[c])

    return forward


@cache
def mean_backward() -> Any:
    @_jit()
    def backward(crow, tail, rel, entity, relation, grad, d_entity, d_relation):  # noqa: ANN001, ANN202
        """Adds d entity and d relation (zeroed by the caller)."""
        for row in range(len(crow) - 1):
            start, end = crow[row], crow[row + 1]
            if start == end:
                continue
            w, g = np.float32(1.0) / np.float32(end - start), grad[row]
            for e in range(start, end):
                t, f = tail[e], rel[e]
                source, factor, ds, df = entity[t], relation[f], d_entity[t], d_relation[f]
                for c in range(len(g)):
                    d_message = w * g[c]
                    ds[c] += d_message * factor[c]
                    df[c] += d_message * source[c]

    return backward


@cache
def dropout_normalize_forward() -> Any:
    @_jit()
    def forward(x, uniform, p, scale, out, norms):  # noqa: ANN001, ANN202
        """out = y / max(|y|, 1e-12) per row, y = x * scale where uniform >= p, else 0; norms (N,) |y|."""
        for row in range(x.shape[0]):
            source, draw, target = x[row], uniform[row], out[row]
            total = np.float32(0.0)
            for c in range(len(target)):
                target[c] = source[c] * scale if draw[c] >= p else np.float32(0.0)
                total += target[c] * target[c]
            norms[row] = np.sqrt(total)
            denominator = max(norms[row], np.float32(1e-12))
            for c in range(len(target)):
                target[c] /= denominator

    return forward


@cache
def dropout_normalize_backward() -> Any:
    @_jit()
    def backward(out, uniform, p, scale, norms, grad, d_x):  # noqa: ANN001, ANN202
        """d x of the forward: (g - out (out . g)) / |y| through the norm (g / 1e-12 below it), then the mask."""
        for row in range(out.shape[0]):
            y, draw, g, target = out[row], uniform[row], grad[row], d_x[row]
            dot = np.float32(0.0)
            if norms[row] > np.float32(1e-12):
                for c in range(len(g)):
                    dot += y[c] * g[c]
            inverse = np.float32(1.0) / max(norms[row], np.float32(1e-12))
            for c in range(len(target)):
                target[c] = (g[c] - y[c] * dot) * inverse * scale if draw[c] >= p else np.float32(0.0)

    return backward


@cache
def stratified_keep() -> Any:
    @_jit(fastmath=False)
    def keep(draws, starts, quotas, by_relation, out):  # noqa: ANN001, ANN202
        """out[by_relation[i]] = True for the quota[r] smallest draws of each relation r's block
        [starts[r], starts[r + 1]) (ties: the earlier position first, as a stable sort ranks them)."""
        for r in range(len(quotas)):
            start, end, quota = starts[r], starts[r + 1], quotas[r]
            if quota <= 0:
                continue
            block = draws[start:end]
            threshold = np.partition(block.copy(), quota - 1)[quota - 1]
            ties = quota
            for i in range(len(block)):
                ties -= block[i] < threshold
            for i in range(len(block)):
                if block[i] < threshold or (block[i] == threshold and ties > 0):
                    ties -= block[i] == threshold
                    out[by_relation[start + i]] = True

    return keep
