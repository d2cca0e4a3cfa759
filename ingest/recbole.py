"""RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html) as an ingest source.

RecBole ships its benchmark datasets as tab-separated files whose first line declares each column
as ``name:type`` (``token``, ``token_seq``, ``float``, ``float_seq``), all named after one stem:
``<stem>.inter`` (or pre-split ``<stem>.train.inter`` / ``.valid.inter`` / ``.test.inter``),
``<stem>.user``, ``<stem>.item``, ``<stem>.kg`` (``head_id relation_id tail_id``) and
``<stem>.link`` (``item_id entity_id``). Only the interactions are required. Reading them is
:mod:`ingest.recbole_atomic`; this module maps what was read onto the graph.

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
- ``.kg`` / ``.link`` as ``kgrec export --format recbole`` writes them: its placeholder triples
  (relations ``kgrec:self`` and ``kgrec:same_entity``) and entities (``kgrec:item:<id>``), which
  are there only for RecBole's loader, are dropped, and an item on a ``kgrec:same_entity`` triple is
  linked to that triple's entity (:mod:`kg_store.formats.recbole_kg`).
- ``token_seq`` values are split on spaces, RecBole's default separator, or on commas when the value
  has any (lists some converters write comma-separated).
- Splits: RecBole's own split files when present (training then validates on ``valid``, carving none);
  otherwise each user's share ``test_ratio`` goes to test, latest first when every interaction of the
  user has a timestamp, else by a seeded shuffle (:mod:`ingest.splits`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ingest.protocol import Source, SourceOutput
from ingest.reader import BadLinePolicy, Line
from ingest.recbole_atomic import (
    INTEGER,
    AtomicFiles,
    Column,
    Field,
    Header,
    Interaction,
    InteractionTable,
    Pair,
    read_features,
    read_header,
    read_kg,
    read_links,
    sequence,
    text_value,
    typed_value,
)
from ingest.records import KnowledgeGraphSchema, Props, RecordBatch, RecordKind
from ingest.splits import SPLIT_OPTIONS, SplitSourceConfig, assign_splits
from kg_store.errors import BadInputError
from kg_store.formats.recbole_kg import restore_links
from kg_store.graph_model import relation_types_for

TITLE_FIELDS = ("movie_title", "title", "item_name", "name")
GENRE_FIELDS = ("genre", "genres", "class")
YEAR_FIELD = "release_year"
RESERVED_PROPERTIES = frozenset({"dataset", "id", "org_id"})
USER_PROPERTY_NAMES = {"zip_code": "zip"}  # RecBole's column name -> the graph model's property
_PROPERTY_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_CANONICAL_ID = re.compile(r"0|[1-9][0-9]{0,17}")  # no sign, no leading zeros: the token is the id

T = TypeVar("T")
Notes = Generator[str, None, T]  # yields notes for the user, returns what it read


# -- which columns become properties -------------------------------------------------------------
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
    if all(INTEGER.fullmatch(t) for t in unique):
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
        triples, links = restore_links(triples, links)  # without kgrec's own placeholders for RecBole
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
