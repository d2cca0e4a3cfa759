"""Saved models are loaded only when they are kgrec's own, on a real Neo4j: a run id must have kgrec's
form (so it cannot name a file outside the models folder), the run must be in the graph, and the
file's sha256 must equal the one its ``TrainingRun`` recorded; even then only tensors and plain
values are unpickled. A file that would run code when unpickled proves nothing was unpickled."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from test_models import synthetic_data

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import InvalidRunIdError, ModelFileError, ModelFileMismatchError, UnknownRunError
from kg_store.run_ids import RUN_ID_FORM, check_run_id, new_run_id
from kg_store.writeback import save_training_run
from kgrec.api import ingest_cikg
from kgrec.cli import main
from kgrec.training import TrainingOutcome, evaluate_saved, saved_model_path, train_and_write
from recommender.config import resolve_config
from recommender.errors import TrainingError
from recommender.trainer import Trainer

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
TINY = {"embedding_dim": 8, "epochs": 2, "batch_size": 16}


class RunsCode:
    """Unpickling this makes the folder ``marker``: whether it exists tells if a file was fully unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.mkdir, (str(self.marker),)


def write_code_running_file(path: Path, marker: Path) -> None:
    torch.save({"model": "lightgcn", "dataset": "x", "config": {}, "state": RunsCode(marker)}, path)


@pytest.fixture(scope="module")
def trained(store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TrainingOutcome]]:
    """One LightGCN run on the small CIKG fixture, written back; the dataset and its runs dropped after."""
    dataset = f"test_trust_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        ingest_cikg(store, FIXTURE, dataset)
        yield dataset, train_and_write(store, dataset, "lightgcn", seeds=[2024], k=5, progress=False, **TINY)
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)


@pytest.fixture()
def model_file(trained) -> Iterator[Path]:
    """The run's saved model; whatever a test does to it, its bytes are put back afterwards."""
    path = saved_model_path(trained[1].run_id)
    original = path.read_bytes()
    yield path
    path.write_bytes(original)


def test_the_run_evaluates_again_to_its_own_metrics(store, trained, model_file) -> None:
    dataset, outcome = trained
    report = evaluate_saved(store, outcome.run_id, dataset=dataset)
    assert report["run_id"] == outcome.run_id and report["model"] == "lightgcn"
    for name, value in report["test"].items():
        assert value == pytest.approx(outcome.summary[name]["mean"], abs=1e-12)
    saved = torch.load(model_file, weights_only=True)  # the format needs no unpickling of code
    assert set(saved) == {"model", "dataset", "config", "state", "metrics", "interest_set"}


@pytest.mark.parametrize("run_id", ["../x", "../../etc/passwd", "lightgcn-20240131T120000-0a1b2c/../../x",
                                    "/tmp/x", "", "LightGCN-20240131T120000-0a1b2c", "lightgcn-2024-0a1b2c",
                                    "lightgcn-20240131T120000-0a1b2c.pt"])
def test_an_id_not_of_kgrecs_form_is_refused_before_any_path(store, trained, run_id: str) -> None:
    with pytest.raises(InvalidRunIdError) as caught:
        evaluate_saved(store, run_id)
    assert repr(run_id) in str(caught.value) and RUN_ID_FORM in str(caught.value)


def test_cli_refuses_an_escaping_id_and_loads_nothing(trained, cli_env, tmp_path) -> None:
    """``--run-id ../x`` would name ``<cache>/x.pt``: a code-running file there is never touched."""
    marker = tmp_path / "ran"
    write_code_running_file(saved_model_path(trained[1].run_id).parent.parent / "x.pt", marker)
    result = CliRunner().invoke(main, ["evaluate", "--run-id", "../x"], env=cli_env)
    assert result.exit_code == 2
    assert f"Run id '../x' is not valid: expected {RUN_ID_FORM}" in result.output
    assert not marker.exists()


def test_an_unknown_id_of_the_right_form_is_one_sentence(store, trained, cli_env) -> None:
    run_id = new_run_id("lightgcn")
    with pytest.raises(UnknownRunError, match=f"No training run '{run_id}' in the graph"):
        evaluate_saved(store, run_id)
    result = CliRunner().invoke(main, ["evaluate", "--run-id", run_id], env=cli_env)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: No training run '{run_id}' in the graph")


def test_a_run_that_recorded_no_model_file_is_refused(store, trained) -> None:
    dataset, _ = trained
    run_id = new_run_id("deepfm")                # CTR runs save no model file
    save_training_run(store, dataset, "deepfm", run_id, {}, {}, datetime.now(UTC))
    with pytest.raises(ModelFileError, match=f"Training run '{run_id}' recorded no saved model"):
        evaluate_saved(store, run_id)


def test_a_missing_model_file_is_named(store, trained, model_file) -> None:
    model_file.unlink()
    with pytest.raises(ModelFileError, match="does not exist") as caught:
        evaluate_saved(store, trained[1].run_id)
    assert str(model_file) in str(caught.value)


def test_a_flipped_byte_is_refused_with_both_hashes(store, trained, model_file) -> None:
    recorded = hashlib.sha256(model_file.read_bytes()).hexdigest()
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileMismatchError) as caught:
        evaluate_saved(store, trained[1].run_id)
    actual = hashlib.sha256(bytes(data)).hexdigest()
    assert (caught.value.path, caught.value.expected, caught.value.actual) == (model_file, recorded, actual)
    assert str(model_file) in str(caught.value) and recorded in str(caught.value) and actual in str(caught.value)


def test_a_code_running_file_is_never_unpickled(store, trained, model_file, tmp_path) -> None:
    """Replaced by a file that runs code when unpickled: refused on its hash; and were the recorded hash
    changed to match it, still refused, because only tensors and plain values are loaded."""
    probe, marker = tmp_path / "probe.pt", tmp_path / "ran"
    write_code_running_file(probe, tmp_path / "probe_ran")
    torch.load(probe, weights_only=False)
    assert (tmp_path / "probe_ran").is_dir()     # the payload is live: a full unpickle runs it
    run_id = trained[1].run_id
    write_code_running_file(model_file, marker)
    with pytest.raises(ModelFileMismatchError):
        evaluate_saved(store, run_id)
    assert not marker.exists()
    recorded = store.read("recommend/training_run", run_id=run_id)[0]["model_sha256"]
    set_sha = "MATCH (r:TrainingRun {run_id: $id}) SET r.model_sha256 = $sha"
    store.autocommit_text(set_sha, id=run_id, sha=hashlib.sha256(model_file.read_bytes()).hexdigest())
    try:
        with pytest.raises(ModelFileError, match="holds more than tensors and plain values"):
            evaluate_saved(store, run_id)
    finally:
        store.autocommit_text(set_sha, id=run_id, sha=recorded)
    assert not marker.exists()


def test_new_run_ids_pass_the_check_and_bad_model_names_cannot_make_one() -> None:
    for model in ("lightgcn", "cikgrec", "deepfm", "setrank"):
        assert check_run_id(new_run_id(model)).startswith(f"{model}-")
    with pytest.raises(InvalidRunIdError):
        new_run_id("../x")


def test_a_checkpoint_that_needs_code_is_refused(tmp_path) -> None:
    model_config, train_config = resolve_config("bprmf", "synthetic", embedding_dim=8, epochs=2, batch_size=64)
    marker = tmp_path / "ran"
    torch.save({"epoch": 0, "model": RunsCode(marker)}, tmp_path / "checkpoint.pt")
    trainer = Trainer(synthetic_data(), "bprmf", model_config, train_config, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(TrainingError, match="holds more than tensors and plain values"):
        trainer.fit()
    assert not marker.exists()
