"""KGIN's own maths on tiny tensors: one hop of relational path-aware aggregation (KG and user side)
and the distance correlation, each against a hand computation; the error on a dataset with no KG."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from kg_fixtures import tiny_kg_data, tiny_kg_model

from recommender.errors import DataError, ModelConfigError
from recommender.graphs import paired_mm
from recommender.models import build_model
from recommender.models.configs import KGINConfig
from recommender.models.kgin import distance_correlation, independence_loss


def tiny_model(**settings) -> torch.nn.Module:
    return tiny_kg_model("kgin", KGINConfig(embedding_dim=3, n_factors=2, context_hops=1, **settings))


def test_one_hop_matches_the_hand_computation() -> None:
    """Eq. 6-9 and 11 for one hop: entities 0..3 after the item users are 0, 1 (U = 2)."""
    model = tiny_model()
    users, nodes = model.embedding[:2].detach(), model.embedding[2:].detach()
    r = model.relation.detach()            # relations 0, 1 and their inverses 2, 3
    # Eq. 8-9 with inverse triples (3, 2, 0), (3, 2, 1), (2, 3, 1): the mean over each head's (r, t)
    kg = torch.stack([r[0] * nodes[3], (r[0] * nodes[3] + r[1] * nodes[2]) / 2, r[3] * nodes[1],
                      (r[2] * nodes[0] + r[2] * nodes[1]) / 2])
    # Eq. 1-2 intents, Eq. 7 attention over the free keys, Eq. 6 with the authors' residual
    intents = torch.softmax(model.intent_logits.detach(), 1) @ r
    attention = torch.softmax(users @ model.intent_keys.detach().T, 1)
    means = torch.stack([(nodes[0] + nodes[1]) / 2, nodes[2]])
    user_hop = (attention @ intents) * means + means
    model.eval()
    with torch.no_grad():
        user_final, entity_final = model.propagate(False)
        assert torch.allclose(entity_final, nodes + F.normalize(kg, dim=1), atol=1e-6)   # Eq. 11
        assert torch.allclose(user_final, users + F.normalize(user_hop, dim=1), atol=1e-6)
        item_final = model.final_embeddings()[1]
    assert torch.equal(item_final, entity_final[:3])


def test_dropped_kg_means_over_the_kept_triples_and_backpropagates_through_the_transpose() -> None:
    mean = tiny_model().kg_mean
    kept = torch.tensor([True, False, True, True, True, False])
    rows, cols = mean.rows[kept], mean.cols[kept]
    for renormalise, scale in ((True, 1.0), (False, 2.0)):
        matrix, transposed = mean.means(kept, renormalise=renormalise, scale=scale)
        degree = torch.bincount(rows if renormalise else mean.rows, minlength=mean.shape[0]).float()
        dense = torch.zeros(mean.shape)
        dense[rows, cols] = scale / degree[rows]
        assert torch.allclose(matrix.to_dense(), dense) and torch.allclose(transposed.to_dense(), dense.T)
    paths = torch.randn(mean.shape[1], 3, requires_grad=True)
    weights = torch.randn(mean.shape[0], 3)
    (paired_mm((matrix, transposed), paths) * weights).sum().backward()
    assert torch.allclose(paths.grad, dense.T @ weights, atol=1e-6)


def _dcor_by_hand(x: list[float], y: list[float]) -> float:
    """Textbook distance correlation with explicit sums (Szekely et al. 2007)."""
    n = len(x)

    def centred(v: list[float]) -> list[list[float]]:
        d = [[abs(v[j] - v[k]) for k in range(n)] for j in range(n)]
        row = [sum(d[j]) / n for j in range(n)]
        col = [sum(d[j][k] for j in range(n)) / n for k in range(n)]
        grand = sum(row) / n
        return [[d[j][k] - row[j] - col[k] + grand for k in range(n)] for j in range(n)]

    a, b = centred(x), centred(y)

    def dcov(p: list[list[float]], q: list[list[float]]) -> float:
        return math.sqrt(sum(p[j][k] * q[j][k] for j in range(n) for k in range(n)) / n**2)

    return dcov(a, b) / math.sqrt(dcov(a, a) * dcov(b, b))


def test_distance_correlation_matches_the_hand_computation() -> None:
    rows = [[0.0, 1.0, 2.0, 3.0], [1.0, -1.0, -1.0, 1.0], [0.3, 2.0, -0.5, 1.1]]
    expected = sum(_dcor_by_hand(rows[p], rows[q]) for p, q in itertools.combinations(range(3), 2))
    assert float(distance_correlation(torch.tensor(rows))) == pytest.approx(expected, abs=1e-3)
    # a linear function of the other is perfectly dependent; the sum over one pair is its dCor
    line = torch.tensor([[0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0]])
    assert float(distance_correlation(line)) == pytest.approx(1.0, abs=1e-3)
    # rows 0 and 1 have zero Pearson correlation yet depend on each other: dCor sees it
    assert _dcor_by_hand(rows[0], rows[1]) > 0.2
    assert float(independence_loss(torch.tensor(rows), "distance")) == pytest.approx(expected, abs=1e-3)


def test_cosine_independence_is_the_sum_of_squared_cosines() -> None:
    weights = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    assert float(independence_loss(weights, "cosine")) == pytest.approx(0.5 + 0.0 + 0.5, abs=1e-6)


def test_a_dataset_without_a_kg_is_a_clear_error() -> None:
    with pytest.raises(DataError, match=r"KGIN needs an item knowledge graph.*dataset 'tiny'"):
        build_model("kgin", tiny_kg_data(with_kg=False), KGINConfig(embedding_dim=4), torch.device("cpu"))


def test_unknown_independence_is_refused() -> None:
    with pytest.raises(ModelConfigError, match="independence must be one of distance, cosine, mi"):
        build_model("kgin", tiny_kg_data(), KGINConfig(embedding_dim=4, independence="l1"), torch.device("cpu"))
