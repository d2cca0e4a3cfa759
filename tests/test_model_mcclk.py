"""MCCLK's own maths on tiny tensors, each against a hand computation: one hop of the structural view
(attentive KG side, gated user side), the kNN item-item graph and the semantic view over it, the
attention's gradient through the sparse product; and the error on a dataset with no KG."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from kg_fixtures import tiny_kg_data, tiny_kg_model

from recommender.errors import DataError
from recommender.graphs import SparsePattern
from recommender.models import build_model
from recommender.models.configs import MCCLKConfig
from recommender.models.mcclk import _AttentiveProduct, knn_weights


def tiny_model(**settings) -> torch.nn.Module:
    return tiny_kg_model("mcclk", MCCLKConfig(embedding_dim=3, context_hops=1, **settings))


def test_one_structural_hop_matches_the_hand_computation() -> None:
    """KG side: e_h = sum softmax_h(|e_h*r|^2 |e_t*r|^2) (r * e_t); users: m_u + (softmax(e_u R^T) R) * m_u;
    each normalised and added to layer 0."""
    model = tiny_model()
    users, e = model.embedding[:2].detach(), model.embedding[2:].detach()
    r = model.relation.detach()

    def hop(head: int, paths: list[tuple[int, int]]) -> torch.Tensor:
        logits = [float((e[head] * r[rel]).square().sum() * (e[tail] * r[rel]).square().sum()) for rel, tail in paths]
        top = max(logits)
        weights = [math.exp(v - top) for v in logits]
        return sum(w / sum(weights) * r[rel] * e[tail] for w, (rel, tail) in zip(weights, paths, strict=True))

    # triples (0, 0, 3), (1, 0, 3), (1, 1, 2) and their inverses (3, 2, 0), (3, 2, 1), (2, 3, 1)
    kg = torch.stack([hop(0, [(0, 3)]), hop(1, [(0, 3), (1, 2)]), hop(2, [(3, 1)]), hop(3, [(2, 0), (2, 1)])])
    means = torch.stack([(e[0] + e[1]) / 2, e[2]])
    gate = torch.softmax(users @ r.T, dim=1) @ r
    with torch.no_grad():
        user_final, entity_final = model.structural(False)
    assert torch.allclose(entity_final, e + F.normalize(kg, dim=1), atol=1e-5)
    assert torch.allclose(user_final, users + F.normalize(means + gate * means, dim=1), atol=1e-5)


def dense_knn(items: torch.Tensor, k: int) -> torch.Tensor:
    """The kNN graph written out: top-k cosines per row (self included), s_ij / sqrt(d_i d_j)."""
    n = len(items)
    cos = [[float(F.cosine_similarity(items[i], items[j], dim=0)) for j in range(n)] for i in range(n)]
    kept = [sorted(range(n), key=lambda j, i=i: -cos[i][j])[:k] for i in range(n)]
    degree = [sum(max(cos[i][j], 0.0) for j in kept[i]) for i in range(n)]
    graph = torch.zeros(n, n)
    for i in range(n):
        for j in kept[i]:
            graph[i, j] = max(cos[i][j], 0.0) / math.sqrt(degree[i] * degree[j])
    return graph


def test_knn_graph_and_semantic_view_match_the_hand_computation() -> None:
    items = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.3, 0.0], [0.0, 1.0, 0.2], [-1.0, 0.1, 0.0]])
    neighbours, weights = knn_weights(items, 2)
    graph = torch.zeros(4, 4).index_put_((torch.arange(4)[:, None].expand(4, 2), neighbours), weights)
    assert torch.allclose(graph, dense_knn(items, 2), atol=1e-6)
    assert graph[3].nonzero().squeeze(1).tolist() == [2, 3]       # item 3's best other neighbour is item 2
    model = tiny_model(knn_k=2, knn_lambda=0.25)
    structural = torch.randn(3, 3, generator=torch.Generator().manual_seed(3))
    layer0 = model.embedding[2:5].detach()
    expected = F.normalize(0.75 * dense_knn(structural, 2) @ layer0 + 0.25 * dense_knn(layer0, 2) @ layer0, dim=1)
    with torch.no_grad():
        assert torch.allclose(model.semantic(structural), expected, atol=1e-5)


def test_attention_gradient_through_the_sparse_product() -> None:
    """d/dvalue of sum(G * (A X)) is G_row . X_col at each kept entry; d/dX is A^T G."""
    pattern = SparsePattern(np.array([0, 0, 1, 2, 2]), np.array([1, 3, 0, 0, 2]), (3, 4), torch.device("cpu"))
    kept = torch.tensor([True, False, True, True, True])
    values = torch.rand(4, requires_grad=True)
    paths = torch.randn(4, 2, requires_grad=True)
    full = torch.zeros(5).index_copy(0, kept.nonzero().squeeze(1), values.detach())
    weights = torch.randn(3, 2)
    (_AttentiveProduct.apply(values, pattern.build(full, kept), paths) * weights).sum().backward()
    rows, cols = pattern.rows[kept], pattern.cols[kept]
    dense = torch.zeros(3, 4).index_put((rows, cols), values.detach())
    assert torch.allclose(values.grad, (weights[rows] * paths.detach()[cols]).sum(1), atol=1e-6)
    assert torch.allclose(paths.grad, dense.T @ weights, atol=1e-6)


def test_scores_join_the_global_and_local_views() -> None:
    """u* . i* = z^g_u . z^g_i + z^c_u . (z^c_i + z^s_i)."""
    model = tiny_model()
    with torch.no_grad():
        views = model.views(False)
        user, item = model.final_embeddings()
    expected = views["g_user"] @ views["g_item"].T + views["c_user"] @ (views["c_item"] + views["s_item"]).T
    assert torch.allclose(user @ item.T, expected, atol=1e-5)


def test_a_dataset_without_kg_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="MCCLK needs an item knowledge graph.*'tiny'"):
        build_model("mcclk", tiny_kg_data(with_kg=False), MCCLKConfig(embedding_dim=3), torch.device("cpu"))
