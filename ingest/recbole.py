"""RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html) as an ingest source.

RecBole ships its benchmark datasets as tab-separated files whose first line declares each column
as ``name:type`` (``token``, ``token_seq``, ``float``, ``float_seq``), all named after one stem:
``<stem>.inter`` (or pre-split ``<stem>.train.inter`` / ``.valid.inter`` / ``.test.inter``),
``<stem>.user``, ``<stem>.item``, ``<stem>.kg`` (``head_id relation_id tail_id``) and
``<stem>.link`` (``item_id entity_id``). Only the interactions are required.

What goes where, and why:

- RecBole ids are string tokens, kgrec ids are integers. When every user (item, entity) token is a
  plain non-negative integer it is the id, so an exported graph reads back with its own ids;
  otherwise they get ids ``0..n-1`` in sorted token order, so a re-run assigns the same ids. The
  token is kept as ``org_id``. Relations are numbered ``0..n-1`` in sorted order (the relation list).
- ``zip_code`` (RecBole's name in its MovieLens files) is stored as ``zip``, the graph model's name.
- ``user_id`` / ``item_id`` (RecBole's default field names) identify the pair; optional ``rating``
  and ``timestamp`` go to the ``INTERACTED`` edge. Other ``.inter`` columns are not loaded. A pair
  repeated in one file is counted in the report and loaded once (the latest timestamp wins, else the
  later line); a pair in two split files is an error.
- ``.item``: the first of ``movie_title``, ``title``, ``item_name``, ``name`` becomes ``title``
  (a ``token_seq`` title is kept as written), ``genre`` / ``genres`` / ``class`` becomes ``genres``
  (a list), and ``release_year`` becomes ``year`` when it is a whole number, because the graph model
  has these properties for MovieLens too. Other item columns (descriptions, prices, ...) stay out.
- ``.user``: every column becomes a user property of the same name (``age``, ``gender``,
  ``occupation``, ``zip_code``, ...), typed as its header says, when the name matches
  ``[a-z_][a-z0-9_]*`` and is not one of kgrec's keys; other columns are skipped with a note.
- ``.user`` / ``.item`` are feature tables, not catalogues (RecBole tolerates missing rows), so users
  and items are those of the feature files and the interactions together. A ``.link`` line whose item
  is in neither is not loaded, with a note: such links appear where the link file covers a larger
  catalogue than the interactions, and they carry nothing the graph can use. An item linked to two
  different entities is an error (kgrec ties each item to one entity).
- ``token_seq`` values are split on spaces, RecBole's default separator, or on commas when the value
  has any (lists some converters write comma-separated).
- Splits: RecBole's own split files when present (training then validates on ``valid``, carving none);
  otherwise each user's share ``test_ratio`` goes to test, latest first when every interaction of the
  user has a timestamp, else by a seeded shuffle (:mod:`ingest.splits`).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ingest.protocol import Source, SourceOutput
from ingest.reader import BadLinePolicy, Line, LineReader, read_rows
from ingest.records import KnowledgeGraphSchema, Props, RecordBatch, RecordKind
from ingest.splits import SPLIT_OPTIONS, SplitSourceConfig, assign_splits
from kg_store.errors import BadInputError
from kg_store.graph_model import relation_types_for

SPLIT_SUFFIXES = (("train", ".train.inter"), ("valid", ".valid.inter"), ("test", ".test.inter"))
FILE_SUFFIXES = tuple(suffix for _, suffix in SPLIT_SUFFIXES) + (".inter", ".user", ".item", ".kg", ".link")
FIELD_TYPES = frozenset({"token", "token_seq", "float", "float_seq"})
TITLE_FIELDS = ("movie_title", "title", "item_name", "name")
GENRE_FIELDS = ("genre", "genres", "class")
YEAR_FIELD = "release_year"
RESERVED_PROPERTIES = frozenset({"dataset", "id", "org_id"})
USER_PROPERTY_NAMES = {"zip_code": "zip"}  # RecBole's column name -> the graph model's property
_PROPERTY_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_CANONICAL_ID = re.compile(r"0|[1-9][0-9]{0,17}")  # no sign, no leading zeros: the token is the id

Number = int | float
Pair = tuple[str, str]
T = TypeVar("T")
Notes = Generator[str, None, T]  # yields notes for the user, returns what it read


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
    if _INTEGER.fullmatch(text):
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


def _genres(line: Line, field: Field) -> list[str]:
    text = text_value(line, field)
    return sequence(text) if field.kind == "token_seq" else [text] if text else []


def _year(line: Line, field: Field) -> int | None:
    """A whole-number year, else nothing: a year that is not one should not stop the load."""
    try:
        value = float(text_value(line, field))
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


def _title(line: Line, field: Field) -> str | None:
    return text_value(line, field) or None  # a token_seq title is kept as written, spaces and all


def item_columns(header: Header) -> list[Column]:
    """The few item columns kgrec keeps: title, genres and year (see the module docstring)."""
    columns: list[Column] = []
    if title := header.get(*TITLE_FIELDS):
        columns.append((title, "title", _title))
    if genres := header.get(*GENRE_FIELDS):
        columns.append((genres, "genres", _genres))
    if year := header.get(YEAR_FIELD):
        columns.append((year, "year", _year))
    return columns


def user_columns(header: Header, id_name: str = "user_id") -> tuple[list[Column], list[str]]:
    """Every allow-listed column as a same-named property, and the names that were skipped."""
    columns: list[Column] = []
    skipped: list[str] = []
    for name, field in header.fields.items():
        if name == id_name:
            continue
        if _PROPERTY_NAME.fullmatch(name) and name not in RESERVED_PROPERTIES:
            columns.append((field, USER_PROPERTY_NAMES.get(name, name), typed_value))
        else:
            skipped.append(name)
    return columns, skipped


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


# -- ids -----------------------------------------------------------------------------------------
def node_ids(tokens: Iterable[str]) -> dict[str, int]:
    """Token -> node id. Canonical non-negative integer tokens keep their value, so a graph exported
    with ``kgrec export --format recbole`` reads back with the same ids; any other token set is
    numbered as :func:`assign_ids` does."""
    unique = set(tokens)
    if all(_CANONICAL_ID.fullmatch(t) for t in unique):
        return {t: int(t) for t in unique}
    return assign_ids(unique)


def assign_ids(tokens: Iterable[str]) -> dict[str, int]:
    """Token -> 0..n-1 in sorted order (numeric when every token is an integer): the same on every run."""
    unique = set(tokens)
    if all(_INTEGER.fullmatch(t) for t in unique):
        ordered = sorted(unique, key=lambda t: (int(t), t))
    else:
        ordered = sorted(unique)
    return {t: k for k, t in enumerate(ordered)}


def node_rows(ids: dict[str, int], features: dict[str, Props]) -> list[tuple[int, Props]]:
    return [(k, {"org_id": t, **features.get(t, {})}) for t, k in ids.items()]


# -- the source ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecBoleConfig(SplitSourceConfig):
    """The split options apply only without RecBole's own split files (see ``SplitSourceConfig``)."""


class RecBoleSource(Source):
    """RecBole atomic files: interactions (split or not), user and item features, a KG and item links."""

    name = "recbole"
    config_class = RecBoleConfig
    description = "Load RecBole atomic files (.inter, .item, .user, .kg, .link; split files when present)."
    cli_options = SPLIT_OPTIONS

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        return any(folder.glob("*.inter"))

    def generate(self, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        files = AtomicFiles.find(self.config.path)
        interactions = yield from self._interactions(files, policy)
        users = yield from self._users(files, policy)
        items = self._items(files, policy)
        user_ids = node_ids([*users, *(u for u, _ in interactions)])
        item_ids = node_ids([*items, *(i for _, i in interactions)])
        rows = [(user_ids[u], item_ids[i], x.split, x.rating, x.ts) for (u, i), x in interactions.items()]
        if not files.split_files():
            rows = assign_splits(rows, self.config.split)
        yield RecordBatch(RecordKind.USERS, node_rows(user_ids, users))
        yield RecordBatch(RecordKind.ITEMS, node_rows(item_ids, items))
        yield RecordBatch(RecordKind.INTERACTIONS, rows)
        yield from self._knowledge_graph(files, item_ids, policy)
        yield "RecBole atomic files carry no user interests (has_interests = false)"

    def _interactions(self, files: AtomicFiles, policy: BadLinePolicy) -> Notes[dict[Pair, Interaction]]:
        """RecBole's split files when there are any (its benchmark files), else ``<stem>.inter`` as train."""
        table = InteractionTable()
        split_files = files.split_files()
        for split, path in split_files or [("train", files.path(".inter"))]:
            table.read(path, split, policy)
        if not table.pairs:
            raise BadInputError(files.folder, None, f"no interactions in {files.stem}'s interaction file(s)")
        if split_files and files.path(".inter"):
            yield f"{files.stem}.inter not read: the split files {', '.join(p.name for _, p in split_files)} are used"
        if split_files and "test" not in dict(split_files):
            yield f"no {files.stem}.test.inter: no interaction is in the test split"
        return table.pairs

    def _users(self, files: AtomicFiles, policy: BadLinePolicy) -> Notes[dict[str, Props]]:
        path = files.path(".user")
        if path is None:
            return {}
        header = read_header(path)
        columns, skipped = user_columns(header)
        if skipped:
            yield (f"{path.name}: column(s) {', '.join(skipped)} not loaded (property names must match "
                   f"[a-z_][a-z0-9_]* and not be {', '.join(sorted(RESERVED_PROPERTIES))})")
        return read_features(header, "user_id", columns, policy)

    def _items(self, files: AtomicFiles, policy: BadLinePolicy) -> dict[str, Props]:
        path = files.path(".item")
        if path is None:
            return {}
        header = read_header(path)
        return read_features(header, "item_id", item_columns(header), policy)

    def _knowledge_graph(self, files: AtomicFiles, item_ids: dict[str, int],
                         policy: BadLinePolicy) -> Iterator[SourceOutput]:
        kg_path, link_path = files.path(".kg"), files.path(".link")
        triples = read_kg(kg_path, policy) if kg_path else []
        links = read_links(link_path, policy) if link_path else {}
        if kg_path is None:
            yield f"no {files.stem}.kg: loaded without an item knowledge graph (has_kg = false)"
        elif link_path is None:
            yield f"no {files.stem}.link: the KG's entities are not tied to items"
        dangling = sorted(item for item in links if item not in item_ids)
        if dangling:
            yield (f"{len(dangling)} line(s) of {files.stem}.link name items with neither interactions nor a line "
                   f"in {files.stem}.item (first: {dangling[0]}); those links were not loaded")
        links = {item: entity for item, entity in links.items() if item in item_ids}
        entity_ids = node_ids([*(e for h, _, t in triples for e in (h, t)), *links.values()])
        relation_ids = assign_ids(r for _, r, _ in triples)
        if triples:
            yield KnowledgeGraphSchema(list(relation_ids), relation_types_for(list(relation_ids)))
        yield RecordBatch(RecordKind.ENTITIES, [(k, {"org_id": t}) for t, k in entity_ids.items()])
        yield RecordBatch(RecordKind.ITEM_ENTITIES, [(item_ids[i], entity_ids[e]) for i, e in links.items()])
        yield RecordBatch(RecordKind.TRIPLES,
                          [(entity_ids[h], relation_ids[r], entity_ids[t]) for h, r, t in triples])
