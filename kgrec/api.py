"""Connect and ingest with an explicit store: the layer under :func:`kgrec.connect` and
:func:`kgrec.ingest`, which the CLI calls too.

Typical use::

    from ingest.locate import locate_dataset
    from kgrec.api import connect, ingest_cikg
    store = connect()                       # NEO4J_URI & co., else the local server
    report = ingest_cikg(store, locate_dataset("dbbook2014"), dataset="dbbook2014")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest import IngestReport, get_source
from ingest.splits import SplitConfig
from ingest.writer import DEFAULT_INGEST_WORKERS
from kg_store.batching import DEFAULT_BATCH_SIZE
from kg_store.connection import GraphStore
from kg_store.local_server import LocalNeo4j, ServerOptions, ServerStatus
from kg_store.progress import Progress
from kg_store.settings import default_local_home, resolve_settings

if TYPE_CHECKING:
    from ingest.catalog import CatalogEntry


def connect(database: str | None = None, local_home: Path | None = None) -> GraphStore:
    """A verified connection: environment settings first, else the local server's."""
    store = GraphStore(resolve_settings(local_home=local_home, database=database))
    store.verify()
    return store


def start_local_neo4j(home: Path | None = None, options: ServerOptions | None = None) -> ServerStatus:
    """Start (or find running) the local Neo4j in ``home``, whatever NEO4J_URI says
    (:func:`kgrec.start_local_neo4j` skips it when NEO4J_URI is set)."""
    return LocalNeo4j(home or default_local_home(), options).start()


def ingest(store: GraphStore, source: str, path: Path | str, dataset: str, batch_size: int = DEFAULT_BATCH_SIZE,
           progress: Progress = None, workers: int = DEFAULT_INGEST_WORKERS, **options: Any) -> IngestReport:
    """Validate a folder (``table``: a mapping file) completely with the named source (``cikg``,
    ``kgat``, ``movielens``, ``recbole``, ``table``), then write it idempotently, ``workers``
    sessions per step. ``options`` are the source's config fields."""
    made = get_source(source).from_options(path, dataset, **options)
    return made.ingest_into(store, batch_size=batch_size, progress=progress, workers=workers)


def ingest_bulk(store: GraphStore, source: str, path: Path | str, dataset: str, progress: Progress = None,
                local_home: Path | None = None, **options: Any) -> IngestReport:
    """Like :func:`ingest`, but through Neo4j's import tool: only into the **empty** database of kgrec's
    own local server (in ``local_home``), which is **stopped and restarted** (see :mod:`ingest.bulk`).

    Refuses (``BulkRefusedError``) for a server kgrec does not run (``NEO4J_URI``, Docker) or a
    database that holds any node; the graph is the one :func:`ingest` would write.
    """
    from ingest.bulk import bulk_write_dataset, check_bulk_target

    server = LocalNeo4j(local_home or default_local_home())
    check_bulk_target(store, server)   # before parsing: a refusal should not wait for a large source
    records = get_source(source).from_options(path, dataset, **options).read()
    return bulk_write_dataset(store, server, records, progress=progress)


def ingest_cikg(store: GraphStore, path: Path | str, dataset: str, batch_size: int = DEFAULT_BATCH_SIZE,
                skip_bad_lines: bool = False, progress: Progress = None) -> IngestReport:
    """Validate a CIKG-layout folder completely, then write it (idempotent)."""
    return ingest(store, "cikg", path, dataset, batch_size, progress, skip_bad_lines=skip_bad_lines)


def ingest_movielens(store: GraphStore, path: Path | str, dataset: str, batch_size: int = DEFAULT_BATCH_SIZE,
                     skip_bad_lines: bool = False, progress: Progress = None,
                     split: SplitConfig | None = None) -> IngestReport:
    """Validate MovieLens 100K/1M raw files completely, then write them (idempotent)."""
    split = split or SplitConfig()
    return ingest(store, "movielens", path, dataset, batch_size, progress, skip_bad_lines=skip_bad_lines,
                  test_ratio=split.test_ratio, split_seed=split.seed)


@dataclass(frozen=True)
class NamedDataset:
    """A catalog dataset as a command resolved it, once: its entry and the folder the lookup order found."""

    entry: CatalogEntry
    folder: Path


def resolve_named(name: str, path: Path | str | None = None) -> NamedDataset:
    """The catalog entry of ``name`` (an unknown name is an error listing the known ones), then its
    folder: ``path`` when given, else the first place of the lookup order that has it."""
    from ingest.catalog import get_entry
    from ingest.locate import locate_dataset

    entry = get_entry(name)
    return NamedDataset(entry, locate_dataset(name, Path(path) if path is not None else None))


def ingest_named(store: GraphStore, name: str | NamedDataset, dataset: str | None = None,
                 path: Path | str | None = None, batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress = None,
                 skip_bad_lines: bool = False, verify: bool = True, bulk: bool = False,
                 local_home: Path | None = None, workers: int = DEFAULT_INGEST_WORKERS) -> IngestReport:
    """Load a catalog dataset found by the one lookup order, checksums verified, with its layout's source.

    ``name``: a catalog name, resolved here (with ``path``), or the :class:`NamedDataset` a command
    already resolved, which is not looked up again. ``verify=False`` loads a folder whose files
    differ from the catalog's (a copy you edited, or MovieLens 1M without timestamps); the source
    still validates every line. ``bulk``: through the import tool, as :func:`ingest_bulk` (empty
    database of kgrec's local server, which is restarted).
    """
    from ingest.download import verify_folder

    named = name if isinstance(name, NamedDataset) else resolve_named(name, path)
    entry, folder = named.entry, named.folder
    if verify:
        verify_folder(entry, folder)
    if bulk:
        return ingest_bulk(store, entry.layout, folder, dataset or entry.name, progress, local_home,
                           skip_bad_lines=skip_bad_lines)
    return ingest(store, entry.layout, folder, dataset or entry.name, batch_size, progress, workers,
                  skip_bad_lines=skip_bad_lines)
