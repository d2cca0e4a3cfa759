"""One battery for every registered CTR backbone (ID-only, text, text + contrast), a meta test that none
is left out, and hand-checked masks and DIEN auxiliary loss."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from recommender.ctr import registry as ctr_registry
from recommender.ctr.models import CTRModel, build_ctr_model
from recommender.ctr.models.dien import DIEN, auxiliary_loss
from recommender.errors import DataError, ModelConfigError, UnknownModelError
from recommender.features.batch import CTRBatch, FeatureSpec

SMALL = {"embedding_dim": 4, "mlp_dims": (8,), "adapter_hidden": 8}
CTR_CASES: dict[str, dict] = {"deepfm": {}, "din": {"attention_dims": (8,)}, "dien": {"aux_dims": (8,)}}
VARIANTS = {"id": (0, False), "text": (6, False), "text+contrast": (6, True)}   # text_dim, pass partners
CASES = [(name, variant) for name in sorted(CTR_CASES) for variant in VARIANTS]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine lose a lot to them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_spec(text_dim: int = 6) -> FeatureSpec:
    return FeatureSpec(n_users=10, n_items=12, user_fields=(("gender", 3), ("age", 4)), item_fields=(("year", 5),),
                       n_genres=4, text_dim=text_dim, max_history=5)


def ctr_batch(spec: FeatureSpec, seed: int = 0, lengths: tuple[int, ...] = (5, 3, 0, 1, 2, 4, 5, 3)) -> CTRBatch:
    """Random samples; history lengths as given (one empty), padded with 0 at the end."""
    g = torch.Generator().manual_seed(seed)
    b, length = len(lengths), max(lengths)
    mask = torch.arange(length)[None] < torch.tensor(lengths)[:, None]
    text = lambda *shape: torch.randn(*shape, spec.text_dim, generator=g) if spec.text_dim else None
    return CTRBatch(
        users=torch.randint(spec.n_users, (b,), generator=g), items=torch.randint(spec.n_items, (b,), generator=g),
        user_fields=torch.stack([torch.randint(size, (b,), generator=g) for _, size in spec.user_fields], 1),
        item_fields=torch.stack([torch.randint(size, (b,), generator=g) for _, size in spec.item_fields], 1),
        genres=(torch.rand(b, spec.n_genres, generator=g) > 0.5).float(),
        history_items=torch.randint(spec.n_items, (b, length), generator=g) * mask, history_mask=mask,
        labels=torch.tensor([1.0, 0.0] * (b // 2)),
        user_text=text(b), item_text=text(b), history_text=text(b, length),
    )


def build(name: str, text_dim: int, seed: int = 0, **overrides) -> CTRModel:
    torch.manual_seed(seed)
    return build_ctr_model(name, tiny_spec(text_dim), **(SMALL | CTR_CASES[name] | overrides))


def partners_of(batch: CTRBatch, seed: int = 1) -> CTRBatch:
    """Stand-in SWING partners: another sample's user and item (ids and text) for every row."""
    other = ctr_batch(tiny_spec(batch.user_text.shape[-1]) if batch.user_text is not None else tiny_spec(0), seed)
    return replace(batch, users=other.users, items=other.items, user_text=other.user_text, item_text=other.item_text)


def losses(model: CTRModel, batch: CTRBatch, contrast: bool) -> dict[str, torch.Tensor]:
    return model.loss(batch, partners_of(batch) if contrast else None)


def test_every_registered_ctr_model_has_a_case() -> None:
    assert set(ctr_registry.names()) == set(CTR_CASES)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_shapes_and_loss_terms(name: str, variant: str) -> None:
    text_dim, contrast = VARIANTS[variant]
    model, batch = build(name, text_dim), ctr_batch(tiny_spec(text_dim))
    assert model(batch).shape == (8,)
    assert model.predict(batch).min() >= 0 and model.predict(batch).max() <= 1
    assert model.user_representation(batch).shape == model.item_representation(batch).shape == (8, 4)
    terms = losses(model, batch, contrast)
    assert torch.isfinite(terms["total"])
    if contrast:
        expected = terms["task"] + model.config.contrast_weight * (terms["uu"] + terms["ii"])
        assert torch.allclose(terms["total"], expected) and terms["uu"] > 0
    else:
        assert "uu" not in terms and torch.equal(terms["total"], terms["task"])


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_training_lowers_the_loss_on_a_fixed_batch(name: str, variant: str) -> None:
    text_dim, contrast = VARIANTS[variant]
    model, batch = build(name, text_dim), ctr_batch(tiny_spec(text_dim))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model.eval()
    with torch.no_grad():
        before = losses(model, batch, contrast)
    model.train()
    for _ in range(30):
        optimizer.zero_grad()
        losses(model, batch, contrast)["total"].backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = losses(model, batch, contrast)
    assert after["total"] < 0.8 * before["total"], (before, after)
    assert after["bce"] < 0.5 * before["bce"], (before, after)   # DIEN's aux term cannot reach 0: random negatives


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_save_and_load_round_trip(name: str, variant: str, tmp_path) -> None:
    text_dim, _ = VARIANTS[variant]
    model, batch = build(name, text_dim, seed=0), ctr_batch(tiny_spec(text_dim))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    loaded = build(name, text_dim, seed=1)
    assert not torch.equal(loaded.eval()(batch), model.eval()(batch))
    loaded.load_state_dict(torch.load(tmp_path / "model.pt"))
    assert torch.equal(loaded.eval()(batch), model(batch))
    assert torch.equal(loaded.user_representation(batch), model.user_representation(batch))


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_deterministic_under_a_seed(name: str, variant: str) -> None:
    text_dim, contrast = VARIANTS[variant]
    batch = ctr_batch(tiny_spec(text_dim))

    def trained(seed: int) -> torch.Tensor:
        model = build(name, text_dim, seed=seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(3):
            optimizer.zero_grad()
            losses(model, batch, contrast)["total"].backward()
            optimizer.step()
        return model.eval()(batch)

    assert torch.equal(trained(5), trained(5))
    assert not torch.equal(trained(5), trained(6))


@pytest.mark.parametrize("name", sorted(CTR_CASES))
def test_padded_history_positions_change_nothing(name: str) -> None:
    model, batch = build(name, 6).eval(), ctr_batch(tiny_spec(6))
    pad = ~batch.history_mask
    noisy = replace(batch, history_items=torch.where(pad, torch.randint(12, pad.shape), batch.history_items),
                    history_text=torch.where(pad[..., None], torch.randn_like(batch.history_text) * 9, batch.history_text))
    assert not torch.equal(noisy.history_items, batch.history_items)
    assert torch.equal(model(noisy), model(batch))
    real = replace(batch, history_text=batch.history_text + 1.0)   # a real position does matter
    assert not torch.allclose(model(real), model(batch))


@pytest.mark.parametrize("name", sorted(CTR_CASES))
def test_text_is_read_when_on_and_ignored_when_off(name: str) -> None:
    batch = ctr_batch(tiny_spec(6))
    changed = replace(batch, item_text=batch.item_text + 1.0, user_text=batch.user_text - 1.0)
    on, off = build(name, 6).eval(), build(name, 6, use_text=False).eval()
    assert not torch.allclose(on(changed), on(batch))
    assert torch.equal(off(changed), off(batch))
    assert not any("adapter" in key for key in off.state_dict()) and any("adapter" in key for key in on.state_dict())


def test_missing_text_is_a_clear_error() -> None:
    model = build("din", 6)
    with pytest.raises(DataError, match="item_text"):
        model(replace(ctr_batch(tiny_spec(6)), item_text=None))


def test_unknown_name_and_setting_are_clear_errors() -> None:
    with pytest.raises(UnknownModelError, match="deepfm, dien, din"):
        build_ctr_model("widedeep", tiny_spec())
    with pytest.raises(ModelConfigError, match="attention_dims"):
        build_ctr_model("din", tiny_spec(), attention_dim=(4,))
    with pytest.raises(ModelConfigError):
        build_ctr_model("deepfm", tiny_spec(), temperature=0.0)


def test_dien_auxiliary_loss_by_hand() -> None:
    """Dot-product scorer: step 0 scores +1 / 0, step 1 scores 0 / 2 (see the tensors)."""
    states = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    positives = torch.tensor([[[1.0, 1.0], [3.0, 0.0]]])
    negatives = torch.tensor([[[0.0, 1.0], [1.0, 1.0]]])
    dot = lambda h, e: (h * e).sum(-1)
    step0 = math.log(1 + math.exp(-1)) + math.log(2)
    step1 = math.log(2) + math.log(1 + math.exp(2))
    both = auxiliary_loss(states, positives, negatives, torch.tensor([[True, True]]), dot)
    first = auxiliary_loss(states, positives, negatives, torch.tensor([[True, False]]), dot)
    assert both.item() == pytest.approx((step0 + step1) / 2, abs=1e-6)
    assert first.item() == pytest.approx(step0, abs=1e-6)


def test_dien_model_auxiliary_loss_uses_the_next_real_click() -> None:
    """Item k embeds as [k, 0] and g sums the item vector: row 0 has one real step pair (1 -> 3), row 1 none."""
    model = build("dien", 0, embedding_dim=2, aux_dims=())
    with torch.no_grad():
        model.features.item_id.weight.copy_(torch.stack([torch.arange(12.0), torch.zeros(12)], 1))
        model.aux_net[0].weight.copy_(torch.tensor([[0.0, 0.0, 1.0, 1.0]]))
        model.aux_net[0].bias.zero_()
    mask = torch.tensor([[True, True, False], [True, False, False]])
    history = model.features.sequence(torch.tensor([[1, 3, 7], [2, 5, 5]]), None).flatten(2)
    states = torch.randn(2, 3, 2)
    negatives = torch.tensor([1.0, 0.0]).expand(2, 2, 2)
    aux = model.aux_loss(history, states, mask, negatives)
    assert aux.item() == pytest.approx(math.log(1 + math.exp(-3)) + math.log(1 + math.exp(1)), abs=1e-6)


def test_dien_negatives_are_real_history_steps_and_seeded() -> None:
    model, batch = build("dien", 0), ctr_batch(tiny_spec(0))
    history = model.features.sequence(batch.history_items, None).flatten(2)
    negatives = model.sample_negatives(history, batch.history_mask)
    real = history[batch.history_mask]
    assert negatives.shape == (8, 4, 4)
    assert all((real == row).all(-1).any() for row in negatives.flatten(0, 1))
    again = DIEN(model.spec, model.config).sample_negatives(history, batch.history_mask)
    assert torch.equal(negatives, again)
