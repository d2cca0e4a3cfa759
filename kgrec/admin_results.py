"""The typed results of the graph, server, data and knowledge facades, each convertible to plain data.

The companions of :mod:`kgrec.results` for :mod:`kgrec.graph_api`, :mod:`kgrec.neo4j_api`,
:mod:`kgrec.data_api`, :mod:`kgrec.knowledge_api`, :mod:`kgrec.llm_api` and the estimate of
:mod:`kgrec.models_api`. As there, where kgrec already had a report dataclass (``DatasetStats``,
``WikiReport``, ``EncodeReport`` ...) the result *is* one, so its ``as_dict()`` reads as before, with
``to_dict()`` / ``to_json()`` added; raw objects stay in fields that ``to_dict`` leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Self

from ingest.imdb_details import DetailsReport
from ingest.locate import Location
from ingest.synthetic import SyntheticSet
from ingest.wikipedia import WikiReport
from kg_store.checks import CheckResult
from kg_store.checks import has_errors as any_error
from kg_store.datasets import DatasetStats
from kg_store.interest_sets import InterestSetInfo
from kg_store.local_server import ServerStatus
from kgrec.results import RAW, LLMRun, Result
from knowledge.linking import LinkReport
from knowledge.text_features import EncodeReport


class Wraps:
    """A result that extends one of kgrec's report dataclasses: :meth:`of` turns such a report into it."""

    @classmethod
    def of(cls, report: Any) -> Self:
        """``report`` as this result (same fields, same values)."""
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)})


# -- the graph: datasets, checks, named queries, interest sets --------------------------------------
@dataclass
class DatasetCounts(Wraps, Result, DatasetStats):
    """Counts of one dataset (a :class:`~kg_store.datasets.DatasetStats`)."""


@dataclass
class KGChecks(Result):
    """The KG quality checks of one dataset, in the order of ``kg_store.checks.CHECKS``."""

    dataset: str
    checks: list[CheckResult]

    @property
    def has_errors(self) -> bool:
        """Whether an error-severity check found something."""
        return any_error(self.checks)


@dataclass
class QueryRows(Result):
    """The rows of a named query, with its columns in the order its header gives."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class StoredInterestSet(Wraps, Result, InterestSetInfo):
    """One interest set of a dataset: clusters, users covered, edges."""


# -- kgrec's own Neo4j server ----------------------------------------------------------------------
@dataclass(frozen=True)
class LocalNeo4jStatus(Wraps, Result, ServerStatus):
    """Whether the local server runs, and where (a :class:`~kg_store.local_server.ServerStatus`)."""


# -- datasets on disk: the catalog, the lookup order, synthetic sets --------------------------------
@dataclass
class CatalogDataset(Result):
    """A catalog dataset and where the lookup order finds it (``location`` None: absent)."""

    name: str
    layout: str
    verified: bool                 # every download has a known sha256
    location: str | None
    found_in: str | None           # the lookup-order place: KGREC_DATA_DIR, data home, shipped
    licence: str
    homepage: str
    citation: str
    description: str


@dataclass(frozen=True)
class DatasetLocation(Wraps, Result, Location):
    """One place the lookup order checks for a dataset (``exists``: it holds the folder)."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "exists": self.exists}


@dataclass(frozen=True)
class SyntheticData(Wraps, Result, SyntheticSet):
    """A synthetic CIKG-layout set written to a folder (a :class:`~ingest.synthetic.SyntheticSet`)."""


# -- knowledge: Wikipedia, IMDb details, links, text vectors -----------------------------------------
@dataclass
class WikiIngest(Wraps, Result, WikiReport):
    """A Wikipedia dump loaded as ``(:WikiPage)`` nodes (an :class:`~ingest.wikipedia.WikiReport`)."""


@dataclass(frozen=True)
class ImdbDetails(Wraps, Result, DetailsReport):
    """IMDb plot and credits set on a dataset's items (an :class:`~ingest.imdb_details.DetailsReport`)."""


@dataclass(frozen=True)
class ItemLinks(Wraps, Result, LinkReport):
    """Items linked to Wikipedia pages (a :class:`~knowledge.linking.LinkReport`)."""


@dataclass
class TextVectors(Wraps, Result, EncodeReport):
    """Text vectors encoded and stored (a :class:`~knowledge.text_features.EncodeReport`)."""


# -- the LLM: one prompt, the response cache ----------------------------------------------------------
@dataclass
class PromptAnswer(Result):
    """One prompt's answer, from the graph's cache or live."""

    task: str
    model: str                     # the backend's model id, part of the cache key
    text: str
    prompt_tokens: int
    completion_tokens: int
    cached: bool                   # answered from the cache, nothing sent
    tokens_per_second: float       # 0 when answered from the cache
    llm: LLMRun
    report: Any = field(default=None, repr=False, compare=False, metadata=RAW)


@dataclass
class CacheImport(Result):
    """A JSONL file of answers read into the graph's response cache."""

    file: Path
    responses: int                 # lines read
    created: int                   # responses the cache did not hold yet


# -- training -----------------------------------------------------------------------------------
@dataclass
class TrainingEstimateResult(Result):
    """How long and how much memory a training run would take, from a few calibration steps.

    ``figures`` are the numbers (users, steps per epoch, seconds per epoch and in all, peak memory
    ...); ``text`` says the same in two lines.
    """

    dataset: str
    model: str
    figures: dict[str, Any]
    text: str
    estimate: Any = field(default=None, repr=False, compare=False, metadata=RAW)
