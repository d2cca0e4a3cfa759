"""KGCL's own maths on tiny tensors, each against a hand computation: the relation-aware aggregation
(Sec. 3.1) on full and KG-dropped views, the knowledge-guided keep probabilities (Sec. 3.3), the
cross-view contrast and its hand-written gradient; and the error on a dataset with no KG."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from kg_fixtures import tiny_kg_model

from recommender.data import RecData
from recommender.errors import DataError
from recommender.graphs import normalized_adjacency
from recommender.losses import ScoreWorkspace
from recommender.models import build_model
from recommender.models.configs import KGCLConfig
from recommender.models.kgcl import cross_view_nce, keep_probabilities


def tiny_data(with_kg: bool = True) -> RecData:
    """2 users, 3 items (entities 0-2), two more entities (3, 4); item 2 heads no triple."""
    train = np.array([[0, 0], [0, 1], [1, 2], [1, 0]])
    data = RecData("tiny-kgcl", 2, 3, train, np.zeros((0, 2), np.int64), np.array([[1, 1]]))
    data.item_entity = np.arange(3)
    if with_kg:
        data.n_entities, data.n_relations = 5, 2
        data.triples = np.array([[0, 0, 3], [0, 1, 4], [1, 0, 3], [3, 1, 4]])   # (3, 1, 4): no item head
    return data


def tiny_model() -> torch.nn.Module:
    return tiny_kg_model("kgcl", KGCLConfig(embedding_dim=3, n_layers=1), tiny_data()).eval()


def slot_of(model: torch.nn.Module, item: int, entity: int) -> int:
    row = model.neighbours[item]
    return int(((row == entity) & model.present[item]).nonzero()[0, 0])


def test_relation_aware_aggregation_matches_the_hand_computation() -> None:
    """x'_i = x_i + sum_e softmax_e(LeakyReLU(r^T (W [x_i || x_e] + b))) x_e, over the item's triples."""
    model = tiny_model()
    x, e, r = model.item.detach(), model.entity.detach(), model.relation.detach()
    weight, bias = model.attention.weight.detach(), model.attention.bias.detach()

    def logit(item: int, entity: int, relation: int) -> float:
        value = float(r[relation] @ (weight @ torch.cat([x[item], e[entity]]) + bias))
        return value if value > 0 else 0.2 * value

    first, second = math.exp(logit(0, 3, 0)), math.exp(logit(0, 4, 1))
    expected = torch.stack([x[0] + (first * e[3] + second * e[4]) / (first + second),
                            x[1] + e[3],             # one neighbour: weight 1
                            x[2]])                   # no triple headed by item 2: x_i alone
    assert model.present.sum(1).tolist() == [2, 1, 0]
    with torch.no_grad():
        assert torch.allclose(model.aggregate(model.present), expected, atol=1e-5)
        dropped = model.present.clone()
        dropped[0, slot_of(model, 0, 4)] = False                # a KG view without (0, r1, 4)
        assert torch.allclose(model.aggregate(dropped)[0], x[0] + e[3], atol=1e-5)


def random_kg_data() -> RecData:
    """4 users, 6 items (entities 0-5), 10 entities, 40 random triples: items with 0 to 5 neighbours."""
    generator = np.random.default_rng(4)
    train = np.array([[u, i] for u in range(4) for i in range(6) if (u + i) % 3])
    data = RecData("random-kgcl", 4, 6, train, np.zeros((0, 2), np.int64), np.array([[0, 0]]))
    data.item_entity = np.arange(6)
    data.n_entities, data.n_relations = 10, 3
    data.triples = np.stack([generator.integers(0, 6, 40), generator.integers(0, 3, 40),
                             generator.integers(0, 10, 40)], 1)
    return data


def test_one_thread_aggregation_kernel_matches_the_torch_path() -> None:
    """In training mode (dropout 0.4 on inputs, attention and output) the numba passes draw the torch
    path's numbers and give its output and every parameter's gradient, on the full and a KG-dropped view."""
    model = tiny_kg_model("kgcl", KGCLConfig(embedding_dim=8, max_neighbors=4, attention_dropout=0.4),
                          random_kg_data()).train()
    grad = torch.randn(6, 8, generator=torch.Generator().manual_seed(2))
    dropped = model.present & (torch.rand(model.present.shape, generator=torch.Generator().manual_seed(3)) > 0.5)
    for present in (model.present, dropped):
        results = []
        for n_threads in (1, 2):             # one thread: the kernels; two: the torch path
            model.zero_grad(set_to_none=True)
            torch.manual_seed(11)
            before = torch.get_num_threads()
            torch.set_num_threads(n_threads)
            try:
                out = model.aggregate(present)
                out.backward(grad)
            finally:
                torch.set_num_threads(before)
            results.append([out.detach(), *(p.grad.clone() for p in model.parameters() if p.grad is not None)])
        assert len(results[0]) == len(results[1]) == 6       # out; item, entity, relation, W, b
        assert (results[0][0] == 0).any() and results[0][0].abs().sum() > 0     # some entries dropped
        for ours, theirs in zip(*results, strict=True):
            assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()


def test_keep_probabilities_match_the_hand_computation() -> None:
    """w = e^c, w' = max(minmax(w), p_tau), rho = min((1 - ui_drop) w' / mean(w'), max_keep)."""
    consistency = torch.tensor([1.0, 0.5, 0.0, -1.0])
    w = [math.exp(c) for c in consistency.tolist()]
    scaled = [max((v - min(w)) / (max(w) - min(w)), 0.3) for v in w]     # [1, 0.555.., 0.3 (0.232), 0.3 (0)]
    mean = sum(scaled) / 4
    expected = [min(0.9 * v / mean, 0.95) for v in scaled]                # the first is capped at 0.95
    got = keep_probabilities(consistency, ui_drop=0.1, min_keep=0.3, max_keep=0.95)
    assert got.tolist() == pytest.approx(expected, rel=1e-6)
    assert expected[0] == 0.95 and expected[2] == expected[3]


def test_cross_view_contrast_matches_the_hand_computation() -> None:
    """Row k: -log e^{s(a_k,b_k)/t} / (sum_j e^{s(a_k,b_j)/t} + sum_{j != k} e^{s(a_k,a_j)/t})."""
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    t, c = 0.5, 1 / math.sqrt(2)                                         # cos(a1, b0) = cos(a0, a1) = c
    row0 = -math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(0.0) + math.exp(c / t)))
    row1 = -math.log(math.exp(c / t) / (math.exp(c / t) + math.exp(c / t) + math.exp(c / t)))
    assert cross_view_nce(a, b, t, symmetric=False).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    cross0 = -math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(0.0)))
    cross1 = -math.log(math.exp(c / t) / (2 * math.exp(c / t)))
    assert cross_view_nce(a, b, t, intra_view=False, symmetric=False).item() == pytest.approx(
        (cross0 + cross1) / 2, rel=1e-6)
    # b's side: rows of b against a's rows, b's own rows as negatives (cos(b0, b1) = 0)
    side_b0 = -math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(c / t) + math.exp(0.0)))
    side_b1 = -math.log(math.exp(c / t) / (math.exp(0.0) + math.exp(c / t) + math.exp(0.0)))
    assert cross_view_nce(a, b, t).item() == pytest.approx(((row0 + row1) / 2 + (side_b0 + side_b1) / 2) / 2,
                                                           rel=1e-6)


@pytest.mark.parametrize(("intra_view", "symmetric"), [(True, True), (True, False), (False, True), (False, False)])
def test_hand_written_gradient_matches_autograd(intra_view: bool, symmetric: bool) -> None:
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(6, 4, generator=generator, requires_grad=True)
    b = torch.randn(6, 4, generator=generator, requires_grad=True)

    def reference(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        between = F.normalize(x, dim=1) @ F.normalize(y, dim=1).T / 0.3
        total = torch.logsumexp(between, 1)
        if intra_view:
            within = (F.normalize(x, dim=1) @ F.normalize(x, dim=1).T / 0.3).fill_diagonal_(float("-inf"))
            total = torch.logaddexp(total, torch.logsumexp(within, 1))
        return (total - between.diagonal()).mean()

    ours = torch.autograd.grad(cross_view_nce(a, b, 0.3, intra_view, symmetric), (a, b))
    loss = (reference(a, b) + reference(b, a)) / 2 if symmetric else reference(a, b)
    theirs = torch.autograd.grad(loss, (a, b))
    for mine, expected in zip(ours, theirs, strict=True):
        assert torch.allclose(mine, expected, atol=1e-5)


def test_reused_workspaces_give_the_same_loss_and_gradient() -> None:
    generator = torch.Generator().manual_seed(6)
    workspaces = tuple(ScoreWorkspace() for _ in range(3))
    for rows in (7, 5, 7):                   # the blocks grow, shrink and are reused
        a = torch.randn(rows, 4, generator=generator, requires_grad=True)
        b = torch.randn(rows, 4, generator=generator, requires_grad=True)
        fresh = cross_view_nce(a, b, 0.3)
        expected = torch.autograd.grad(fresh, (a, b))
        reused = cross_view_nce(a, b, 0.3, workspaces=workspaces)
        assert reused.item() == fresh.item()
        for mine, theirs in zip(torch.autograd.grad(reused, (a, b)), expected, strict=True):
            assert torch.equal(mine, theirs)


def test_item_views_keep_all_of_an_items_interactions() -> None:
    """Interaction view = LightGCN's D^-1/2 A' D^-1/2 over the kept items' interactions."""
    model = tiny_model()
    keep_item = torch.tensor([True, False, True])
    graph = model.subgraphs.keep(keep_item[model.subgraphs.item])
    kept = np.array([[0, 0], [1, 2], [1, 0]])                              # item 1's (0, 1) is gone
    expected = normalized_adjacency(np.stack([kept[:, 0], kept[:, 1] + 2], 1), 5)
    assert torch.allclose(graph.to_dense(), expected.to_dense())


def test_a_dataset_without_kg_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="KGCL needs an item knowledge graph.*'tiny-kgcl'"):
        build_model("kgcl", tiny_data(with_kg=False), KGCLConfig(embedding_dim=3), torch.device("cpu"))
