"""The TOML mapping of ``kgrec ingest table``: which file and which columns hold each part.

One section per part; only ``[interactions]`` is required. File paths are relative to the mapping
file; the format comes from the extension (``.csv``, ``.tsv``, ``.parquet``, and ``.csv.gz``-style
compressed text) unless a section sets ``format``. Every key is checked here, before any table is
read: an unknown or missing key, a value of the wrong type or a missing file is an error that names
the mapping file, the section and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_store.errors import BadInputError, ConfigError

FORMATS = ("csv", "tsv", "parquet")
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")
PROPERTY_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
RESERVED_PROPERTIES = frozenset({"dataset", "id", "org_id"})


@dataclass(frozen=True)
class Section:
    """The keys one section takes: column keys name one column each, list keys one or several."""

    required: tuple[str, ...]
    columns: tuple[str, ...] = ()     # optional keys that name one column
    lists: tuple[str, ...] = ()       # optional keys that name one column or a list of them
    numbers: tuple[str, ...] = ()     # optional keys that hold a number

    @property
    def known(self) -> tuple[str, ...]:
        return (*self.required, *self.columns, *self.lists, *self.numbers, "format")


SECTIONS: dict[str, Section] = {
    "interactions": Section(("file", "user", "item"), ("rating", "timestamp", "split"), numbers=("positive_threshold",)),
    "items": Section(("file", "id"), ("title",), lists=("text",)),
    "users": Section(("file", "id"), lists=("attributes",)),
    "triples": Section(("file", "head", "relation", "tail")),
    "item_entities": Section(("file", "item", "entity")),
}


@dataclass(frozen=True)
class TableFile:
    """One mapped table: where it is, how it is stored, and the column of each mapping key."""

    mapping: Path
    section: str
    path: Path
    format: str
    columns: dict[str, str]                                      # key -> column, single-column keys
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)   # key -> columns
    numbers: dict[str, float] = field(default_factory=dict)

    def key(self, name: str) -> str:
        """How a message names a mapping key: ``mapping.toml [interactions] rating``."""
        return f"{self.mapping.name} [{self.section}] {name}"

    def needed(self) -> list[str]:
        """Every column the mapping names, once each, in mapping order."""
        names = [*self.columns.values(), *(c for cols in self.lists.values() for c in cols)]
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class TableMapping:
    path: Path
    interactions: TableFile
    items: TableFile | None = None
    users: TableFile | None = None
    triples: TableFile | None = None
    item_entities: TableFile | None = None

    def tables(self) -> dict[str, TableFile]:
        """The mapped tables by section, in section order."""
        return {name: table for name in SECTIONS if (table := getattr(self, name)) is not None}


def _fail(mapping: Path, message: str) -> ConfigError:
    return ConfigError(f"{mapping}: {message}")


def file_format(path: Path, given: str | None) -> str | None:
    """``given`` when set, else the format the extension names (None when it names none)."""
    if given is not None:
        return given
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    return _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None


def _text(mapping: Path, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(mapping, f"{where} must be a non-empty string, not {value!r}")
    return value


def _columns(mapping: Path, where: str, value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _fail(mapping, f"{where} must name at least one column")
    return tuple(_text(mapping, where, v) for v in values)


def _number(mapping: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(mapping, f"{where} must be a finite number, not {value!r}")
    return float(value)


def _table_file(mapping: Path, name: str, body: Any) -> TableFile:
    spec = SECTIONS[name]
    if not isinstance(body, dict):
        raise _fail(mapping, f"[{name}] must be a table of keys, not {body!r}")
    unknown = sorted(set(body) - set(spec.known))
    if unknown:
        raise _fail(mapping, f"[{name}] has no key {unknown[0]!r}; it takes {', '.join(spec.known)}")
    missing = [key for key in spec.required if key not in body]
    if missing:
        raise _fail(mapping, f"[{name}] needs the key {missing[0]!r} (it needs {', '.join(spec.required)})")
    path = mapping.parent / _text(mapping, f"[{name}] file", body["file"])
    given = _text(mapping, f"[{name}] format", body["format"]) if "format" in body else None
    if given is not None and given not in FORMATS:
        raise _fail(mapping, f"[{name}] format must be one of {', '.join(FORMATS)}, not {given!r}")
    form = file_format(path, given)
    if form is None:
        raise _fail(mapping, f"[{name}] file {path.name!r}: cannot tell its format from the extension; "
                             f"set format = one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise BadInputError(path, None, f"file not found (named by {mapping.name} [{name}] file)")
    single = {k: _text(mapping, f"[{name}] {k}", body[k]) for k in (*spec.required[1:], *spec.columns) if k in body}
    lists = {k: _columns(mapping, f"[{name}] {k}", body[k]) for k in spec.lists if k in body}
    numbers = {k: _number(mapping, f"[{name}] {k}", body[k]) for k in spec.numbers if k in body}
    return TableFile(mapping, name, path, form, single, lists, numbers)


def _check_properties(table: TableFile) -> None:
    for column in table.lists.get("attributes", ()):
        if not PROPERTY_NAME.fullmatch(column) or column in RESERVED_PROPERTIES:
            raise _fail(table.mapping, f"[users] attributes: column {column!r} cannot be a property name (use "
                                       f"[a-z_][a-z0-9_]*, not {', '.join(sorted(RESERVED_PROPERTIES))})")


def read_mapping(path: Path) -> TableMapping:
    """Parse and check a mapping file; raises ``ConfigError`` or ``BadInputError`` naming the key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(path, None, "mapping file not found") from None
    except IsADirectoryError:
        raise BadInputError(path, None, "is a folder: give the mapping file (a .toml file)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInputError(path, None, f"not a valid TOML file ({exc})") from None
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise _fail(path, f"unknown section or key {unknown[0]!r}; the sections are {', '.join(SECTIONS)}")
    if "interactions" not in raw:
        raise _fail(path, "no [interactions] section (it is the one required part)")
    tables = {name: _table_file(path, name, raw[name]) for name in SECTIONS if name in raw}
    interactions = tables["interactions"]
    if "positive_threshold" in interactions.numbers and "rating" not in interactions.columns:
        raise _fail(path, "[interactions] positive_threshold needs a rating column ([interactions] rating)")
    if "item_entities" in tables and "triples" not in tables:
        raise _fail(path, "[item_entities] needs a [triples] section: links tie items to the KG's entities")
    if "users" in tables:
        _check_properties(tables["users"])
    return TableMapping(path, **tables)
