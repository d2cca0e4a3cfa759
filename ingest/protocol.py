"""The ingest protocol: a source declares a typed config and yields typed record batches.

Modelled on the builder pattern of Hugging Face ``datasets``: a :class:`Source` subclass names
itself, declares its config dataclass and implements :meth:`Source.generate`; the base class
collects the batches, applies the bad-line policy and returns :class:`DatasetRecords`, which the
one table-driven writer (:mod:`ingest.writer`) sends to Neo4j. Adding a format means writing a
source class and naming it in :mod:`ingest.registry`; ``kgrec ingest <name>`` is generated from
the class's ``description`` and ``cli_options``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ingest.reader import BadLinePolicy
from ingest.records import DatasetRecords, KnowledgeGraphSchema, RecordBatch
from kg_store.errors import ConfigError
from kg_store.graph_model import check_dataset_name

if TYPE_CHECKING:
    from ingest.writer import IngestReport
    from kg_store.connection import GraphStore

SourceOutput = RecordBatch | KnowledgeGraphSchema | str  # a str is a note for the user


@dataclass(frozen=True)
class SourceConfig:
    """Settings every source takes: where the files are and what the dataset is called."""

    path: Path
    dataset: str
    skip_bad_lines: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        check_dataset_name(self.dataset)  # names become graph keys and cache folders


@dataclass(frozen=True)
class SourceOption:
    """An option of ``kgrec ingest <source>`` beyond the common ones; it sets one field of the
    source's config (``--split-seed`` sets ``split_seed``). Plain data, so the CLI builds it."""

    field: str
    type: type[int] | type[float] | type[str]
    default: int | float | str
    help: str
    bounds: tuple[float, float] | None = None   # [low, high): the value's range, when limited

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


class Source(ABC):
    """One file format. Subclasses set ``name``, ``description`` (the help of ``kgrec ingest
    <name>``), ``config_class`` and ``cli_options`` when they take options, and write ``generate``."""

    name: ClassVar[str]
    config_class: ClassVar[type[SourceConfig]] = SourceConfig
    description: ClassVar[str] = ""
    cli_options: ClassVar[tuple[SourceOption, ...]] = ()   # fields of ``config_class`` the CLI sets
    reads: ClassVar[str] = "folder"   # what ``path`` is: "folder", or "file" (a mapping file, say)
    #: False for a source that writes its own nodes (``ingest_into``) rather than records: the record
    #: writer's options (bulk, workers, batch size, skipping bad lines) do not apply to it
    writes_records: ClassVar[bool] = True

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        """Whether ``folder``'s files are in this layout (for a source that reads a file: whether
        ``folder`` is such a file), for reading a path by its files alone."""
        return False

    def __init__(self, config: SourceConfig):
        if not isinstance(config, self.config_class):
            raise ConfigError(f"Source '{self.name}' takes a {self.config_class.__name__}.")
        self.config = config

    @classmethod
    def from_options(cls, path: Path | str, dataset: str, **options: Any) -> Source:
        """Build the config from keyword options; unknown options are an error, not ignored."""
        known = {f.name for f in fields(cls.config_class)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"Source '{cls.name}' has no option(s) {', '.join(unknown)}; "
                              f"it takes {', '.join(sorted(known - {'path', 'dataset'}))}.")
        return cls(cls.config_class(path=Path(path), dataset=dataset, **options))

    @abstractmethod
    def generate(self, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        """Yield record batches, at most one KG schema, and notes; raise ``BadInputError`` on bad data."""

    def read(self) -> DatasetRecords:
        """Parse and validate every file; nothing is written here."""
        policy = BadLinePolicy(self.config.skip_bad_lines)
        records = DatasetRecords(name=self.config.dataset, source=self.name)
        for output in self.generate(policy):
            if isinstance(output, RecordBatch):
                records.add(output)
            elif isinstance(output, KnowledgeGraphSchema):
                records.set_schema(output)
            else:
                records.notes.append(output)
        records.skipped = policy.skipped
        records.duplicates = policy.duplicates
        return records

    def records_for(self, store: GraphStore) -> DatasetRecords:
        """The records to write into ``store``: those :meth:`read` gives, unless the source must fit its
        ids to the dataset already there (the table source keeps the ids of org_ids loaded before)."""
        return self.read()

    def ingest_into(self, store: GraphStore, **writer_options: Any) -> IngestReport:
        """Write the dataset into ``store`` idempotently: the records through the one record writer
        (``writer_options``: its batch size, progress and workers). A source that writes its own nodes
        (``writes_records`` False) overrides this."""
        from ingest.writer import write_dataset

        return write_dataset(store, self.records_for(store), **writer_options)
