"""Errors of the recommender package, under kgrec's one error tree."""

from kg_store.errors import KgrecError


class DataError(KgrecError):
    """The exported data cannot train this model (empty split, missing parts)."""


class TrainingError(KgrecError):
    """Training diverged or cannot continue (NaN loss, bad configuration)."""


class UnknownModelError(KgrecError):
    """No model is registered under this name."""
