"""The one sentence-encoder loader: names resolve to one cache key, each model loads once per
process from local files, and the clustering and text features share the loaded model."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_text_features import build_tiny_encoder

from kg_store.errors import ConfigError
from knowledge.encoders import PACKAGED_ENCODER, encoder_id, load_encoder, packaged_encoder_path
from knowledge.interests.cluster import embed
from knowledge.text_features import load_text_encoder


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


def test_the_packaged_model_and_folders_have_one_name_each(tmp_path: Path, monkeypatch) -> None:
    assert encoder_id(None) == encoder_id(PACKAGED_ENCODER) == PACKAGED_ENCODER
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enc").mkdir()
    assert encoder_id("enc") == encoder_id(str(tmp_path / "enc")) == str((tmp_path / "enc").resolve())
    assert encoder_id("some-org/some-model") == "some-org/some-model"      # a hub name stays a name
    assert (packaged_encoder_path() / "config.json").is_file()


def test_a_model_loads_once_whatever_it_is_called(tiny_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tiny_path.parent)
    model = load_encoder(str(tiny_path))
    assert load_encoder(tiny_path.name) is model                  # a relative spelling of the same folder
    assert load_text_encoder(str(tiny_path), device="cpu").model is model    # text features share it
    assert embed(["space opera", "baking"], str(tiny_path)).shape == (2, 16)  # and so does clustering


def test_the_packaged_minilm_is_the_default_and_loads_without_a_network() -> None:
    model = load_encoder(None)
    assert load_encoder(PACKAGED_ENCODER) is model
    assert model.encode(["a spaceship battle"]).shape == (1, 384)


def test_a_model_that_is_not_on_this_machine_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot load the sentence encoder 'no-such-org/no-such-encoder'"):
        load_encoder("no-such-org/no-such-encoder")
    with pytest.raises(ConfigError, match="from local files"):
        load_encoder(str(tmp_path))                           # an empty folder holds no model
