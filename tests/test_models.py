"""One battery for every registered ranking model, plus a meta test that none is left out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recommender.config import resolve_config
from recommender.data import RecData
from recommender.models import MODELS, build_model
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
    "cikgrec": {"n_layers": 2},
}


def test_every_registered_model_has_a_case() -> None:
    assert set(MODELS) == set(MODEL_CASES)


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
    assert user_emb.shape == (data.n_users, 8) and item_emb.shape == (data.n_items, 8)
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
    from recommender.errors import TrainingError

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
