"""RecBole atomic files read as typed tables: which files a folder holds, headers, values, rows.

An atomic file is tab-separated; its first line declares each column as ``name:type`` (``token``,
``token_seq``, ``float``, ``float_seq``). This module knows the format only; which columns become
which graph properties, and the ids they get, is :mod:`ingest.recbole`'s job.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.reader import BadLinePolicy, Line, LineReader, read_rows
from ingest.records import Props
from kg_store.errors import BadInputError

SPLIT_SUFFIXES = (("train", ".train.inter"), ("valid", ".valid.inter"), ("test", ".test.inter"))
FILE_SUFFIXES = tuple(suffix for _, suffix in SPLIT_SUFFIXES) + (".inter", ".user", ".item", ".kg", ".link")
FIELD_TYPES = frozenset({"token", "token_seq", "float", "float_seq"})
INTEGER = re.compile(r"[+-]?[0-9]+")

Number = int | float
Pair = tuple[str, str]


# -- which files ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AtomicFiles:
    """The atomic files of one dataset folder, by kind; ``None`` where the folder has none."""

    folder: Path
    stem: str

    def path(self, suffix: str) -> Path | None:
        path = self.folder / f"{self.stem}{suffix}"
        return path if path.is_file() else None

    def split_files(self) -> list[tuple[str, Path]]:
        return [(split, path) for split, suffix in SPLIT_SUFFIXES if (path := self.path(suffix))]

    @classmethod
    def find(cls, folder: Path) -> AtomicFiles:
        """The folder's one stem: RecBole reads a dataset from a folder named after it, one per folder."""
        if not folder.is_dir():
            raise BadInputError(folder, None, "not a folder")
        stems = sorted({_stem(p.name) for p in folder.iterdir() if p.is_file() and _stem(p.name)})
        if len(stems) != 1:
            found = f"atomic files of {len(stems)} datasets ({', '.join(stems)})" if stems else "no atomic files"
            raise BadInputError(folder, None, f"expected the atomic files of exactly one dataset "
                                              f"(<stem>.inter, <stem>.item, ...), found {found}")
        files = cls(folder, stems[0])
        if files.path(".inter") is None and not files.split_files():
            raise BadInputError(folder / f"{files.stem}.inter", None,
                                f"file not found (nor {files.stem}.train.inter): interactions are required")
        return files


def _stem(name: str) -> str:
    for suffix in FILE_SUFFIXES:  # longest first: 'x.train.inter' has stem 'x', not 'x.train'
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return ""


# -- headers and typed values --------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    index: int


@dataclass(frozen=True)
class Header:
    """The ``name:type`` columns of an atomic file, by name."""

    path: Path
    fields: dict[str, Field]

    def get(self, *names: str) -> Field | None:
        """The first of ``names`` the file has."""
        return next((self.fields[name] for name in names if name in self.fields), None)

    def require(self, name: str) -> Field:
        if name not in self.fields:
            raise BadInputError(self.path, 1, f"the header has no '{name}' column "
                                              f"(columns: {', '.join(self.fields)})", name)
        return self.fields[name]


def read_header(path: Path) -> Header:
    """Parse line 1 alone, so the rows can then be streamed by :class:`LineReader` without a second pass."""
    try:
        with path.open("rb") as handle:
            raw = handle.readline()
    except OSError as exc:
        raise BadInputError(path, None, f"cannot read file: {exc.strerror}") from None
    if not raw.strip():
        raise BadInputError(path, 1 if raw else None, "file is empty" if not raw else "line 1 must be the header")
    try:
        text = raw.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise BadInputError(path, 1, "the header is not valid utf-8") from None
    fields: dict[str, Field] = {}
    for index, column in enumerate(text.split("\t")):
        name, _, kind = column.strip().rpartition(":")
        if not name or kind not in FIELD_TYPES:
            raise BadInputError(path, 1, f"column {index + 1} {column.strip()!r} is not name:type with type "
                                         f"one of {', '.join(sorted(FIELD_TYPES))}", column.strip() or None)
        if name in fields:
            raise BadInputError(path, 1, "the column appears twice", name)
        fields[name] = Field(name, kind, index)
    return Header(path, fields)


def text_value(line: Line, field: Field) -> str:
    return line.fields[field.index]


def token(line: Line, field: Field) -> str:
    """An id token, interned: a user's token repeats on every line of a large ``.inter`` file."""
    value = text_value(line, field)
    if not value:
        raise line.error("the id is empty", field.name)
    return sys.intern(value)


def number(line: Line, field: Field | None) -> Number | None:
    """A number as written: ``3`` stays an int, ``3.5`` a float; empty (or no such column) is None."""
    text = text_value(line, field) if field is not None else ""
    return parse_number(line, text, field.name) if text else None


def parse_number(line: Line, text: str, field_name: str) -> Number:
    if INTEGER.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise line.error(f"{text[:40]!r} is not a number", field_name) from None
    if not math.isfinite(value):
        raise line.error(f"{text!r} is not a finite number", field_name)
    return value


def whole_number(line: Line, field: Field | None) -> Number | None:
    """Timestamps: an int when integral (``881250949.0`` -> ``881250949``)."""
    value = number(line, field)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def sequence(text: str) -> list[str]:
    """A ``token_seq``: RecBole separates with spaces; lists converted with commas are split on those."""
    parts = text.split(",") if "," in text else text.split()
    return [part.strip() for part in parts if part.strip()]


def typed_value(line: Line, field: Field) -> Any:
    """A column's value as its header declares it; None when empty."""
    text = text_value(line, field)
    if not text:
        return None
    if field.kind == "token":
        return text
    if field.kind == "token_seq":
        return sequence(text)
    if field.kind == "float":
        return number(line, field)
    return [parse_number(line, part, field.name) for part in text.split()]


# -- tables --------------------------------------------------------------------------------------
def read_lines(path: Path, header: Header, parse: Callable[[Line], Any], policy: BadLinePolicy) -> list:
    """Rows 2.. of an atomic file, each checked for the header's column count before ``parse``."""
    def checked(line: Line) -> Any:
        line.expect_columns(len(header.fields))
        return parse(line)

    return read_rows(LineReader(path, "\t", header=True), checked, policy)


Column = tuple[Field, str, Callable[[Line, Field], Any]]  # header field, property name, converter


def read_features(header: Header, id_name: str, columns: list[Column], policy: BadLinePolicy) -> dict[str, Props]:
    """``{token: properties}`` of a ``.user`` / ``.item`` file; a token given twice differently is an error."""
    id_field = header.require(id_name)
    table: dict[str, Props] = {}
    repeated = 0

    def parse(line: Line) -> None:
        nonlocal repeated
        key = token(line, id_field)
        props = {name: value for field, name, convert in columns if (value := convert(line, field)) not in (None, [])}
        if key in table and table[key] != props:
            raise line.error(f"{id_name} {key} is listed twice with different values", id_name)
        repeated += key in table
        table[key] = props

    read_lines(header.path, header, parse, policy)
    policy.count_duplicates(header.path, repeated)
    return table



def read_kg(path: Path, policy: BadLinePolicy) -> list[tuple[str, str, str]]:
    """Unique (head, relation, tail) tokens; a repeated triple is counted and loaded once."""
    header = read_header(path)
    head, relation, tail = (header.require(name) for name in ("head_id", "relation_id", "tail_id"))
    rows = read_lines(path, header, lambda line: (token(line, head), token(line, relation), token(line, tail)),
                      policy)
    unique = list(dict.fromkeys(rows))
    policy.count_duplicates(path, len(rows) - len(unique))
    return unique


def read_links(path: Path, policy: BadLinePolicy) -> dict[str, str]:
    """``{item token: entity token}``; kgrec ties an item to one entity, so two different ones are an error."""
    header = read_header(path)
    item, entity = header.require("item_id"), header.require("entity_id")
    links: dict[str, str] = {}
    repeated = 0

    def parse(line: Line) -> None:
        nonlocal repeated
        key, value = token(line, item), token(line, entity)
        if links.get(key, value) != value:
            raise line.error(f"item {key} is already linked to entity {links[key]}", "entity_id")
        repeated += key in links
        links[key] = value

    read_lines(path, header, parse, policy)
    policy.count_duplicates(path, repeated)
    return links


# -- interactions --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Interaction:
    split: str
    rating: Number | None
    ts: Number | None

    def replaces(self, earlier: Interaction) -> bool:
        """A repeated pair keeps its latest interaction: by timestamp when both have one, else file order."""
        if self.ts is not None and earlier.ts is not None:
            return self.ts >= earlier.ts
        return True


class InteractionTable:
    """Interactions by (user, item) token pair, read from one or several split files."""

    def __init__(self) -> None:
        self.pairs: dict[Pair, Interaction] = {}
        self.files: dict[str, str] = {}  # split -> file name, for errors

    def read(self, path: Path, split: str, policy: BadLinePolicy) -> None:
        header = read_header(path)
        user, item = header.require("user_id"), header.require("item_id")
        rating, ts = header.get("rating"), header.get("timestamp")
        self.files[split] = path.name
        repeated = 0

        def parse(line: Line) -> None:
            nonlocal repeated
            pair = (token(line, user), token(line, item))
            current = Interaction(split, number(line, rating), whole_number(line, ts))
            earlier = self.pairs.get(pair)
            if earlier is not None and earlier.split != split:
                raise line.error(f"pair ({pair[0]}, {pair[1]}) is already in the {earlier.split} split "
                                 f"({self.files[earlier.split]})", "item_id")
            repeated += earlier is not None
            if earlier is None or current.replaces(earlier):
                self.pairs[pair] = current

        read_lines(path, header, parse, policy)
        policy.count_duplicates(path, repeated)
