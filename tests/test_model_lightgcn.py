"""LightGCN's training step (one autograd node for propagation, BPR and L2) against autograd through
the plain ops it replaces: ``propagate``, row lookups, ``bpr_loss`` and ``l2_regularizer``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recommender.graphs import csr_tensor, normalized_adjacency, propagate
from recommender.losses import bpr_loss, l2_regularizer
from recommender.models.base import distinct_rows
from recommender.models.lightgcn import propagated_bpr


def graph_and_embeddings(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    edges = np.stack([rng.integers(0, 6, 25), rng.integers(6, 15, 25)], 1)   # 6 users, 9 items
    adjacency = normalized_adjacency(edges, 15)
    adjacency = csr_tensor(adjacency.crow_indices(), adjacency.col_indices(), adjacency.values().to(dtype),
                           adjacency.shape)
    embeddings = torch.randn(15, 4, dtype=dtype, generator=torch.Generator().manual_seed(1))
    return adjacency, embeddings


@pytest.mark.parametrize("torch_threads", [1, 2], indirect=True)
@pytest.mark.parametrize("n_layers", [0, 1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_propagated_bpr_is_the_loss_and_gradient_of_the_plain_ops(torch_threads: int, n_layers: int,
                                                                  dtype: torch.dtype) -> None:
    """Rows repeat (a user twice, an item as positive and negative), as batches do. float32 on one
    thread takes the compiled row products (the last layer at the batch's rows, A G from them)."""
    adjacency, start = graph_and_embeddings(dtype)
    users, positives, negatives = torch.tensor([0, 3, 3, 5]), torch.tensor([6, 9, 7, 14]), torch.tensor([9, 6, 11, 6])
    rows = torch.cat([users, positives, negatives])
    ours, theirs = start.clone().requires_grad_(), start.clone().requires_grad_()
    total, bpr = propagated_bpr(adjacency, ours, rows, n_layers, 0.3)
    nodes = propagate(adjacency, theirs, n_layers)
    expected_bpr = bpr_loss(nodes[users], nodes[positives], nodes[negatives])
    expected = expected_bpr + 0.3 * l2_regularizer(theirs[users], theirs[positives], theirs[negatives])
    assert torch.equal(bpr, expected_bpr) and torch.equal(total, expected)   # the same ops, the same numbers
    (2 * total + bpr).backward()
    (2 * expected + expected_bpr).backward()
    tolerance = 1e-12 if dtype == torch.float64 else 1e-6
    assert torch.allclose(ours.grad, theirs.grad, rtol=tolerance, atol=tolerance)
    assert ours.grad.abs().sum() > 0


def test_distinct_rows_are_torch_unique() -> None:
    rows = torch.randint(0, 40, (300,), generator=torch.Generator().manual_seed(3))
    distinct, where = distinct_rows(rows, 50)
    expected, inverse = torch.unique(rows, return_inverse=True)
    assert torch.equal(distinct, expected) and torch.equal(where, inverse)
