"""CKE's own maths on a tiny KG: the TransR term and the item vectors (free + entity) against a hand
computation, the joint loss; the error on a dataset with no KG."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from kg_fixtures import tiny_kg_data, tiny_kg_model

from recommender.errors import DataError
from recommender.models import build_model
from recommender.models.configs import CKEConfig


def tiny_model(**settings) -> torch.nn.Module:
    return tiny_kg_model("cke", CKEConfig(embedding_dim=3, relation_dim=2, **settings))


def test_transr_term_matches_the_hand_computation() -> None:
    """f_r(h, t) = ||n(v_h M_r) + n(r) - n(v_t M_r)||^2 (n: unit length); loss -ln sigma(f(h, t') - f(h, t))."""
    model = tiny_model()
    v, relations, m = (p.detach() for p in (model.entity_embedding, model.relation_embedding, model.projection))
    expected = []
    for head, relation, tail, wrong in [(1, 1, 2, 0), (0, 0, 3, 1)]:
        h, t, t_wrong = (F.normalize(v[e] @ m[relation], dim=0) for e in (head, tail, wrong))
        r = F.normalize(relations[relation], dim=0)
        plausible, corrupted = (h + r - t).pow(2).sum(), (h + r - t_wrong).pow(2).sum()
        expected.append(-torch.log(torch.sigmoid(corrupted - plausible)))
    loss = model.transr_loss(torch.tensor([1, 0]), torch.tensor([1, 0]), torch.tensor([2, 3]), torch.tensor([0, 1]))
    assert loss.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)


def test_items_are_free_plus_entity_vectors_and_the_loss_is_joint() -> None:
    model = tiny_model(kg_batch_size=4, l2=0.0)
    users, items = model.final_embeddings()
    assert torch.equal(items, model.item_embedding + model.entity_embedding[:3])
    assert torch.allclose(model.score_users(torch.tensor([1])), users[1:2] @ items.T)
    u, pos, neg = torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([2, 0])
    losses = model.batch_loss(u, pos, neg, epoch=0)
    margin = (users[u] * items[pos]).sum(1) - (users[u] * items[neg]).sum(1)
    assert losses["bpr"].item() == pytest.approx(F.softplus(-margin).mean().item(), rel=1e-6)
    assert losses["total"].item() == pytest.approx((losses["bpr"] + losses["kg"]).item(), rel=1e-6)
    losses["total"].backward()
    assert model.projection.grad.abs().sum() > 0 and model.relation_embedding.grad.abs().sum() > 0


def test_a_dataset_without_kg_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="CKE needs an item knowledge graph.*'tiny'"):
        build_model("cke", tiny_kg_data(with_kg=False), CKEConfig(), torch.device("cpu"))
