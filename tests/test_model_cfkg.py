"""CFKG's own maths on a tiny KG: the recommendation score -||u + r_buy - i|| (and the inner-product
option) and the margin loss against a hand computation; the error on a dataset with no KG."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kg_fixtures import tiny_kg_data, tiny_kg_model

from recommender.errors import DataError, ModelConfigError
from recommender.models import build_model
from recommender.models.configs import CFKGConfig


def tiny_model(**settings) -> torch.nn.Module:
    return tiny_kg_model("cfkg", CFKGConfig(embedding_dim=3, **settings))


def test_score_is_the_negative_translation_distance() -> None:
    model = tiny_model()
    nodes, relations = model.embedding.detach(), model.relation_embedding.detach()
    buy = relations[2]                                  # after the KG's relations 0 and 1
    expected = torch.tensor([[-(nodes[u] + buy - nodes[2 + i]).norm() for i in range(3)] for u in range(2)])
    with torch.no_grad():
        assert torch.allclose(model.score_users(torch.tensor([0, 1])), expected, atol=1e-5)
        users, items = model.final_embeddings()
    assert torch.allclose(users, nodes[:2] + buy) and torch.equal(items, nodes[2:5])


def test_margin_loss_matches_the_hand_computation() -> None:
    """rec: mean max(0, margin + ||u + r_buy - i|| - ||u + r_buy - j||) over the batch's interactions."""
    model = tiny_model(margin=2.0, l2=0.0)
    nodes, buy = model.embedding.detach(), model.relation_embedding.detach()[2]
    users, positives, negatives = torch.tensor([0, 1, 0]), torch.tensor([1, 2, 0]), torch.tensor([2, 0, 2])
    torch.manual_seed(0)
    losses = model.batch_loss(users, positives, negatives, epoch=0)
    hinge = [max(0.0, 2.0 + (nodes[u] + buy - nodes[2 + p]).norm().item() - (nodes[u] + buy - nodes[2 + n]).norm().item())
             for u, p, n in zip(users.tolist(), positives.tolist(), negatives.tolist(), strict=True)]
    assert losses["rec"].item() == pytest.approx(np.mean(hinge), rel=1e-5)
    assert losses["total"].item() == pytest.approx((losses["rec"] + losses["kg"]).item() / 2, rel=1e-5)  # 3 + 3 rows


def test_inner_product_option_scores_by_inner_product() -> None:
    model = tiny_model(score_function="inner_product")
    with torch.no_grad():
        users, items = model.final_embeddings()
        assert torch.allclose(model.score_users(torch.tensor([1])), users[1:2] @ items.T, atol=1e-6)
    with pytest.raises(ModelConfigError, match="score_function"):
        build_model("cfkg", tiny_kg_data(), CFKGConfig(score_function="cosine"), torch.device("cpu"))


@pytest.mark.parametrize("score_function", ["distance", "inner_product"])
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_triple_scores_backward_is_autograd_of_the_plain_ops(score_function: str, l2: float) -> None:
    """The hand-written backward against autograd through lookups, norms and the L2 sum; triple 3 has
    its negative equal to its head plus relation (distance 0: the norm's gradient is 0 there)."""
    model = tiny_model(score_function=score_function, l2=l2).double()
    with torch.no_grad():
        model.embedding[5] = model.embedding[0] + model.relation_embedding[1]
    head, relation = torch.tensor([0, 1, 2, 0, 4]), torch.tensor([2, 2, 0, 1, 1])
    tail, negative = torch.tensor([3, 4, 5, 2, 2]), torch.tensor([4, 3, 3, 5, 4])
    upstream = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    positive, corrupted, squares = model.triple_scores(head, relation, tail, negative, with_squares=l2 > 0)
    ours = torch.autograd.grad((positive * upstream[0]).sum() + (corrupted * upstream[1]).sum() + 0.7 * squares,
                               [model.embedding, model.relation_embedding])
    h, t, wrong, r = model.embedding[head], model.embedding[tail], model.embedding[negative], model.relation_embedding[relation]
    if score_function == "distance":
        expected = -torch.linalg.vector_norm(h + r - t, dim=-1), -torch.linalg.vector_norm(h + r - wrong, dim=-1)
    else:
        expected = ((h + r) * t).sum(-1), ((h + r) * wrong).sum(-1)
    expected_squares = sum(x.pow(2).sum() for x in (h, r, t, wrong)) if l2 > 0 else torch.zeros((), dtype=h.dtype)
    assert torch.equal(positive, expected[0]) and torch.equal(corrupted, expected[1])
    assert torch.equal(squares, expected_squares)
    theirs = torch.autograd.grad((expected[0] * upstream[0]).sum() + (expected[1] * upstream[1]).sum()
                                 + 0.7 * expected_squares, [model.embedding, model.relation_embedding])
    for mine, reference in zip(ours, theirs, strict=True):
        assert torch.allclose(mine, reference, rtol=1e-12, atol=1e-12)


def test_a_dataset_without_kg_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="CFKG needs an item knowledge graph.*'tiny'"):
        build_model("cfkg", tiny_kg_data(with_kg=False), CFKGConfig(), torch.device("cpu"))
