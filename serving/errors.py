"""Serving errors and the HTTP status of every kgrec error: 4xx for the caller's input, 503 for Neo4j."""

from __future__ import annotations

from kg_store.errors import (
    ConfigError,
    InvalidDatasetNameError,
    KgrecError,
    StoreError,
    UnknownDatasetError,
    UnknownItemError,
    UnknownUserError,
    UnsafeNameError,
)


class NoRunError(KgrecError):
    """The dataset has no training run of this model."""


class NoVectorsError(KgrecError):
    """The latest run stored no item vectors (trained before vectors were kept, or a model without them)."""


class UnknownInterestError(KgrecError):
    """An interest id that the run's interest set does not hold (with vectors of that run)."""


class NoInterestVectorsError(KgrecError):
    """Interests were asked for, but the run stored no interest vectors (a model without interest nodes)."""


class InvalidRequestError(KgrecError):
    """A request body or parameter outside what this server accepts (e.g. too many items)."""


class UnauthorizedError(KgrecError):
    """A bearer token is required and the request had none or another one."""


# first match wins: order from specific to general
STATUS = ((UnauthorizedError, 401, "unauthorized"), (UnknownDatasetError, 404, "unknown_dataset"),
          (UnknownUserError, 404, "unknown_user"), (UnknownItemError, 404, "unknown_item"),
          (UnknownInterestError, 404, "unknown_interest"), (NoRunError, 404, "no_training_run"),
          (NoVectorsError, 409, "no_embeddings"), (NoInterestVectorsError, 409, "no_interest_embeddings"),
          (InvalidDatasetNameError, 422, "invalid_name"), (UnsafeNameError, 422, "invalid_name"),
          (ConfigError, 422, "invalid_request"),
          (InvalidRequestError, 422, "invalid_request"), (StoreError, 503, "neo4j_unavailable"))


def status_of(error: KgrecError) -> tuple[int, str]:
    for kind, status, code in STATUS:
        if isinstance(error, kind):
            return status, code
    return 400, "bad_request"
