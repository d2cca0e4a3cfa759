"""recommender.blas: the routed products equal torch's, differentiate like them, and keep the thread count."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import ThreadpoolController, threadpool_info

from recommender import blas
from recommender.blas import scores, scores_into, transposed_product


def _numpy_blas_threads() -> set[int]:
    """Thread counts of the BLAS bundled with numpy's wheel (under numpy.libs)."""
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]
    assert pools, "numpy's BLAS is not loaded"
    return {pool["num_threads"] for pool in pools}


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
def test_scores_equal_torch_to_float32_precision_and_write_into_the_given_block(torch_threads: int) -> None:
    torch.manual_seed(0)
    a, b = torch.randn(37, 64), torch.randn(101, 64)
    block = torch.empty(37 * 101)
    out = scores_into(a, b, out=block.view(37, 101))
    assert out.data_ptr() == block.data_ptr()
    torch.testing.assert_close(out, a @ b.T, rtol=1e-5, atol=1e-5)
    assert not torch.equal(out, torch.zeros_like(out))


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
def test_scores_gradients_equal_autograd_through_torch_mm(torch_threads: int) -> None:
    torch.manual_seed(1)
    a, b = torch.randn(13, 8, requires_grad=True), torch.randn(21, 8, requires_grad=True)
    weight = torch.randn(13, 21)
    routed = torch.autograd.grad((scores(a, b) * weight).sum(), (a, b))
    plain = torch.autograd.grad(((a @ b.T) * weight).sum(), (a, b))
    for got, expected in zip(routed, plain, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
def test_transposed_product_is_s_transpose_times_a(torch_threads: int) -> None:
    s, a = torch.rand(30, 50), torch.randn(30, 64)
    torch.testing.assert_close(transposed_product(s, a), s.T @ a, rtol=1e-5, atol=1e-5)


def test_float64_stays_with_torch_bit_for_bit() -> None:
    a, b = torch.randn(9, 4, dtype=torch.float64), torch.randn(7, 4, dtype=torch.float64)
    assert torch.equal(scores(a, b), a @ b.T)
    s, rows = torch.rand(9, 5, dtype=torch.float64), torch.randn(9, 4, dtype=torch.float64)
    assert torch.equal(transposed_product(s, rows), s.T @ rows)


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
def test_a_one_thread_process_routes_to_openblas_held_to_one_thread(torch_threads: int) -> None:
    ThreadpoolController().select(user_api="blas").limit(limits=2)   # as if someone else had changed it
    blas._blas_threads.clear()
    scores_into(torch.randn(4, 3), torch.randn(5, 3))
    assert _numpy_blas_threads() == {1}


@pytest.mark.parametrize("torch_threads", [2], indirect=True)
def test_with_more_threads_torch_computes_every_product_bit_for_bit(torch_threads: int) -> None:
    a, b, s = torch.randn(9, 64), torch.randn(70, 64), torch.rand(9, 70)
    assert torch.equal(scores_into(a, b), torch.mm(a, b.T))
    assert torch.equal(scores(a, b), a @ b.T)
    assert torch.equal(transposed_product(s, a), s.T @ a)
