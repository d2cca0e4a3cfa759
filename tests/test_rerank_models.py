"""One battery for every registered reranker (ID-only, text, text + contrast), a meta test that none is
left out, hand-checked padding masks, order (in)sensitivity and the listwise loss."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from recommender.errors import DataError, UnknownModelError
from recommender.features.batch import FeatureSpec, RerankBatch
from recommender.rerank import RerankModel, build_rerank_model
from recommender.rerank import registry as rerank_registry
from recommender.rerank.base import PADDED_LOGIT, listwise_softmax_loss

SMALL = {"embedding_dim": 4, "adapter_hidden": 8, "hidden_dim": 8}
RERANK_CASES: list[tuple[str, dict]] = [
    ("dlcm", {"local_heads": 2}),
    ("prm", {"ff_dim": 16, "head_dims": (8,), "max_list_size": 8}),
    ("setrank", {"ff_dim": 16, "head_dims": (8,)}),
    ("setrank", {"ff_dim": 16, "head_dims": (8,), "induced_points": 3}),
]
VARIANTS = {"id": (0, False), "text": (6, False), "text+contrast": (6, True)}   # text_dim, pass partners
CASES = [pytest.param(k, v, id=f"{name}{'-induced' if 'induced_points' in over else ''}-{v}")
         for k, (name, over) in enumerate(RERANK_CASES) for v in VARIANTS]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine lose a lot to them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_spec(text_dim: int = 6) -> FeatureSpec:
    return FeatureSpec(n_users=10, n_items=12, user_fields=(("gender", 3),), item_fields=(("year", 5),),
                       n_genres=4, text_dim=text_dim)


def rerank_batch(spec: FeatureSpec, seed: int = 0, lengths: tuple[int, ...] = (5, 3, 1, 4, 2, 5)) -> RerankBatch:
    """Random lists of the given lengths, padded at the end; each list's first candidate is liked."""
    g = torch.Generator().manual_seed(seed)
    b, n = len(lengths), max(lengths)
    mask = torch.arange(n)[None] < torch.tensor(lengths)[:, None]
    labels = ((torch.rand(b, n, generator=g) > 0.6) | (torch.arange(n)[None] == 0)).float() * mask
    text = lambda *shape: torch.randn(*shape, spec.text_dim, generator=g) if spec.text_dim else None
    return RerankBatch(
        users=torch.randint(spec.n_users, (b,), generator=g),
        user_fields=torch.randint(3, (b, 1), generator=g),
        items=torch.randint(spec.n_items, (b, n), generator=g) * mask,
        item_fields=torch.randint(5, (b, n, 1), generator=g),
        genres=(torch.rand(b, n, spec.n_genres, generator=g) > 0.5).float(),
        mask=mask, labels=labels, user_text=text(b), item_text=text(b, n))


def build(case: int, text_dim: int, seed: int = 0, **overrides) -> RerankModel:
    name, case_overrides = RERANK_CASES[case]
    torch.manual_seed(seed)
    return build_rerank_model(name, tiny_spec(text_dim), **(SMALL | case_overrides | overrides))


def losses(model: RerankModel, batch: RerankBatch, contrast: bool) -> dict[str, torch.Tensor]:
    other = rerank_batch(tiny_spec(model.spec.text_dim), seed=1)
    partners = replace(batch, users=other.users, items=other.items, user_text=other.user_text, item_text=other.item_text)
    return model.loss(batch, partners if contrast else None)


def test_every_registered_reranker_has_a_case() -> None:
    assert set(rerank_registry.names()) == {name for name, _ in RERANK_CASES}


@pytest.mark.parametrize(("case", "variant"), CASES)
def test_shapes_masks_and_loss_terms(case: int, variant: str) -> None:
    text_dim, contrast = VARIANTS[variant]
    model, batch = build(case, text_dim), rerank_batch(tiny_spec(text_dim))
    logits = model(batch)
    assert logits.shape == (6, 5)
    assert (logits[~batch.mask] == PADDED_LOGIT).all() and (logits[batch.mask] > PADDED_LOGIT / 2).all()
    assert model.user_representation(batch).shape == (6, 4)
    assert model.item_representation(batch).shape == (int(batch.mask.sum()), 4)
    terms = losses(model, batch, contrast)
    assert torch.isfinite(terms["total"]) and ("uu" in terms) == contrast


@pytest.mark.parametrize(("case", "variant"), CASES)
def test_training_lowers_the_loss_on_a_fixed_batch(case: int, variant: str) -> None:
    text_dim, contrast = VARIANTS[variant]
    model, batch = build(case, text_dim), rerank_batch(tiny_spec(text_dim))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    with torch.no_grad():
        before = losses(model.eval(), batch, contrast)
    model.train()
    for _ in range(30):
        optimizer.zero_grad()
        losses(model, batch, contrast)["total"].backward()
        optimizer.step()
    with torch.no_grad():
        after = losses(model.eval(), batch, contrast)
    assert after["total"] < 0.8 * before["total"], (before, after)
    assert after["listwise"] < 0.8 * before["listwise"], (before, after)


@pytest.mark.parametrize(("case", "variant"), CASES)
def test_save_and_load_round_trip(case: int, variant: str, tmp_path) -> None:
    text_dim, _ = VARIANTS[variant]
    model, batch = build(case, text_dim, seed=0).eval(), rerank_batch(tiny_spec(text_dim))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    loaded = build(case, text_dim, seed=1).eval()
    assert not torch.equal(loaded(batch), model(batch))
    loaded.load_state_dict(torch.load(tmp_path / "model.pt"))
    assert torch.equal(loaded(batch), model(batch))
    assert torch.equal(loaded.item_representation(batch), model.item_representation(batch))


@pytest.mark.parametrize(("case", "variant"), CASES)
def test_deterministic_under_a_seed(case: int, variant: str) -> None:
    text_dim, contrast = VARIANTS[variant]
    batch = rerank_batch(tiny_spec(text_dim))

    def trained(seed: int) -> torch.Tensor:
        model = build(case, text_dim, seed=seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(3):
            optimizer.zero_grad()
            losses(model, batch, contrast)["total"].backward()
            optimizer.step()
        return model.eval()(batch)

    assert torch.equal(trained(5), trained(5))
    assert not torch.equal(trained(5), trained(6))


@pytest.mark.parametrize("case", range(len(RERANK_CASES)))
def test_padded_candidates_change_nothing(case: int) -> None:
    model, batch = build(case, 6).eval(), rerank_batch(tiny_spec(6))
    pad = ~batch.mask
    noisy = replace(batch, items=torch.where(pad, torch.randint(12, pad.shape), batch.items),
                    item_fields=torch.where(pad[..., None], 4, batch.item_fields),
                    genres=torch.where(pad[..., None], 1.0, batch.genres),
                    item_text=torch.where(pad[..., None], torch.randn_like(batch.item_text) * 9, batch.item_text),
                    labels=torch.where(pad, 1.0, batch.labels))
    assert torch.equal(model(noisy), model(batch))
    assert torch.equal(model.loss(noisy)["total"], model.loss(batch)["total"])
    real = replace(batch, item_text=batch.item_text + 1.0)   # a real candidate does matter
    assert not torch.allclose(model(real)[batch.mask], model(batch)[batch.mask])


def _permuted(batch: RerankBatch, order: torch.Tensor) -> RerankBatch:
    """The same lists with candidates in ``order`` (full lists only)."""
    return replace(batch, items=batch.items[:, order], item_fields=batch.item_fields[:, order],
                   genres=batch.genres[:, order], item_text=batch.item_text[:, order], labels=batch.labels[:, order])


@pytest.mark.parametrize("case", range(len(RERANK_CASES)))
def test_only_setrank_ignores_the_initial_order(case: int) -> None:
    model = build(case, 6).eval()
    batch = rerank_batch(tiny_spec(6), lengths=(5, 5, 5))
    order = torch.tensor([3, 0, 4, 1, 2])
    reordered = model(_permuted(batch, order))
    equivariant = torch.allclose(reordered, model(batch)[:, order], atol=1e-5)
    assert equivariant == (RERANK_CASES[case][0] == "setrank")


def test_listwise_loss_by_hand() -> None:
    logits = torch.tensor([[1.0, 2.0, 7.0], [0.0, 0.0, 0.0], [3.0, 1.0, 0.0]])
    labels = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True], [True, True, True]])
    # list 0: one positive among two real candidates (the padded one's label is ignored); list 1 has no
    # positive and is skipped; list 2: two positives, each half of the target
    first = -math.log(math.exp(2) / (math.exp(1) + math.exp(2)))
    z = math.exp(3) + math.exp(1) + 1
    third = -(math.log(math.exp(3) / z) + math.log(math.exp(1) / z)) / 2
    assert listwise_softmax_loss(logits, labels, mask).item() == pytest.approx((first + third) / 2, abs=1e-6)


def test_bce_loss_kind_is_pointwise_over_real_candidates() -> None:
    model, batch = build(0, 0, loss_kind="bce").eval(), rerank_batch(tiny_spec(0))
    logits, labels = model(batch)[batch.mask], batch.labels[batch.mask]
    by_hand = -(labels * torch.sigmoid(logits).log() + (1 - labels) * torch.sigmoid(-logits).log()).mean()
    assert model.loss(batch)["bce"].item() == pytest.approx(by_hand.item(), abs=1e-6)


def test_prm_rejects_lists_longer_than_its_positions() -> None:
    with pytest.raises(DataError, match="max_list_size"):
        build(1, 0, max_list_size=4)(rerank_batch(tiny_spec(0)))


def test_unknown_reranker_lists_the_names() -> None:
    with pytest.raises(UnknownModelError, match="dlcm, prm, setrank"):
        build_rerank_model("listnet", tiny_spec())


def _lists_of_lengths(*lengths: int):
    import numpy as np

    from recommender.rerank.lists import CandidateLists, ListArrays

    width = max(lengths)
    mask = np.array([[k < n for k in range(width)] for n in lengths])
    zeros = np.zeros(mask.shape)
    arrays = ListArrays(np.arange(len(lengths)), zeros.astype(np.int64), zeros.astype(np.float32), mask, None)
    return CandidateLists(data=None, name="sampled", splits={"train": arrays})  # type: ignore[arg-type]


def test_prm_positions_are_sized_to_the_longest_stored_list() -> None:
    """Sampled lists hold every test positive, so some exceed PRM's default 64 positions (185 on ml-100k)."""
    from recommender.rerank.trainer import _fit_list_size

    lists = _lists_of_lengths(10, 185, 3)
    assert lists.longest_list == 185
    assert _fit_list_size("prm", lists, {})["max_list_size"] == 185
    assert _fit_list_size("prm", lists, {"max_list_size": 300})["max_list_size"] == 300  # explicit wins
    assert "max_list_size" not in _fit_list_size("dlcm", lists, {})  # no position table


def test_prm_position_table_starts_small() -> None:
    """N(0, 1) positions drowned the candidates' features on random-order lists; they start at std 0.02."""
    from recommender.rerank.prm import POSITION_INIT_STD

    model = build(1, 0, max_list_size=4096)
    assert abs(float(model.positions.weight.detach().std()) - POSITION_INIT_STD) < 0.002
