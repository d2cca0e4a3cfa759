"""Training run ids: the one form kgrec gives them, and the run's record in the graph.

A run id becomes a file name (``<cache>/models/<run_id>.pt``), so an id from outside (``kgrec
evaluate --run-id``) is checked against ``RUN_ID_PATTERN`` before any path is built from it: the
pattern has no ``/``, ``\\`` or ``..``, so a checked id cannot leave the models folder. Both
training paths (ranking models in ``kgrec.training``, CTR models in ``kgrec.ctr_training``) make
their ids with :func:`new_run_id`, so every id kgrec writes passes the check.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kg_store.errors import InvalidRunIdError, UnknownRunError

if TYPE_CHECKING:  # checking an id needs no driver
    from kg_store.connection import GraphStore

MODEL_NAME_PATTERN = r"[a-z][a-z0-9_-]{0,39}"
RUN_ID_PATTERN = rf"{MODEL_NAME_PATTERN}-[0-9]{{8}}T[0-9]{{6}}-[0-9a-f]{{6}}"
RUN_ID_FORM = "<model>-<YYYYmmddTHHMMSS>-<6 hex digits>, e.g. lightgcn-20240131T120000-0a1b2c"
_RUN_ID = re.compile(RUN_ID_PATTERN)
_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it has the form kgrec gives runs, else raise ``InvalidRunIdError``."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidRunIdError(f"Run id {run_id!r} is not valid: expected {RUN_ID_FORM} "
                                "(a model name of lower-case letters, digits, '_' and '-').")
    return run_id


def new_run_id(model: str, started: datetime | None = None) -> str:
    """A fresh id ``<model>-<UTC start, YYYYmmddTHHMMSS>-<6 random hex digits>``; checked, so a model
    name that would not round-trip fails at training time rather than at evaluation."""
    when = (started or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    if not _MODEL_NAME.fullmatch(model):
        raise InvalidRunIdError(f"Model name {model!r} cannot start a run id: expected {RUN_ID_FORM}.")
    return check_run_id(f"{model}-{when}-{uuid.uuid4().hex[:6]}")


def run_record(store: GraphStore, run_id: str) -> dict[str, Any]:
    """The run's node as stored (run_id, model, dataset, model_path, model_sha256, finished);
    ``InvalidRunIdError`` for a malformed id, ``UnknownRunError`` for one the graph lacks."""
    rows = store.read("recommend/training_run", run_id=check_run_id(run_id))
    if not rows:
        raise UnknownRunError(f"No training run {run_id!r} in the graph; `kgrec evaluate --dataset NAME` "
                              "lists a dataset's runs (runs trained with --no-write are not recorded).")
    return rows[0]
