"""The export formats by name: the one list that ``kgrec export --format`` and
:func:`kgrec.export` read. A format's module is imported when its name is used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg_store.registry import Registry, Target

if TYPE_CHECKING:
    from kg_store.formats.base import FileFormat

FORMATS: Registry[FileFormat] = Registry("export format", {
    "cikg": "kg_store.formats.cikg:CikgFormat",
    "kgat": "kg_store.formats.kgat:KgatFormat",
    "pykeen": "kg_store.formats.pykeen:PykeenFormat",
    "recbole": "kg_store.formats.recbole:RecboleFormat",
})


def names() -> list[str]:
    return FORMATS.names()


def get(name: str) -> type[FileFormat]:
    """The format class of ``name``; an unknown name lists the known ones."""
    return FORMATS.get(name)


def register(name: str, target: Target) -> None:
    """Add a format as ``"module:Class"`` (imported when named) or as a class."""
    FORMATS.register(name, target)


def create(file_format: str | type[FileFormat] | FileFormat, **kwargs: Any) -> FileFormat:
    """A format to write with, from a name, a class or an instance (returned as is)."""
    return FORMATS.create(file_format, **kwargs)


def format_names() -> list[str]:
    """The names ``kgrec export --format`` accepts (:func:`names`)."""
    return names()


def get_format(name: str) -> FileFormat:
    """The format ``name``, ready to write (:func:`create` from a name)."""
    return create(name)
