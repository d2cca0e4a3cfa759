"""SGL's own maths on a tiny graph: the dropout views (ED and ND, renormalised without self-loops) and
L_ssl against a hand computation; views redrawn once per epoch; bad settings refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.models import build_model
from recommender.models.configs import SGLConfig
from recommender.models.sgl import InteractionDropout


def tiny_data() -> RecData:
    """3 users, 4 items, 7 interactions."""
    train = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 2], [2, 3], [0, 3]])
    return RecData("tiny", 3, 4, train, np.zeros((0, 2), np.int64), np.array([[1, 0]]))


def by_hand(pairs: np.ndarray, n_users: int, n_nodes: int) -> torch.Tensor:
    """D^-1/2 A D^-1/2 of the user-item pairs, both directions, isolated nodes zero. (N, N) dense."""
    a = torch.zeros(n_nodes, n_nodes)
    for user, item in pairs:
        a[user, n_users + item] = a[n_users + item, user] = 1.0
    degree = a.sum(1)
    inv = torch.where(degree > 0, degree.clamp_min(1).pow(-0.5), torch.zeros_like(degree))
    return inv[:, None] * a * inv[None, :]


def test_edge_dropout_keeps_a_fixed_share_and_renormalises() -> None:
    data = tiny_data()
    subgraphs = InteractionDropout(data.train, 3, 4)
    assert torch.allclose(subgraphs.edge_dropout(0.0).to_dense(), by_hand(data.train, 3, 7))
    torch.manual_seed(0)
    view = subgraphs.edge_dropout(0.3).to_dense()       # keeps int(7 * 0.7) = 4 interactions
    kept = np.array([(u, i) for u, i in data.train if view[u, 3 + i] > 0])
    assert len(kept) == 4
    assert torch.allclose(view, by_hand(kept, 3, 7))   # no self-loops, degrees of the subgraph


def test_node_dropout_removes_the_dropped_nodes_edges() -> None:
    data = tiny_data()
    subgraphs = InteractionDropout(data.train, 3, 4)
    torch.manual_seed(1)
    view = subgraphs.node_dropout(0.5).to_dense()       # drops int(1.5) = 1 user and int(2) = 2 items
    isolated = (view.abs().sum(1) == 0).nonzero().squeeze(1).tolist()
    dropped_users = [n for n in isolated if n < 3 and any(u == n for u, _ in data.train)]
    dropped_items = [n - 3 for n in isolated if n >= 3]
    assert len(dropped_users) == 1 and len(dropped_items) >= 2   # an item may also lose all its users
    kept = np.array([(u, i) for u, i in data.train if u not in dropped_users and i not in dropped_items])
    assert torch.allclose(view, by_hand(kept, 3, 7))


def test_ssl_loss_matches_the_hand_computation() -> None:
    """L_ssl^user + L_ssl^item: cosine over tau, each batch row against every user (item) of view 2."""
    config = SGLConfig(embedding_dim=4, n_layers=2, temperature=0.5, drop_ratio=0.3)
    model = build_model("sgl", tiny_data(), config, torch.device("cpu"))
    users, positives = torch.tensor([0, 0, 2]), torch.tensor([1, 3, 3])
    torch.manual_seed(3)
    loss = model.ssl_loss(users, positives, epoch=0)
    graphs = [view.to_dense() for view in model.views]
    e = model.embedding.detach()
    a, b = ((e + g @ e + g @ g @ e) / 3 for g in graphs)     # LightGCN: mean of layers 0..2

    def side(anchors: torch.Tensor, offset: int, count: int) -> torch.Tensor:
        rows = F.normalize(a[anchors + offset], dim=1)
        candidates = F.normalize(b[offset:offset + count], dim=1)
        logits = rows @ candidates.T / 0.5
        return (torch.logsumexp(logits, 1) - logits[torch.arange(len(anchors)), anchors]).mean()

    expected = side(users, 0, 3) + side(positives, 3, 4)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_views_are_redrawn_once_per_epoch() -> None:
    model = build_model("sgl", tiny_data(), SGLConfig(embedding_dim=4), torch.device("cpu"))
    users, items = torch.tensor([0, 1]), torch.tensor([1, 2])
    model.batch_loss(users, items, torch.tensor([3, 0]), epoch=0)
    first = model.views
    model.batch_loss(users, items, torch.tensor([3, 0]), epoch=0)
    assert model.views is first
    model.batch_loss(users, items, torch.tensor([3, 0]), epoch=1)
    assert model.views is not first


def test_node_augmentation_trains_and_bad_settings_are_refused() -> None:
    model = build_model("sgl", tiny_data(), SGLConfig(embedding_dim=4, augmentation="node", drop_ratio=0.5),
                        torch.device("cpu"))
    losses = model.batch_loss(torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([3, 0]), epoch=0)
    assert torch.isfinite(losses["total"]) and losses["ssl"] > 0
    with pytest.raises(ModelConfigError, match="augmentation"):
        build_model("sgl", tiny_data(), SGLConfig(augmentation="walk"), torch.device("cpu"))
    with pytest.raises(ModelConfigError, match="drop_ratio"):
        build_model("sgl", tiny_data(), SGLConfig(drop_ratio=1.0), torch.device("cpu"))
