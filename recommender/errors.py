"""Errors of the recommender package, under kgrec's one error tree."""

from kg_store.errors import ConfigError, KgrecError


class DataError(KgrecError):
    """The exported data cannot train this model (empty split, missing parts)."""


class TrainingError(KgrecError):
    """Training diverged or cannot continue (NaN loss, bad configuration)."""


class UnknownModelError(ConfigError):
    """No model is registered under this name (a setting the user can fix, like any unknown name)."""


class ModelConfigError(ConfigError):
    """A model or training setting is unknown or out of range (a user's override, usually)."""
