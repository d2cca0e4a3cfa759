"""Mistakes a user can make in settings are ``KgrecError``s (one sentence from the CLI), not bare ValueErrors."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.splits import SplitConfig
from kg_store.errors import ConfigError, KgrecError, UnsafeNameError
from kg_store.writeback import write_entity_embeddings
from recommender.config import resolve_config
from recommender.errors import ModelConfigError


def test_bad_test_ratio_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="test_ratio"):
        SplitConfig(test_ratio=1.0)


def test_unknown_training_setting_is_a_config_error() -> None:
    with pytest.raises(ModelConfigError, match="no_such_setting") as caught:
        resolve_config("lightgcn", "d", no_such_setting=1)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, KgrecError)


def test_unsafe_property_name_is_refused_before_any_write() -> None:
    with pytest.raises(UnsafeNameError):
        write_entity_embeddings(None, "d", np.array([1]), np.zeros((1, 2)), property_name="x`) DETACH DELETE n //")  # type: ignore[arg-type]
