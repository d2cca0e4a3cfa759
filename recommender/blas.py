"""``a @ b.T`` for embedding tables, on the faster of the two BLAS libraries a CPU process has loaded.

Scoring rows against rows (contrastive logits, full-ranking scores) multiplies an (A, D) by a
(D, B) matrix with a short inner dimension (D = 64). torch's bundled MKL runs that shape 2-3x
slower than the OpenBLAS that numpy ships on this project's AMD EPYC (Zen 4) machines: 900 x 64 by
64 x 9,289 takes 29-43 ms against 13 ms, one thread each. Of the backward passes' long-inner-dimension
products, ``s.T @ a`` is 20 % faster in OpenBLAS when written as ``(a.T @ s).T`` (14 ms against 17.5);
``s @ b`` runs at the same speed in both and stays with torch.
Only one-thread processes are routed (see ``one_thread_cpu_float32``), and OpenBLAS is then held to one thread too.
Another BLAS rounds differently in the last bits; the scores are the same to float32 precision.
"""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import ThreadpoolController
from torch.autograd.graph import increment_version

_blas_threads: dict[str, int] = {}   # "threads": the count numpy's BLAS was last given


def _match_torch_threads() -> None:
    """Give the BLAS libraries loaded so far (numpy's among them) torch's current thread count (one,
    where routed): a cheap check per call, and half a millisecond when the count changes."""
    threads = torch.get_num_threads()
    if _blas_threads.get("threads") != threads:
        ThreadpoolController().select(user_api="blas").limit(limits=threads)
        _blas_threads["threads"] = threads


def one_thread_cpu_float32(*tensors: torch.Tensor) -> bool:
    """The condition for every hand-routed CPU product here and in ``csr_kernels``: float32 tensors
    on the CPU, in a one-thread process. With more threads torch's own parallel products are the
    faster, and OpenBLAS's pool and torch's OpenMP threads each spin-wait after their work and take
    the cores from each other (a reference-preset epoch took 15.9 s on two threads against 8.8 s with torch alone)."""
    return torch.get_num_threads() == 1 and all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)



def scores_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ b.T`` with no autograd, written into ``out`` (a contiguous (A, B) tensor) when given.

    Shapes: (A, D), (B, D) -> (A, B).
    """
    if not one_thread_cpu_float32(a, b):
        return torch.mm(a, b.T, out=out)
    result = torch.empty(len(a), len(b)) if out is None else out
    _match_torch_threads()
    np.matmul(a.detach().numpy(), b.detach().numpy().T, out=result.numpy())
    increment_version(result)   # numpy's write is in place too: autograd must see it, as it sees mm(out=)
    return result


def transposed_product(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``s.T @ a`` with no autograd (the candidates' gradient of a score matrix ``s``), as the
    transpose of an OpenBLAS ``a.T @ s``. Shapes: (A, B), (A, D) -> (B, D), a transposed view on CPU."""
    if not one_thread_cpu_float32(s, a):
        return s.T @ a
    _match_torch_threads()
    return torch.from_numpy(np.matmul(a.detach().numpy().T, s.detach().numpy())).T


class _Scores(torch.autograd.Function):
    """``scores_into`` with torch's backward: both gradients are long-inner-dimension products."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor,  # type: ignore[override]
                b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return scores_into(a, b)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a, b = ctx.saved_tensors
        grad_a = grad @ b if ctx.needs_input_grad[0] else None
        grad_b = transposed_product(grad, a) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def scores(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b.T``, differentiable. Shapes: (A, D), (B, D) -> (A, B)."""
    if not one_thread_cpu_float32(a, b):
        return a @ b.T
    return _Scores.apply(a, b)
