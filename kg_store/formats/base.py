"""The contract between the graph and the file formats: typed row streams in, files out.

A :class:`FileFormat` never talks to Neo4j. It receives a :class:`DatasetRows`, whose methods
each stream one kind of row, and writes files into a folder it is given. Keeping the two apart
lets every format be tested on rows held in memory, and lets :mod:`kg_store.formats.graph_rows`
be the one place that knows the Cypher behind the streams.

Each stream is meant to be read once (the graph version streams it from the server each time),
so a format that needs a kind twice keeps what it needs from the first pass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from kg_store.errors import KgrecError


class Node(NamedTuple):
    """A user, item or entity: its graph id and the properties it has (absent ones left out)."""

    id: int
    props: dict[str, Any]


class Interaction(NamedTuple):
    user: int
    item: int
    split: str
    rating: Any = None
    ts: Any = None


class Triple(NamedTuple):
    """One KG edge; ``relation`` is the relationship type (``AUTHOR``), not its index."""

    head: int
    relation: str
    tail: int


class Pair(NamedTuple):
    """An item-entity link or a user-interest edge."""

    source: int
    target: int


@dataclass
class DatasetRows(ABC):
    """One dataset's rows, one stream per kind, plus what a header needs to know up front.

    ``relation_uris`` and ``relation_types`` are the ``:Dataset`` node's relation list (index k
    is relation id k); ``fields`` names the properties that occur at all, per kind
    (``users``, ``items``, ``interactions``), so a columnar format can write its header first.
    """

    dataset: str
    relation_uris: list[str] = field(default_factory=list)
    relation_types: list[str] = field(default_factory=list)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)

    def has_field(self, kind: str, name: str) -> bool:
        return name in self.fields.get(kind, frozenset())

    @abstractmethod
    def users(self) -> Iterator[Node]: ...

    @abstractmethod
    def items(self) -> Iterator[Node]: ...

    @abstractmethod
    def entities(self) -> Iterator[Node]: ...

    @abstractmethod
    def interactions(self) -> Iterator[Interaction]: ...

    @abstractmethod
    def triples(self) -> Iterator[Triple]: ...

    @abstractmethod
    def item_entities(self) -> Iterator[Pair]: ...

    @abstractmethod
    def user_interests(self) -> Iterator[Pair]: ...


class LayoutError(KgrecError):
    """The graph holds something a format cannot express; the message says what to use instead."""

    exit_code = 2


class FileFormat(ABC):
    """One file layout. ``write`` fills ``out_dir`` (which exists and is empty) and returns the
    paths it wrote; making the result appear atomically is :mod:`kg_store.formats.folder`'s job."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def write(self, dataset_rows: DatasetRows, out_dir: Path) -> list[Path]: ...
