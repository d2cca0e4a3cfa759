"""The file formats by name: what ``kgrec export --format`` accepts."""

from __future__ import annotations

from kg_store.errors import ConfigError
from kg_store.formats.base import FileFormat
from kg_store.formats.cikg import CikgFormat
from kg_store.formats.kgat import KgatFormat
from kg_store.formats.pykeen import PykeenFormat
from kg_store.formats.recbole import RecboleFormat

_FORMATS: dict[str, FileFormat] = {fmt.name: fmt for fmt in (CikgFormat(), KgatFormat(), RecboleFormat(),
                                                                PykeenFormat())}


def format_names() -> list[str]:
    return sorted(_FORMATS)


def get_format(name: str) -> FileFormat:
    """The format registered under ``name``; an unknown name lists the known ones."""
    try:
        return _FORMATS[name]
    except KeyError:
        raise ConfigError(f"No export format '{name}'; known formats: {', '.join(format_names())}.") from None
