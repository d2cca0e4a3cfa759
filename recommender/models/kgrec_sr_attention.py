"""KGRec's relation-aware attention over KG triples: rationale scores, attentive aggregation, and the
mean aggregation of the KG view.

All read the triples as a CSR over heads (``crow`` (E + 1,); the triples sorted by head, each with
its tail t, relation r and (tail, relation) pair p), with ``query = e W^Q`` (E, D), the entity table
e (E, D) and the relation table (R, D). A triple's key is ``(e_t W^Q) ⊙ e_r``, its value
``e_t ⊙ e_r``. With H heads of width d = D / H::

    f_k(e) = query[h]_k . key_k / sqrt(d)          omega_k = softmax of f_k over h's triples
    out[h]_k = sum over h's triples of omega_k(e) value_k
    gamma(e) = |N_h| softmax over h's triples of mean_k f_k(e)
    mean[h] = mean over h's triples of value

Why it is fast: on one CPU thread (float32) each is one numba pass over the triples forward and one
backward (:mod:`~recommender.models.kgrec_sr_kernels`), which make every key and value from the
tables as they go and add the gradients straight into the tables': no (P, D) key and value tables
per distinct (tail, relation) pair, and none of autograd's products, gathers and scatters over them
(about a quarter of a dbbook2014 training step before). Elsewhere (several threads, CUDA) the torch
path runs: keys and values once per distinct pair, gathers, :func:`~recommender.kg.segment_softmax`,
``index_add_``, sparse means. Both give the same numbers to float32 rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from recommender.blas import one_thread_cpu_float32
from recommender.graphs import paired_mm
from recommender.kg import segment_softmax
from recommender.models import kgrec_sr_kernels as kernels
from recommender.models.kgrec_sr_graphs import TripleSet

Pairs = tuple[torch.Tensor, torch.Tensor]     # (pair_tail, pair_relation) (P,): the distinct (tail, relation) pairs


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


# -- the numba path (recommender.models.kgrec_sr_kernels) ----------------------------------------
def _np(tensor: torch.Tensor, heads: int = 1) -> np.ndarray:
    """A contiguous tensor as numpy, each row split into ``heads`` rows."""
    array = tensor.detach().contiguous().numpy()
    return array.reshape(-1, array.shape[1] // heads) if array.ndim == 2 else array


def _scale(query: torch.Tensor, heads: int) -> np.float32:
    return np.float32(1 / math.sqrt(query.shape[1] // heads))


class _Attend(torch.autograd.Function):
    """:func:`attend_torch` as one numba pass forward and one backward (d query, d entity, d relation),
    keys and values made per triple from the tables: query and entity interleaved per head as ``qe``
    (E * H, 2d) (see :mod:`~recommender.models.kgrec_sr_kernels`)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, query: torch.Tensor,  # type: ignore[override]
                entity: torch.Tensor, relation: torch.Tensor, crow: torch.Tensor, tail: torch.Tensor,
                rel: torch.Tensor, heads: int) -> torch.Tensor:
        rows, dim = query.shape
        qe = torch.stack([query.detach().reshape(rows, heads, -1), entity.detach().reshape(rows, heads, -1)], 2)
        relation = relation.detach().contiguous()
        out, omega = torch.empty(rows, dim), torch.empty(heads, len(tail))
        kernels.attend_forward()(_np(crow), _np(tail), _np(rel), _np(qe.view(rows * heads, -1)), _np(relation, heads),
                                 heads, _scale(query, heads), _np(out, heads), omega.numpy())
        ctx.save_for_backward(qe, relation, omega, crow, tail, rel)
        ctx.heads = heads
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        qe, relation, omega, crow, tail, rel = ctx.saved_tensors
        heads, (rows, _, _, width) = ctx.heads, qe.shape
        d_qe, d_relation = torch.zeros_like(qe), torch.zeros_like(relation)
        kernels.attend_backward()(_np(crow), _np(tail), _np(rel), _np(qe.view(rows * heads, -1)), _np(relation, heads),
                                  omega.numpy(), _np(grad, heads), heads, np.float32(1 / math.sqrt(width)),
                                  _np(d_qe.view(rows * heads, -1)), _np(d_relation, heads),
                                  np.empty(len(tail), dtype=np.float32), np.empty(width, dtype=np.float32))
        d_query, d_entity = d_qe.unbind(2)
        return d_query.reshape(rows, -1), d_entity.reshape(rows, -1), d_relation, None, None, None, None


class _MeanMessages(torch.autograd.Function):
    """:func:`mean_messages` as one numba pass forward and one backward (d entity, d relation)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, entity: torch.Tensor,  # type: ignore[override]
                relation: torch.Tensor, crow: torch.Tensor, tail: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
        entity, relation = entity.contiguous(), relation.contiguous()
        out = torch.empty(len(crow) - 1, entity.shape[1])
        kernels.mean_forward()(_np(crow), _np(tail), _np(rel), _np(entity), _np(relation), _np(out))
        ctx.save_for_backward(entity, relation, crow, tail, rel)
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        entity, relation, crow, tail, rel = ctx.saved_tensors
        d_entity, d_relation = torch.zeros_like(entity), torch.zeros_like(relation)
        kernels.mean_backward()(_np(crow), _np(tail), _np(rel), _np(entity), _np(relation), _np(grad),
                                _np(d_entity), _np(d_relation))
        return d_entity, d_relation, None, None, None


# -- dispatch --------------------------------------------------------------------------------------
def pair_products(table: torch.Tensor, relation: torch.Tensor, pairs: Pairs) -> torch.Tensor:
    """table[t] ⊙ e_r once per distinct (tail, relation) pair (the torch path). Shapes: -> (P, D)."""
    pair_tail, pair_relation = pairs
    return table.index_select(0, pair_tail) * relation.index_select(0, pair_relation)


def attend(crow: torch.Tensor, triples: TripleSet, query: torch.Tensor, entity: torch.Tensor,
           relation: torch.Tensor, pairs: Pairs, heads: int) -> torch.Tensor:
    """out[h]_k = sum of omega_k(e) (e_t ⊙ e_r)_k over h's triples, with keys (e_t W^Q) ⊙ e_r;
    differentiable in query = e W^Q, entity and relation. Shapes: (E + 1,), T triples, (E, D),
    (E, D), (R, D) -> (E, D)."""
    if one_thread_cpu_float32(query, entity, relation):
        return _Attend.apply(query, entity, relation, crow, triples.tail, triples.relation, heads)
    key, value = pair_products(query, relation, pairs), pair_products(entity, relation, pairs)
    return attend_torch(triples.head, triples.pair, query, key, value, heads)


@torch.no_grad()
def rationale(crow: torch.Tensor, triples: TripleSet, query: torch.Tensor, relation: torch.Tensor,
              pairs: Pairs, heads: int) -> torch.Tensor:
    """gamma(e) = |N_h| softmax over h's triples of mean_k f_k(e). Shapes: -> (T,)."""
    if not one_thread_cpu_float32(query, relation):
        return rationale_torch(triples.head, triples.pair, query, pair_products(query, relation, pairs), heads)
    out = torch.empty(len(triples))
    scale = np.float32(1 / (math.sqrt(query.shape[1] // heads) * heads))
    kernels.rationale_scores()(_np(crow), _np(triples.tail), _np(triples.relation), _np(query.contiguous()),
                               _np(relation.contiguous()), scale, out.numpy())
    return out


def mean_messages(crow: torch.Tensor, triples: TripleSet, entity: torch.Tensor, relation: torch.Tensor,
                  graphs: Callable[[], tuple[torch.Tensor, torch.Tensor]], pairs: Pairs) -> torch.Tensor:
    """out[h] = mean of e_t ⊙ e_r over h's triples (zero for a head with none), differentiable in
    entity and relation; ``graphs`` makes the (E, P) mean matrix and its transpose for the torch path.
    Shapes: (E + 1,), T triples, (E, D), (R, D) -> (E, D)."""
    if one_thread_cpu_float32(entity, relation):
        return _MeanMessages.apply(entity, relation, crow, triples.tail, triples.relation)
    return paired_mm(graphs(), pair_products(entity, relation, pairs))
