"""One error tree for kgrec.

Every failure the user can act on is a ``KgrecError``; the CLI turns it into one sentence and a
non-zero exit code. Retryable server conditions share ``TransientStoreError`` so callers can
tell "try again" from "fix something".
"""

from __future__ import annotations

from pathlib import Path


class KgrecError(Exception):
    """Root of every error kgrec raises on purpose."""

    exit_code = 1


class ConfigError(KgrecError):
    """A setting is missing or invalid."""


class BadInputError(KgrecError):
    """A data file is malformed; names the file, line and (when known) field."""

    exit_code = 2

    def __init__(self, path: Path | str, line: int | None, message: str, field: str | None = None):
        self.path = Path(path)
        self.line = line
        self.field = field
        self.reason = message
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        what = f"field '{field}': {message}" if field else message
        super().__init__(f"{where}: {what}")


class StoreError(KgrecError):
    """The graph store failed in a way the caller cannot fix by retrying."""


class ServerUnavailableError(StoreError):
    """No Neo4j server answers at the configured address."""

    exit_code = 3


class AuthenticationFailedError(StoreError):
    """The server rejected the user name or password."""

    exit_code = 3


class TransientStoreError(StoreError):
    """A condition that went away in the past (deadlock, leader switch); retrying may succeed."""


class UnknownDatasetError(KgrecError):
    """The named dataset is not in the graph."""


class UnsafeNameError(KgrecError):
    """A label or relationship type taken from data is not on the allow-list."""

    exit_code = 2


class LocalServerError(KgrecError):
    """The local Neo4j launcher could not fetch, configure, start or stop the server."""


class InvalidDatasetNameError(KgrecError):
    """A dataset name is not a safe folder and graph name (letters, digits, '_', '.', '-')."""

    exit_code = 2


class DatasetNotFoundError(KgrecError):
    """A dataset is neither in the catalog nor in any folder the lookup order searches."""

    exit_code = 2


class DownloadError(KgrecError):
    """A dataset file could not be downloaded, or the server sent something that is not the file."""

    exit_code = 3


class ChecksumMismatchError(DownloadError):
    """A file's sha256 differs from the one the catalog (or the dataset's manifest) expects."""

    def __init__(self, path: Path | str, expected: str, actual: str, hint: str = ""):
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(f"{self.path}: sha256 is {actual}, expected {expected}" + (f"; {hint}" if hint else "."))


class UnknownUserError(KgrecError):
    """The named user is not in the dataset (so "no recommendations" would mislead)."""

    exit_code = 2


class UnknownItemError(KgrecError):
    """The named item is not in the dataset."""

    exit_code = 2


class LLMError(KgrecError):
    """A language-model backend failed, or was asked for something it cannot do."""


class LLMUnavailableError(LLMError):
    """No LLM endpoint answers (after retries), or a local model could not be loaded."""

    exit_code = 3


class InvalidRunIdError(KgrecError):
    """A training run id is not of the form kgrec gives runs (so it could name a file outside its folder)."""

    exit_code = 2


class UnknownRunError(KgrecError):
    """No training run with this id is in the graph."""

    exit_code = 2


class ModelFileError(KgrecError):
    """A run's saved model file is missing, unrecorded, or not in the format kgrec writes."""


class ModelFileMismatchError(ModelFileError):
    """A saved model file's sha256 differs from the one its run recorded: it is not loaded."""

    def __init__(self, path: Path | str, expected: str, actual: str):
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        super().__init__(f"{self.path}: sha256 is {actual}, but its training run recorded {expected}; "
                         "the file was changed after training and is not loaded.")
