"""The ingest sources by name: the one list that ``kgrec ingest <source>`` (one command per name),
:func:`kgrec.ingest` and :mod:`kgrec.api` read.

A source's module is imported when its name is used. ``kgrec ingest <name>`` is generated from the
class: its ``description`` is the help, its ``cli_options`` the options beyond the common ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_store.errors import ConfigError
from kg_store.registry import Registry, Target

if TYPE_CHECKING:
    from ingest.protocol import Source

SOURCES: Registry[Source] = Registry("ingest source", {
    "cikg": "ingest.cikg:CikgSource",
    "kgat": "ingest.cikg:KgatSource",
    "movielens": "ingest.movielens:MovieLensSource",
    "neo4j": "ingest.linked:Neo4jGraphSource",
    "recbole": "ingest.recbole:RecBoleSource",
    "table": "ingest.table:TableSource",
})


def names() -> list[str]:
    return SOURCES.names()


def get(name: str) -> type[Source]:
    """The source class of ``name``; an unknown name lists the known ones."""
    return SOURCES.get(name)


def register(name: str, target: Target) -> None:
    """Add a source as ``"module:Class"`` (imported when named) or as a class; register it before
    :mod:`kgrec.cli` is imported for ``kgrec ingest <name>`` to exist."""
    SOURCES.register(name, target)


def create(source: str | type[Source] | Source, path: Path | str | None = None, dataset: str | None = None,
           **options: Any) -> Source:
    """A source reading ``path`` as ``dataset`` from a name or a class (``options`` are its config
    fields), or an instance returned as is."""
    if isinstance(source, str | type):
        if path is None or dataset is None:
            raise ConfigError("A source needs the folder to read and the dataset's name.")
        return SOURCES.class_of(source).from_options(path, dataset, **options)
    if path is not None or dataset is not None or options:
        raise ConfigError("A source instance has its folder and options already; pass a name or class instead.")
    return source


def detect(folder: Path) -> str:
    """The one source whose layout ``folder``'s files are in."""
    found = [name for name in names() if get(name).recognises(folder)]
    if len(found) == 1:
        return found[0]
    if found:
        raise ConfigError(f"The files of {folder} fit several layouts ({', '.join(found)}): name the source.")
    raise ConfigError(f"Cannot tell the layout of {folder}: name the source (kgrec.ingest('kgat', folder, ...)).")
