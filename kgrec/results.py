"""The typed results of the :mod:`kgrec` facade, each convertible to plain data.

Every result is a dataclass with ``to_dict()`` (only ``dict``/``list``/``str``/``int``/``float``/
``bool``/``None``, so any serializer takes it) and ``to_json()``. Where kgrec already had a report
dataclass (``IngestReport``, ``ValidSplitReport``, ``Explanation``) the result *is* one, with the
conversion added; other results copy what a caller needs and keep the full underlying object in a
field that ``to_dict`` leaves out (a trained model or every cached answer is not data to print).

Non-finite floats (a silhouette of a single cluster) become ``None``: strict JSON has no NaN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ingest.writer import IngestReport
from kg_store.explain import Explanation
from kg_store.splits import ValidSplitReport

# a field with this metadata stays out of ``to_dict`` (the raw objects behind a result)
RAW = {"plain": False}


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON-ready data: dataclasses, mappings, sequences, paths, dates, numpy values."""
    if isinstance(value, Result):
        return value.to_dict()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value) if f.metadata.get("plain", True)}
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return [to_plain(item) for item in sorted(value)]
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "tolist"):        # numpy arrays and scalars
        return to_plain(value.tolist())
    raise TypeError(f"A {type(value).__name__} has no plain form.")


class Result:
    """The conversions every facade result shares; subclasses are dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the result's fields, raw objects left out."""
        return {f.name: to_plain(getattr(self, f.name)) for f in fields(self) if f.metadata.get("plain", True)}

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


@dataclass
class IngestResult(Result, IngestReport):
    """What an ingest wrote (an :class:`~ingest.writer.IngestReport`)."""

    @classmethod
    def of(cls, report: IngestReport) -> IngestResult:
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)})


@dataclass(frozen=True)
class ValidSplit(Result, ValidSplitReport):
    """The dataset's stored validation split (a :class:`~kg_store.splits.ValidSplitReport`)."""

    @classmethod
    def of(cls, report: ValidSplitReport) -> ValidSplit:
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)})


@dataclass
class LLMRun(Result):
    """How a batch of prompts was answered: from the graph's cache or live."""

    prompts: int
    cached: int
    sent: int
    would_send: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float

    @classmethod
    def of(cls, run: Any) -> LLMRun:
        """From a :class:`knowledge.llm.runner.RunReport` (its answers stay out)."""
        return cls(run.prompts, run.cached, run.sent, run.would_send, run.prompt_tokens, run.completion_tokens,
                   run.seconds)


@dataclass
class InferredInterests(Result):
    """Interest prompts of a dataset's users; the answers are in the graph's cache."""

    dataset: str
    task: str
    users: int
    empty_histories: int
    unparseable: int
    llm: LLMRun
    valid_split: ValidSplit | None = None
    imported_answers: int = 0      # cached answers read from ``responses`` before asking
    report: Any = field(default=None, repr=False, compare=False, metadata=RAW)


@dataclass
class Descriptions(Result):
    """Item or user descriptions written by an LLM (``kind`` is ``item`` or ``user``)."""

    dataset: str
    kind: str
    subjects: int
    sources: dict[str, int]
    cut_tokens: int
    llm: list[LLMRun]
    report: Any = field(default=None, repr=False, compare=False, metadata=RAW)


@dataclass
class ClusterSummary(Result):
    id: int
    label: str
    size: int


@dataclass
class InterestSet(Result):
    """An interest set clustered from users' phrases and written to the graph."""

    dataset: str
    set: str
    method: str
    users: int                     # users whose phrases were clustered
    interests: int                 # interest nodes written
    edges: int                     # user -> interest edges written
    edges_skipped: int             # for users not in the dataset
    quality: dict[str, float]
    clusters: list[ClusterSummary]
    clustering: Any = field(default=None, repr=False, compare=False, metadata=RAW)
    written: dict[str, int] = field(default_factory=dict, repr=False, compare=False, metadata=RAW)  # the store's counts


@dataclass
class TrainingResult(Result):
    """A training run: its test metrics (mean and std over seeds) and what was written back.

    ``kind`` is ``ranking``, ``ctr``, ``rerank`` or ``kg`` (TransE, which writes entity vectors and
    no run). ``outcome`` holds the trainer's own outcome, trained models included.
    """

    kind: str
    model: str
    dataset: str
    run_id: str | None
    seeds: list[int]
    selected_seed: int | None
    summary: dict[str, dict[str, float]]
    metrics: dict[str, Any]
    recommendations_written: int = 0
    notes: list[str] = field(default_factory=list)
    outcome: Any = field(default=None, repr=False, compare=False, metadata=RAW)


@dataclass
class Evaluation(Result):
    """Test metrics of a saved ranking run, recomputed on the graph as it is now."""

    run_id: str
    model: str
    dataset: str
    protocol: str
    test: dict[str, Any]
    sparsity: list[dict[str, Any]]
    rankings: dict[str, Any] | None = None
    report: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata=RAW)  # as evaluated


@dataclass
class Recommendation(Result):
    rank: int
    item: int | str          # a linked dataset's: the owner's item key
    title: str | None
    score: float
    model: str
    run_id: str


@dataclass
class Recommendations(Result):
    """One user's stored recommendations, best first per model (newest run of each model)."""

    dataset: str
    user: int | str          # a linked dataset's: the owner's user key
    model: str | None
    items: list[Recommendation]


@dataclass
class ExplanationResult(Result, Explanation):
    """The best paths from a user to an item (a :class:`~kg_store.explain.Explanation`)."""

    @classmethod
    def of(cls, explanation: Explanation) -> ExplanationResult:
        return cls(**{f.name: getattr(explanation, f.name) for f in fields(explanation)})


@dataclass
class ExportResult(Result):
    """A dataset written as another tool's files."""

    dataset: str
    format: str
    out: Path
    files: list[Path]
