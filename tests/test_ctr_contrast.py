"""KELLMRec's knowledge contrast (Eq. 3-4): InfoNCE against a brute-force loop, the l_uu/l_ii helper,
the total of Eq. 4, and what the contrast trains (the adapters)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
import torch

from recommender.ctr.models import build_ctr_model
from recommender.features.batch import CTRBatch, FeatureSpec, RerankBatch
from recommender.features.contrast import info_nce, knowledge_contrast, with_contrast
from recommender.rerank import build_rerank_model


def brute_force_info_nce(anchors: torch.Tensor, positives: torch.Tensor, tau: float, normalize: bool,
                         reduction: str) -> float:
    rows = anchors.tolist(), positives.tolist()
    if normalize:
        rows = tuple([[x / math.sqrt(sum(y * y for y in r)) for x in r] for r in side] for side in rows)
    a, p = rows
    dot = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))
    terms = [-math.log(math.exp(dot(a[j], p[j]) / tau) / sum(math.exp(dot(a[j], p[k]) / tau) for k in range(len(p))))
             for j in range(len(a))]
    return sum(terms) / (len(terms) if reduction == "mean" else 1)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_info_nce_matches_a_brute_force_loop(normalize: bool, reduction: str) -> None:
    g = torch.Generator().manual_seed(0)
    anchors, positives = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    tau = 0.03 if normalize else 0.5
    got = info_nce(anchors, positives, tau, normalize, reduction).item()
    assert got == pytest.approx(brute_force_info_nce(anchors, positives, tau, normalize, reduction), rel=1e-9)


def test_info_nce_is_small_when_each_anchor_is_nearest_its_positive() -> None:
    anchors = torch.eye(4)
    assert info_nce(anchors, anchors + 0.01).item() < 1e-6
    assert info_nce(anchors, anchors[[1, 2, 3, 0]]).item() > 4 * 30   # each positive is orthogonal: ~1/tau per row


def test_info_nce_defaults_are_the_papers() -> None:
    a, p = torch.randn(4, 3), torch.randn(4, 3)
    assert torch.allclose(info_nce(a, p), info_nce(a, p, temperature=0.03, reduction="sum"))


@dataclass
class TextAsRepresentation:
    """A stand-in backbone whose representations are the batch's text vectors."""

    def user_representation(self, batch: CTRBatch) -> torch.Tensor:
        return batch.user_text

    def item_representation(self, batch: CTRBatch) -> torch.Tensor:
        return batch.item_text

    def contrast_projection(self, vectors: torch.Tensor) -> torch.Tensor:
        return vectors


def ctr_batch(users: list[int], items: list[int], seed: int) -> CTRBatch:
    g, b = torch.Generator().manual_seed(seed), len(users)
    return CTRBatch(users=torch.tensor(users), items=torch.tensor(items), user_fields=torch.zeros(b, 0, dtype=torch.long),
                    item_fields=torch.zeros(b, 0, dtype=torch.long), genres=torch.zeros(b, 0),
                    history_items=torch.zeros(b, 1, dtype=torch.long), history_mask=torch.ones(b, 1, dtype=torch.bool),
                    labels=torch.ones(b), user_text=torch.randn(b, 3, generator=g), item_text=torch.randn(b, 3, generator=g),
                    history_text=torch.randn(b, 1, 3, generator=g))


def test_helper_contrasts_each_distinct_user_and_item_once() -> None:
    batch = ctr_batch([4, 7, 4, 2], [1, 1, 3, 5], seed=0)
    batch = replace(batch, user_text=batch.user_text[[0, 1, 0, 3]], item_text=batch.item_text[[0, 0, 2, 3]])
    partners = ctr_batch([7, 2, 7, 4], [3, 3, 5, 1], seed=1)
    terms = knowledge_contrast(TextAsRepresentation(), batch, partners, temperature=0.1)
    users, items = [0, 1, 3], [0, 2, 3]   # first rows of users 4, 7, 2 and items 1, 3, 5
    expected_uu = info_nce(batch.user_text[users], partners.user_text[users], 0.1)
    expected_ii = info_nce(batch.item_text[items], partners.item_text[items], 0.1)
    assert torch.allclose(terms["uu"], expected_uu) and torch.allclose(terms["ii"], expected_ii)
    assert not torch.allclose(terms["uu"], info_nce(batch.user_text, partners.user_text, 0.1))


def test_eq4_total_and_when_contrast_is_skipped() -> None:
    batch, partners = ctr_batch([0, 1, 2], [0, 1, 2], 0), ctr_batch([1, 2, 0], [2, 0, 1], 1)
    task = {"bce": torch.tensor(0.7), "task": torch.tensor(0.7)}
    model = TextAsRepresentation()
    terms = with_contrast(task, model, batch, partners, weight=0.004, temperature=0.03)
    assert torch.allclose(terms["total"], 0.7 + 0.004 * (terms["uu"] + terms["ii"])) and terms["uu"] > 0
    assert with_contrast(task, model, batch, None, 0.004, 0.03)["total"] == 0.7
    assert "uu" not in with_contrast(task, model, batch, partners, 0.0, 0.03)


def spec() -> FeatureSpec:
    return FeatureSpec(n_users=10, n_items=12, text_dim=6)


def test_contrast_trains_the_adapters_and_only_what_feeds_the_representations() -> None:
    torch.manual_seed(0)
    model = build_ctr_model("din", spec(), embedding_dim=4, mlp_dims=(8,), adapter_hidden=8)
    batch, partners = ctr_batch(list(range(6)), list(range(6)), 0), ctr_batch([1, 2, 3, 4, 5, 0], [5, 4, 3, 2, 1, 0], 1)
    batch = replace(batch, user_text=torch.randn(6, 6), item_text=torch.randn(6, 6), history_text=torch.randn(6, 1, 6))
    partners = replace(partners, user_text=torch.randn(6, 6), item_text=torch.randn(6, 6))
    terms = knowledge_contrast(model, batch, partners)
    (terms["uu"] + terms["ii"]).backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert grads["features.user_adapter.net.0.weight"].abs().sum() > 0
    assert grads["features.item_adapter.net.2.weight"].abs().sum() > 0
    assert grads["dnn.0.weight"] is None and grads["features.user_id.weight"] is None

    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    before = sum(knowledge_contrast(model, batch, partners).values()).item()
    for _ in range(20):
        optimizer.zero_grad()
        sum(knowledge_contrast(model, batch, partners).values()).backward()
        optimizer.step()
    assert sum(knowledge_contrast(model, batch, partners).values()).item() < 0.5 * before


def test_a_contrast_head_scores_a_projection_and_trains_with_the_adapters() -> None:
    torch.manual_seed(0)
    plain = build_ctr_model("din", spec(), embedding_dim=4, mlp_dims=(8,), adapter_hidden=8)
    headed = build_ctr_model("din", spec(), embedding_dim=4, mlp_dims=(8,), adapter_hidden=8, contrast_head=True)
    assert plain.contrast_head is None and "contrast_head.0.weight" not in plain.state_dict()
    headed.load_state_dict({**headed.state_dict(), **plain.state_dict()})  # same backbone, head on top
    batch, partners = ctr_batch(list(range(6)), list(range(6)), 0), ctr_batch([1, 2, 3, 4, 5, 0], [5, 4, 3, 2, 1, 0], 1)
    batch = replace(batch, user_text=torch.randn(6, 6), item_text=torch.randn(6, 6), history_text=torch.randn(6, 1, 6))
    partners = replace(partners, user_text=torch.randn(6, 6), item_text=torch.randn(6, 6))
    user_v, user_p = headed.user_representation(batch), headed.user_representation(partners)
    expected = info_nce(headed.contrast_head(user_v), headed.contrast_head(user_p))
    terms = knowledge_contrast(headed, batch, partners)
    assert torch.allclose(terms["uu"], expected)
    assert not torch.allclose(terms["uu"], knowledge_contrast(plain, batch, partners)["uu"])
    (terms["uu"] + terms["ii"]).backward()
    grads = dict(headed.named_parameters())
    assert grads["contrast_head.0.weight"].grad.abs().sum() > 0
    assert grads["features.item_adapter.net.0.weight"].grad.abs().sum() > 0   # still shapes the adapter


def test_rerank_items_are_the_real_candidates_and_partners_must_match() -> None:
    torch.manual_seed(0)
    model = build_rerank_model("setrank", spec(), embedding_dim=4, adapter_hidden=8, hidden_dim=8, use_text=False)
    mask = torch.tensor([[True, True, False], [True, False, False]])

    def lists(items: list[list[int]], users: list[int]) -> RerankBatch:
        return RerankBatch(users=torch.tensor(users), user_fields=torch.zeros(2, 0, dtype=torch.long),
                           items=torch.tensor(items), item_fields=torch.zeros(2, 3, 0, dtype=torch.long),
                           genres=torch.zeros(2, 3, 0), mask=mask, labels=torch.zeros(2, 3))

    batch, partners = lists([[1, 2, 0], [3, 0, 0]], [0, 1]), lists([[4, 5, 0], [6, 0, 0]], [1, 0])
    terms = knowledge_contrast(model, batch, partners, temperature=0.5)
    table = model.features.item_id.weight
    assert torch.allclose(terms["ii"], info_nce(table[[1, 2, 3]], table[[4, 5, 6]], 0.5))
    with pytest.raises(ValueError, match="partners"):
        knowledge_contrast(model, batch, replace(partners, mask=torch.ones(2, 3, dtype=torch.bool)))
