"""Evaluation protocols: valid, refit (retrain on all of train for the chosen epoch count) and
test-selected (the paper's, labelled), their checkpoints, the saved split, and the CLI plumbing."""

from __future__ import annotations

import json

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import kgrec.training as training
from kg_store.graph_export import SPLIT_CODES, GraphExport
from kgrec.cli import CliState, KgrecGroup
from kgrec.cli import train as cli_train
from kgrec.runs import memory_floor
from recommender.config import resolve_config
from recommender.data import RecData, from_export, read_valid_split, write_valid_split
from recommender.errors import DataError, TrainingError
from recommender.protocols import train_model
from recommender.trainer import TEST_SELECTED_NOTE, Trainer, TrainResult


def community_pairs(n_users: int = 40, n_items: int = 30, per_user: int = 8, seed: int = 0) -> np.ndarray:
    """Two user communities, each liking one half of the items."""
    rng = np.random.default_rng(seed)
    half = n_items // 2
    return np.array([(u, int(i)) for u in range(n_users)
                     for i in rng.choice(np.arange(half) + (0 if u < n_users // 2 else half), per_user, replace=False)])


def synthetic_data() -> RecData:
    pairs = community_pairs()
    order = np.random.default_rng(1).permutation(len(pairs))
    pairs = pairs[order]
    train, valid, test = pairs[:200], pairs[200:250], pairs[250:]
    data = RecData("synthetic", 40, 30, train, valid, test)
    data.item_entity = np.full(30, -1)
    return data


def synthetic_export(with_valid: bool = False) -> GraphExport:
    """Users 100, 102, ...; items 7, 10, ...: ids differ from indices. Two of each user's 8 items are test."""
    pairs = community_pairs()
    split = np.array([SPLIT_CODES["test"] if k % 8 >= 6 else SPLIT_CODES["valid"] if with_valid and k % 8 == 5
                      else SPLIT_CODES["train"] for k in range(len(pairs))], dtype=np.int8)
    empty2 = np.zeros((0, 2), np.int64)
    return GraphExport(dataset="synthetic", cache_key="k", user_ids=100 + 2 * np.arange(40),
                       item_ids=7 + 3 * np.arange(30), entity_ids=np.zeros(0, np.int64),
                       interest_ids=np.zeros(0, np.int64), relation_types=[], interactions=pairs,
                       interaction_split=split, item_entities=empty2, triples=np.zeros((0, 3), np.int64),
                       user_interests=empty2)


def configs(protocol: str, **overrides):
    settings = {"embedding_dim": 8, "epochs": 6, "batch_size": 64, "lr": 0.02, "patience": 2, "ks": (5,),
                "select_metric": "recall@5", **overrides}
    return resolve_config("lightgcn", "synthetic", protocol=protocol, **settings)


def as_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(i)) for u, i in pairs}


class Recorder:
    """Records every trained epoch (trainer, epoch, train pairs) and evaluation (trainer, split);
    ``scripted[split]`` replaces that split's metric by the given values, one per evaluation."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, scripted: dict[str, list[float]] | None = None) -> None:
        self.epochs: list[tuple[int, int, frozenset]] = []
        self.evaluations: list[tuple[int, str]] = []
        self.seen: list[Trainer] = []  # kept alive, so that their ids stay unique
        self.scripted = {split: list(values) for split, values in (scripted or {}).items()}
        train_epoch, evaluate = Trainer.train_epoch, Trainer.evaluate
        recorder = self

        def recording_epoch(trainer: Trainer, epoch: int) -> dict[str, float]:
            recorder.seen.append(trainer)
            recorder.epochs.append((id(trainer), epoch, frozenset(as_set(trainer.data.train))))
            return train_epoch(trainer, epoch)

        def recording_evaluate(trainer: Trainer, split: str) -> dict[str, np.ndarray]:
            recorder.seen.append(trainer)
            recorder.evaluations.append((id(trainer), split))
            if split in recorder.scripted:
                value = recorder.scripted[split].pop(0) if len(recorder.scripted[split]) > 1 \
                    else recorder.scripted[split][0]
                return {"recall@5": np.array([value]), "ndcg@5": np.array([value / 2]), "users": np.array([0])}
            return evaluate(trainer, split)

        monkeypatch.setattr(Trainer, "train_epoch", recording_epoch)
        monkeypatch.setattr(Trainer, "evaluate", recording_evaluate)

    def trainers(self) -> list[int]:
        return list(dict.fromkeys(trainer for trainer, *_ in self.epochs))


# -- refit -------------------------------------------------------------------------------------------
def test_refit_trains_a_fresh_model_for_exactly_the_chosen_epochs_on_train_and_valid(monkeypatch) -> None:
    data = synthetic_data()
    model_config, train_config = configs("refit")
    # valid recall@5 per evaluation: best at epoch 1, then two evaluations without improvement
    recorder = Recorder(monkeypatch, {"valid": [0.1, 0.4, 0.2, 0.3, 0.4]})
    result = train_model(data, "lightgcn", model_config, train_config)
    assert result.protocol == "refit" and result.best_epoch == 1 and result.epochs_run == 4
    assert result.refit_epochs == 2
    chosen, refit = recorder.trainers()
    assert [(e, train) for t, e, train in recorder.epochs if t == chosen] == [(e, as_set(data.train)) for e in range(4)]
    refit_epochs = [(e, train) for t, e, train in recorder.epochs if t == refit]
    assert [e for e, _ in refit_epochs] == [0, 1]  # exactly E = best epoch + 1 epochs
    assert all(train == as_set(data.train) | as_set(data.valid) for _, train in refit_epochs)  # saw the valid pairs
    assert [split for t, split in recorder.evaluations if t == refit] == ["test"]  # no evaluation, test once
    metrics = result.metrics()
    assert metrics["protocol"] == "refit" and metrics["refit_epochs"] == 2
    assert metrics["valid_protocol_test"] == result.valid_protocol_test and set(result.valid_protocol_test) == {
        "recall@5", "ndcg@5"}


def test_refit_is_deterministic_and_keeps_the_valid_protocols_result() -> None:
    data = synthetic_data()
    model_config, train_config = configs("refit", epochs=5, patience=5)
    first = train_model(data, "lightgcn", model_config, train_config)
    again = train_model(data, "lightgcn", model_config, train_config)
    assert first.test == again.test and first.refit_epochs == again.refit_epochs
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(),
                                                  again.model.state_dict().values(), strict=True))
    _, valid_config = configs("valid", epochs=5, patience=5)
    valid = train_model(data, "lightgcn", model_config, valid_config)
    assert (first.valid, first.best_epoch, first.valid_protocol_test) == (valid.valid, valid.best_epoch, valid.test)
    # the refit model is a fresh one trained on all of train for E epochs, seeded alike
    _, fixed = configs("refit", epochs=first.refit_epochs)
    by_hand = Trainer(data.without_validation(), "lightgcn", model_config, fixed, progress=False).fit_epochs()
    assert by_hand.test == first.test


def test_trainer_fit_runs_the_configured_protocol() -> None:
    data = synthetic_data()
    for protocol in ("refit", "test-selected"):
        model_config, train_config = configs(protocol, epochs=3, patience=3)
        by_fit = Trainer(data, "lightgcn", model_config, train_config, progress=False).fit()
        by_protocol = train_model(data, "lightgcn", model_config, train_config)
        assert by_fit.protocol == protocol and (by_fit.test, by_fit.best_epoch) == (by_protocol.test,
                                                                                    by_protocol.best_epoch)


def test_refit_resumes_both_phases_from_their_checkpoints(monkeypatch, tmp_path) -> None:
    data = synthetic_data()
    model_config, train_config = configs("refit", epochs=4, patience=4)
    first = train_model(data, "lightgcn", model_config, train_config, checkpoint_dir=tmp_path)
    assert (tmp_path / "valid" / "checkpoint.pt").exists() and (tmp_path / "refit" / "checkpoint.pt").exists()

    def no_training(self, epoch):
        raise AssertionError(f"epoch {epoch} was trained again")

    monkeypatch.setattr(Trainer, "train_epoch", no_training)
    resumed = train_model(data, "lightgcn", model_config, train_config, checkpoint_dir=tmp_path)
    assert (resumed.test, resumed.refit_epochs, resumed.valid) == (first.test, first.refit_epochs, first.valid)


# -- test-selected -----------------------------------------------------------------------------------
def test_test_selected_picks_the_best_epoch_on_test_and_is_labelled(monkeypatch) -> None:
    data = synthetic_data()
    model_config, train_config = configs("test-selected", epochs=8, patience=2)
    recorder = Recorder(monkeypatch, {"test": [0.2, 0.1, 0.5, 0.3, 0.4, 0.9]})
    result = train_model(data, "lightgcn", model_config, train_config)
    scores = [h["test_recall@5"] + h["test_ndcg@5"] for h in result.history]
    assert scores == pytest.approx([0.3, 0.15, 0.75, 0.45, 0.6])  # stopped: two evaluations without improvement
    assert result.best_epoch == result.history[int(np.argmax(scores))]["epoch"] == 2
    assert result.protocol == "test-selected" and result.valid == {}
    assert TEST_SELECTED_NOTE in result.notes and result.metrics()["selection"] == TEST_SELECTED_NOTE
    assert "valid" not in {split for _, split in recorder.evaluations}
    assert all(train == as_set(data.train) | as_set(data.valid) for *_, train in recorder.epochs)  # all of train


def test_test_selected_with_real_metrics_keeps_the_max_on_test_epoch() -> None:
    data = synthetic_data()
    model_config, train_config = configs("test-selected", epochs=6, patience=6)
    result = train_model(data, "lightgcn", model_config, train_config)
    scores = [h["test_recall@5"] + h["test_ndcg@5"] for h in result.history]
    best = int(np.argmax(scores))
    assert result.best_epoch == result.history[best]["epoch"]
    assert result.test["recall@5"] == pytest.approx(result.history[best]["test_recall@5"])


def test_best_seed_run_never_uses_test_for_test_selected_runs() -> None:
    def run(seed: int, protocol: str, valid: float, test: float) -> training.SeedRun:
        result = TrainResult(model=torch.nn.Linear(1, 1), best_epoch=0, epochs_run=1,
                             valid={"recall@50": valid} if protocol != "test-selected" else {},
                             test={"recall@50": test}, sparsity=[], seconds_per_epoch=0.0, protocol=protocol)
        return training.SeedRun(seed, result, None, {}, "recall@50")

    assert training.best_seed_run([run(1, "test-selected", 0, 0.1), run(2, "test-selected", 0, 0.9)]).seed == 1
    assert training.best_seed_run([run(1, "refit", 0.2, 0.9), run(2, "refit", 0.3, 0.1)]).seed == 2


# -- no validation split -----------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["valid", "refit"])
def test_valid_ratio_zero_without_a_stored_split_is_a_clear_error(protocol: str) -> None:
    export = synthetic_export()
    model_config, train_config = configs(protocol, valid_ratio=0)
    data = training.protocol_data(export, train_config)
    assert len(data.valid) == 0
    with pytest.raises(DataError, match=rf"The {protocol} protocol .* set valid_ratio > 0 .* `kgrec split valid`"):
        train_model(data, "lightgcn", model_config, train_config)


def test_test_selected_needs_no_validation_and_gives_stored_valid_pairs_back() -> None:
    export = synthetic_export(with_valid=True)
    _, train_config = configs("test-selected", valid_ratio=0.25)
    data = training.protocol_data(export, train_config)
    assert len(data.valid) == 0
    assert as_set(data.train) == as_set(export.split("train")) | as_set(export.split("valid"))


# -- the saved split -----------------------------------------------------------------------------------
def test_valid_split_file_round_trips_in_original_ids(tmp_path) -> None:
    export = synthetic_export()
    data = from_export(export, valid_ratio=0.25, seed=3)
    path = write_valid_split(tmp_path / "valid_split.tsv", data.valid, export)
    lines = path.read_text().splitlines()
    assert lines[0] == "user\titem" and len(lines) == len(data.valid) + 1
    assert {tuple(int(v) for v in line.split("\t")) for line in lines[1:]} == {
        (int(export.user_ids[u]), int(export.item_ids[i])) for u, i in data.valid}
    rebuilt = from_export(export, valid_ratio=0.25, seed=99, valid_pairs=read_valid_split(path, export))
    assert as_set(rebuilt.valid) == as_set(data.valid) and as_set(rebuilt.train) == as_set(data.train)


# -- the CLI -----------------------------------------------------------------------------------------
class NoGraph:
    """The store of CLI tests that train from a patched export and write nothing: any use fails."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"this test trains without a graph, but the store's {name!r} was used")


def cli_main() -> click.Group:
    @click.group(cls=KgrecGroup, context_settings={"obj": CliState.with_store(NoGraph())})
    def main() -> None: ...

    main.add_command(cli_train.train)
    return main


@pytest.fixture()
def offline_export(monkeypatch, tmp_path) -> GraphExport:
    """``kgrec train`` on a synthetic export, without a graph (no write-back), caching under tmp_path."""
    export = synthetic_export()
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(training, "export_dataset", lambda store, dataset, **_: export)
    return export


def test_cli_passes_protocol_and_preset_through(offline_export, tmp_path) -> None:
    result = CliRunner().invoke(cli_main(), [
        "train", "cikgrec", "--dataset", "synthetic", "--protocol", "refit", "--preset", "reference",
        "--transe-distance", "l2", "--epochs", "2", "--layers", "1", "--no-write", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"] == "refit" and report["preset"] == "reference"
    seed_run = report["per_seed"][0]
    assert seed_run["protocol"] == "refit" and seed_run["refit_epochs"] == seed_run["best_epoch"] + 1
    assert set(seed_run["valid_protocol_test"]) == set(seed_run["test"])
    saved = torch.load(tmp_path / "models" / f"{report['run_id']}.pt", weights_only=False)
    model_part, train_part = saved["config"]["model"], saved["config"]["train"]
    assert train_part["protocol"] == "refit" and train_part["lr"] == 8e-4 and train_part["batch_size"] == 1024
    assert model_part["contrast_mode"] == "reference" and model_part["replace_rate"] == 0.15
    assert model_part["transe_distance"] == "l2"  # an explicit option beats the preset
    split = (tmp_path / "models" / f"{report['run_id']}.valid.tsv").read_text().splitlines()
    assert split[0] == "user\titem" and len(split) > 1
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1 and {p.name for p in run_dirs[0].iterdir()} == {"valid", "refit", "valid_split.tsv"}
    assert (run_dirs[0] / "valid_split.tsv").read_text() == "\n".join(split) + "\n"


def test_cli_model_options_reach_the_config(offline_export, tmp_path) -> None:
    result = CliRunner().invoke(cli_main(), [
        "train", "cikgrec", "--dataset", "synthetic", "--epochs", "1", "--layers", "1", "--lr", "0.01",
        "--batch-size", "128", "--contrast-mode", "paper", "--replace-rate", "0.1",
        "--reconstruction-edge-dropout", "0.2", "--projection-init", "xavier", "--transe-triples", "reference",
        "--transe-distance", "squared_l2", "--transe-steps", "reference", "--protocol", "test-selected",
        "--no-write", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"] == "test-selected" and report["per_seed"][0]["selection"] == TEST_SELECTED_NOTE
    saved = torch.load(tmp_path / "models" / f"{report['run_id']}.pt", weights_only=False)
    assert {k: saved["config"]["model"][k] for k in ("contrast_mode", "replace_rate", "reconstruction_edge_dropout",
                                                     "projection_init", "transe_triples", "transe_distance",
                                                     "transe_steps")} == {
        "contrast_mode": "paper", "replace_rate": 0.1, "reconstruction_edge_dropout": 0.2,
        "projection_init": "xavier", "transe_triples": "reference", "transe_distance": "squared_l2",
        "transe_steps": "reference"}
    assert (saved["config"]["train"]["lr"], saved["config"]["train"]["batch_size"]) == (0.01, 128)
    assert (tmp_path / "models" / f"{report['run_id']}.valid.tsv").read_text() == "user\titem\n"  # no validation


def test_cli_rejects_unknown_protocols_and_presets(offline_export) -> None:
    for model, option, value in (("bprmf", "--protocol", "on-test"), ("bprmf", "--preset", "paper"),
                                 ("cikgrec", "--contrast-mode", "all")):
        result = CliRunner().invoke(cli_main(), ["train", model, "--dataset", "synthetic", option, value])
        assert result.exit_code == 2 and "Invalid value" in result.output


def test_cli_offers_each_model_only_its_own_settings(offline_export) -> None:
    """``kgrec train bprmf`` has no layers and no CIKGRec switches: its config has no such settings."""
    for option in ("--contrast-mode", "--layers", "--no-kg"):
        result = CliRunner().invoke(cli_main(), ["train", "bprmf", "--dataset", "synthetic", option, "1"])
        assert result.exit_code == 2 and f"No such option '{option}'" in result.output
    shown = CliRunner().invoke(cli_main(), ["train", "lightgcn", "--help"]).output
    assert "--layers" in shown and "--no-kg" not in shown and "--lr" in shown


def test_cli_preset_for_another_model_is_one_sentence(offline_export) -> None:
    result = CliRunner().invoke(cli_main(), ["train", "bprmf", "--dataset", "synthetic", "--preset", "reference"])
    assert result.exit_code != 0 and "No preset 'reference' for bprmf" in result.output


def test_cli_valid_ratio_zero_says_what_to_do(offline_export) -> None:
    result = CliRunner().invoke(cli_main(), ["train", "bprmf", "--dataset", "synthetic", "--valid-ratio", "0",
                                             "--epochs", "1", "--no-write", "--no-progress"])
    assert result.exit_code != 0
    assert "set valid_ratio > 0 (--valid-ratio) or store a split with `kgrec split valid`" in result.output


def test_min_epochs_keeps_early_stopping_from_ending_a_run_in_an_early_dip(monkeypatch) -> None:
    data = synthetic_data()
    dip = [0.5, 0.2, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1]   # a peak, a dip, then the best epoch
    runs = {}
    for min_epochs in (0, 6):
        model_config, train_config = configs("valid", epochs=10, patience=2, min_epochs=min_epochs)
        Recorder(monkeypatch, {"valid": list(dip)})
        runs[min_epochs] = train_model(data, "lightgcn", model_config, train_config)
    assert (runs[0].epochs_run, runs[0].best_epoch) == (3, 0)   # stopped in the dip
    assert (runs[6].epochs_run, runs[6].best_epoch) == (8, 5)   # held to 6 epochs, then stopped by patience


def test_running_out_of_memory_names_the_estimate_and_the_settings_to_lower(monkeypatch, tmp_path) -> None:
    """A model too big for the machine (a real allocation failure, not a simulated one) stops with the
    command that sizes the run and the settings that shrink it."""
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path))
    with pytest.raises(TrainingError, match=r"bprmf ran out of memory on 'synthetic'.*"
                                            r"kgrec train bprmf --dataset synthetic --estimate.*--batch-size") as caught:
        training.train_seed(synthetic_export(), "synthetic", "bprmf", 2024, embedding_dim=10**12, epochs=1)
    assert "allocate" in str(caught.value.__cause__) or isinstance(caught.value.__cause__, MemoryError)
    data = training.protocol_data(synthetic_export(), resolve_config("bprmf", "synthetic")[1])
    floor_gb = (data.n_users + data.n_items) * 10**12 * 16 / 2**30
    assert f"embeddings with their gradients and Adam's moments need at least {floor_gb:,.1f} GB" in str(caught.value)


def test_memory_floor_counts_four_float32_copies_of_each_table_and_one_batch_of_scores() -> None:
    # 1,500 rows x 64 x 4 copies x 4 bytes = 1,536,000 B; 1,000 users (below the batch) x 500 items x 4 B
    assert memory_floor(1000, 500, 64, 1024) == ("its user and item embeddings with their gradients and "
                                                 "Adam's moments need at least 1.5 MB, one evaluation "
                                                 "batch's scores 1.9 MB")
    assert memory_floor(10**6, 10**5, 256, 512).endswith("need at least 4.2 GB, one evaluation batch's scores 195.3 MB")


def test_cli_set_reaches_any_setting_typed_and_refuses_unknown_ones(offline_export, tmp_path) -> None:
    result = CliRunner().invoke(cli_main(), [
        "train", "cikgrec", "--dataset", "synthetic", "--epochs", "1", "--set", "eta=3", "--set", "use_transe=false",
        "--set", "eval_batch_size=64", "--set", "ks=10,50", "--no-write", "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    saved = torch.load(tmp_path / "models" / f"{json.loads(result.stdout)['run_id']}.pt", weights_only=False)
    model_part, train_part = saved["config"]["model"], saved["config"]["train"]
    assert model_part["eta"] == 3.0 and model_part["use_transe"] is False
    assert train_part["eval_batch_size"] == 64 and tuple(train_part["ks"]) == (10, 50)
    for bad, said in ((["--set", "n_factors=4"], "setting of cikgrec"), (["--set", "eta=high"], "eta takes a float"),
                      (["--set", "use_kg=maybe"], "true or false"), (["--set", "mask=fixed"], "set it from Python")):
        refused = CliRunner().invoke(cli_main(), ["train", "cikgrec", "--dataset", "synthetic", *bad])
        assert refused.exit_code == 2 and said in refused.output, refused.output
