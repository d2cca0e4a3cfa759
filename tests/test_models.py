"""One battery for every registered ranking model (shapes and gradients, one optimizer step, save and
load, the same run on the same seed, learning, resuming), plus a meta test that none is left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recommender import registry
from recommender.config import resolve_config
from recommender.data import RecData
from recommender.errors import ModelConfigError, TrainingError
from recommender.models import MODELS, RankingModel, build_model
from recommender.models.configs import CIKGRecConfig, LightGCNConfig, RankingConfig
from recommender.trainer import Trainer


def synthetic_data(with_side: bool = True, seed: int = 0) -> RecData:
    """Two user communities, each liking one half of the items; KG and interests agree with them."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 40, 30
    pairs = []
    for user in range(n_users):
        half = np.arange(0, 15) if user < 20 else np.arange(15, 30)
        pairs += [(user, int(i)) for i in rng.choice(half, 8, replace=False)]
    pairs = np.array(pairs)
    rng.shuffle(pairs)
    train, valid, test = pairs[:200], pairs[200:240], pairs[240:]
    data = RecData("synthetic", n_users, n_items, train, valid, test)
    if with_side:
        data.n_entities, data.n_relations, data.n_interests = 32, 2, 2
        data.item_entity = np.arange(n_items)
        data.triples = np.array([(i, 0, 30 if i < 15 else 31) for i in range(n_items)] + [(30, 1, 31)])
        data.user_interests = np.array([(u, 0 if u < 20 else 1) for u in range(n_users)])
    else:
        data.item_entity = np.full(n_items, -1)
    return data


MODEL_CASES = {
    "bprmf": {},
    "lightgcn": {},
    "simgcl": {"cl_weight": 0.02},
    "sgl": {"n_layers": 2},
    "cke": {"kg_batch_size": 32},
    "cfkg": {},
    "cikgrec": {"n_layers": 2},
    "kgrec-sr": {"mask_size": 4},
    "kgat": {"layer_sizes": (16, 8), "kg_batch_size": 128, "kg_lr": 0.01},
    "kgin": {"context_hops": 2, "node_dropout": 0.1},
    "kgcl": {"n_layers": 2, "attention_dropout": 0.1, "transe_batch_size": 16},
    "mcclk": {"node_dropout": 0.1, "local_weight": 0.01, "global_weight": 0.01},
}


def test_every_registered_model_has_a_case() -> None:
    """A model in ``recommender.registry`` without a case here has never run through this battery."""
    missing = set(registry.model_names()) - set(MODEL_CASES)
    assert not missing, f"registered ranking models without a case in MODEL_CASES: {sorted(missing)}"
    assert set(MODELS) == set(registry.model_names())


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_registry_entry_matches_the_class(name: str) -> None:
    """The table's config class (read without torch) is the one the class builds with."""
    cls = registry.model_class(name)
    assert issubclass(cls, RankingModel) and cls.name == name
    assert cls.config_class is registry.config_class(name)
    assert registry.embedding_property(name) == f"emb_{name.replace('-', '_')}"


def test_each_model_reads_only_its_own_config() -> None:
    lightgcn, _ = resolve_config("lightgcn", "synthetic")
    assert type(lightgcn) is LightGCNConfig and not hasattr(lightgcn, "use_kg")
    assert type(resolve_config("cikgrec", "synthetic")[0]) is CIKGRecConfig
    with pytest.raises(ModelConfigError, match="unknown setting.*for bprmf: n_layers"):
        resolve_config("bprmf", "synthetic", n_layers=3)
    with pytest.raises(ModelConfigError, match="needs a LightGCNConfig"):
        build_model("lightgcn", synthetic_data(), RankingConfig(), torch.device("cpu"))


def _trainer(name: str, seed: int = 7, epochs: int = 2) -> Trainer:
    model_config, train_config = resolve_config(name, "synthetic", embedding_dim=8, epochs=epochs, batch_size=64,
                                                seed=seed, min_epochs=0, patience=50, **MODEL_CASES[name])
    return Trainer(synthetic_data(), name, model_config, train_config, progress=False)


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_one_training_step_changes_the_parameters(name: str) -> None:
    trainer = _trainer(name)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    data = trainer.data
    losses = trainer._step(data.train[:32, 0], data.train[:32, 1], trainer.sampler.sample(data.train[:32, 0]), 0)
    assert np.isfinite(losses["total"])
    assert any(not torch.equal(old, new) for old, new in zip(before, trainer.model.parameters(), strict=True))


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_saved_weights_load_into_a_fresh_model(name: str, tmp_path) -> None:
    trained = _trainer(name, epochs=1).fit()
    torch.save(trained.model.state_dict(), tmp_path / "model.pt")
    fresh = _trainer(name, seed=99).model
    fresh.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    trained.model.eval()
    fresh.eval()
    with torch.no_grad():
        for ours, theirs in zip(fresh.final_embeddings(), trained.model.final_embeddings(), strict=True):
            assert torch.equal(ours, theirs)


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_the_same_seed_gives_the_same_run(name: str) -> None:
    """Bit for bit on one thread; several threads may sum a loss term in another order (last digits)."""
    first, second = _trainer(name).fit(), _trainer(name).fit()
    for ours, theirs in zip(first.history, second.history, strict=True):
        assert ours == pytest.approx(theirs, rel=1e-6)
    assert first.test == pytest.approx(second.test, rel=1e-6) and first.best_epoch == second.best_epoch


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_batch_loss_is_finite_and_backpropagates(name: str) -> None:
    data = synthetic_data()
    model_config, _ = resolve_config(name, "synthetic", embedding_dim=8, **MODEL_CASES[name])
    model = build_model(name, data, model_config, torch.device("cpu"))
    users, pos = torch.from_numpy(data.train[:16, 0]), torch.from_numpy(data.train[:16, 1])
    neg = torch.randint(0, data.n_items, (16,))
    losses = model.batch_loss(users, pos, neg, epoch=0)
    assert torch.isfinite(losses["total"])
    losses["total"].backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    user_emb, item_emb = model.final_embeddings()
    width = 8 + sum(model_config.layer_sizes) if name == "kgat" else 8   # KGAT concatenates its layers (Eq. 11)
    width = 16 if name == "mcclk" else width                               # MCCLK joins global and local views
    assert user_emb.shape == (data.n_users, width) and item_emb.shape == (data.n_items, width)
    assert model.score_users(torch.tensor([0, 1])).shape == (2, data.n_items)


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_training_learns_the_communities(name: str) -> None:
    data = synthetic_data()
    model_config, train_config = resolve_config(name, "synthetic", embedding_dim=16, epochs=40, batch_size=64,
                                                lr=0.02, patience=40, ks=(5,), select_metric="recall@5",
                                                **MODEL_CASES[name])
    result = Trainer(data, name, model_config, train_config, progress=False).fit()
    # random ranking among 30 items would give recall@5 near 5/30 = 0.17
    assert result.test["recall@5"] > 0.3, result.test
    assert result.best_epoch >= 0 and len(result.history) == result.epochs_run


def test_cikgrec_without_side_information_says_so() -> None:
    data = synthetic_data(with_side=False)
    model_config, _ = resolve_config("cikgrec", "synthetic", embedding_dim=8, n_layers=2)
    model = build_model("cikgrec", data, model_config, torch.device("cpu"))
    assert any("no user interests" in note for note in model.notes)
    assert any("no KG" in note for note in model.notes)
    losses = model.batch_loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]), 0)
    assert "reconstruction" not in losses and torch.isfinite(losses["total"])


def test_ablation_switches_remove_their_terms() -> None:
    data = synthetic_data()
    for switch, term in (("use_reconstruction", "reconstruction"), ("use_contrastive", "cl")):
        model_config, _ = resolve_config("cikgrec", "synthetic", embedding_dim=8, n_layers=2, **{switch: False})
        model = build_model("cikgrec", data, model_config, torch.device("cpu"))
        losses = model.batch_loss(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([2, 3]), 0)
        assert term not in losses


def test_nan_loss_is_a_clear_error() -> None:
    data = synthetic_data()
    model_config, train_config = resolve_config("bprmf", "synthetic", embedding_dim=8, epochs=2, batch_size=64)
    trainer = Trainer(data, "bprmf", model_config, train_config, progress=False)
    with torch.no_grad():
        trainer.model.user_embedding[0] = float("nan")
    with pytest.raises(TrainingError, match="loss became nan at epoch 0"):
        trainer.fit()


def test_killed_run_resumes_from_checkpoint(tmp_path) -> None:
    data = synthetic_data()
    model_config, short = resolve_config("lightgcn", "synthetic", embedding_dim=8, epochs=2, batch_size=64)
    first = Trainer(data, "lightgcn", model_config, short, checkpoint_dir=tmp_path, progress=False).fit()
    _, longer = resolve_config("lightgcn", "synthetic", embedding_dim=8, epochs=4, batch_size=64)
    resumed = Trainer(data, "lightgcn", model_config, longer, checkpoint_dir=tmp_path, progress=False).fit()
    assert resumed.epochs_run == 4
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]
    assert resumed.history[:2] == first.history  # epochs 0-1 were not trained again


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_resumed_run_trains_as_if_never_stopped(name, tmp_path) -> None:
    """Stopped after 2 epochs and resumed to 4, a run matches an uninterrupted one: the optimizers
    (CIKGRec's TransE Adam too), random states and schedules all come back from the checkpoint."""
    data = synthetic_data()
    settings = {"embedding_dim": 8, "batch_size": 64, "min_epochs": 0, "patience": 50, **MODEL_CASES[name]}
    model_config, four = resolve_config(name, "synthetic", epochs=4, **settings)
    _, two = resolve_config(name, "synthetic", epochs=2, **settings)
    straight = Trainer(data, name, model_config, four, progress=False).fit()
    Trainer(data, name, model_config, two, checkpoint_dir=tmp_path, progress=False).fit()
    resumed = Trainer(data, name, model_config, four, checkpoint_dir=tmp_path, progress=False).fit()
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]
    for ours, theirs in zip(resumed.history, straight.history, strict=True):
        assert ours == pytest.approx(theirs, rel=1e-5), (ours, theirs)
