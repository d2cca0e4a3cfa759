"""CSR x dense products for one CPU thread, compiled by numba (already installed with umap-learn).

On one thread of this project's AMD EPYC (Zen 4) machines, torch's CPU product (MKL) multiplies
dbbook2014's CIKG (369k entries) by a 64-column matrix in 2.9-3.1 ms; this row loop takes
2.1-2.3 ms, and a CIKGRec step makes 30 such products. With more threads torch's own parallel
product is the faster (1.5 ms on two threads, against 2.1 for a numba ``prange`` loop), so only
one-thread runs come here. Each row sums its entries in column order with fused multiply-adds, so
the result matches torch's to float32 rounding, not bit for bit.

The same loop over a subset of the rows (:func:`csr_rows_dense_mm`, each row the number the whole
product gives it) and its transpose as a scatter (:func:`csr_rows_transposed_add_`) serve products
of which only some rows are read, or whose input has only some non-zero rows (the batch's rows of
LightGCN's last layer and of its first gradient product, KGAT's last layer).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import torch

from recommender.blas import one_thread_cpu_float32


@cache
def _row_loop() -> Any:
    """The kernel, compiled on first use (importing numba costs a few hundred ms, cached on disk)."""
    import numba

    @numba.njit(fastmath={"contract"}, boundscheck=False, nogil=True, cache=True)
    def csr_rows_times_dense(crow: np.ndarray, col: np.ndarray, val: np.ndarray, dense: np.ndarray,
                             out: np.ndarray) -> None:
        width = out.shape[1]
        for row in range(out.shape[0]):
            start, end = crow[row], crow[row + 1]
            target = out[row]
            if start == end:
                target[:] = 0.0
                continue
            weight, source = val[start], dense[col[start]]
            for c in range(width):            # the first entry initialises: no zero-fill pass
                target[c] = weight * source[c]
            for entry in range(start + 1, end):
                weight, source = val[entry], dense[col[entry]]
                for c in range(width):
                    target[c] += weight * source[c]

    return csr_rows_times_dense


def applies(adjacency: torch.Tensor, dense: torch.Tensor) -> bool:
    """True for a float32 CSR times a float32 matrix on the CPU, in a one-thread process."""
    return adjacency.layout == torch.sparse_csr and one_thread_cpu_float32(adjacency, dense)


def csr_dense_mm(adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``adjacency @ dense`` with no autograd. Shapes: (N, M) CSR, (M, D) -> (N, D)."""
    source = dense.detach().contiguous()
    out = torch.empty(adjacency.shape[0], source.shape[1])   # torch's allocation: 64-byte aligned rows
    _row_loop()(adjacency.crow_indices().numpy(), adjacency.col_indices().numpy(), adjacency.values().numpy(),
                source.numpy(), out.numpy())
    return out


@cache
def _picked_rows() -> tuple[Any, Any]:
    """(gather, scatter) kernels over a subset of a CSR's rows, compiled on first use."""
    import numba

    @numba.njit(fastmath={"contract"}, boundscheck=False, nogil=True, cache=True)
    def rows_times_dense(crow: np.ndarray, col: np.ndarray, val: np.ndarray, rows: np.ndarray,
                         dense: np.ndarray, out: np.ndarray) -> None:
        width = out.shape[1]
        for position in range(len(rows)):            # the row loop above, over the given rows
            start, end = crow[rows[position]], crow[rows[position] + 1]
            target = out[position]
            if start == end:
                target[:] = 0.0
                continue
            weight, source = val[start], dense[col[start]]
            for c in range(width):
                target[c] = weight * source[c]
            for entry in range(start + 1, end):
                weight, source = val[entry], dense[col[entry]]
                for c in range(width):
                    target[c] += weight * source[c]

    @numba.njit(fastmath={"contract"}, boundscheck=False, nogil=True, cache=True)
    def rows_transposed_add(crow: np.ndarray, col: np.ndarray, val: np.ndarray, rows: np.ndarray,
                            grad: np.ndarray, out: np.ndarray) -> None:
        width = out.shape[1]
        for position in range(len(rows)):
            source = grad[position]
            for entry in range(crow[rows[position]], crow[rows[position] + 1]):
                weight, target = val[entry], out[col[entry]]
                for c in range(width):
                    target[c] += weight * source[c]

    return rows_times_dense, rows_transposed_add


def csr_rows_dense_mm(adjacency: torch.Tensor, rows: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``(adjacency @ dense)[rows]`` from those rows' entries alone, no autograd; each row is the
    number the whole product gives it. Shapes: (N, M) CSR, (R,), (M, D) -> (R, D)."""
    source = dense.detach().contiguous()
    out = torch.empty(len(rows), source.shape[1])
    _picked_rows()[0](adjacency.crow_indices().numpy(), adjacency.col_indices().numpy(), adjacency.values().numpy(),
                      rows.numpy(), source.numpy(), out.numpy())
    return out


def csr_rows_transposed_add_(adjacency: torch.Tensor, rows: torch.Tensor, grad: torch.Tensor,
                             out: torch.Tensor) -> torch.Tensor:
    """``out += adjacency[rows]^T @ grad`` in place (the backward pass of :func:`csr_rows_dense_mm`),
    scattering each entry of those rows. Shapes: (N, M) CSR, (R,), (R, D), (M, D) contiguous -> ``out``."""
    _picked_rows()[1](adjacency.crow_indices().numpy(), adjacency.col_indices().numpy(), adjacency.values().numpy(),
                      rows.numpy(), grad.detach().contiguous().numpy(), out.numpy())
    return out
