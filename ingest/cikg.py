"""The CIKG / KGAT file layout, as published with CIKGRec (dbbook2014, book-crossing, ml1m) and
KGAT (amazon-book, last-fm, yelp2018).

Files (space separated, 0-based ids): ``train.txt``/``test.txt`` (``user item item ...``),
``kg_final.txt`` or ``kg_final.txt.zip`` (``head relation tail``), and list files with a header:
``relation_list.txt``, ``entity_list.txt``, ``user_list.txt``, ``item_list.txt``, plus CIKGRec's
``user_interest_clustered.txt`` (``user interest``). Only ``train.txt`` is required.

The header line of a list file decides how its lines are read (:func:`read_id_list`):

- two columns (``org_id remap_id``): the id is the *last* token and ``org_id`` is everything before
  it, because KGAT's ``org_id`` may hold spaces and quotes (three double quotes, then
  ``I Love You 25708``);
- three columns (``org_id remap_id name``): the name is the rest of the line; it may hold spaces,
  be empty, or be ``None``.

In both, ``org_id`` may be empty (KGAT's amazon-book ``entity_list.txt`` has the line `` 30181``):
a two-column line of the id alone, or a three-column line that starts with a space. It is kept as
the empty string.

Item *i* is KG entity *i* in both layouts, so each item is tied to the entity with its id.
Interest ids are numbered after the entities and have no labels; they load as the interest set
``authors`` (:data:`kg_store.interest_sets.AUTHORS_SET`), with ``size`` = the users holding each.
Repeated identical lines are counted and loaded once; a list id given two different values is an
error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from ingest.protocol import Source, SourceOutput
from ingest.reader import BadLinePolicy, Line, LineReader, parse_int, read_rows
from ingest.records import (
    DatasetRecords,
    InteractionRow,
    KnowledgeGraphSchema,
    PairRow,
    Props,
    RecordBatch,
    RecordKind,
    TripleRow,
)
from kg_store.errors import BadInputError
from kg_store.graph_model import relation_types_for

SPLIT_FILES = (("train", "train.txt"), ("test", "test.txt"))
KG_FILES = ("kg_final.txt", "kg_final.txt.zip")
INTEREST_FILE = "user_interest_clustered.txt"
NONE_NAMES = frozenset({"", "None", "none", "null", "NULL"})


def display_name(uri: str) -> str:
    """Human label from a DBpedia-style URI: ``.../Dragonfly_in_Amber`` -> ``Dragonfly in Amber``."""
    return unquote(uri.rstrip("/").rsplit("/", 1)[-1]).replace("_", " ")


def _is_uri(text: str) -> bool:
    return text.startswith(("http://", "https://"))


@dataclass(frozen=True)
class ListEntry:
    """One line of a list file: the original id and, for three-column files, the name."""

    org_id: str
    name: str | None = None


def _parse_list_line(line: Line, columns: int) -> tuple[int, ListEntry]:
    if columns >= 3:
        if line.text[:1].isspace():   # an empty org_id: the line starts with the separator
            name = line.rest(1)
            return line.integer(0, "remap_id"), ListEntry("", None if name in NONE_NAMES else name)
        line.expect_columns(2, minimum=True)
        name = line.rest(2)
        return line.integer(1, "remap_id"), ListEntry(line.fields[0], None if name in NONE_NAMES else name)
    parts = line.text.strip().rsplit(None, 1)   # a lone remap_id has an empty org_id (KGAT's ' 30181')
    return line.integer(len(line.fields) - 1, "remap_id"), ListEntry(parts[0] if len(parts) == 2 else "")


def read_id_list(path: Path, policy: BadLinePolicy) -> tuple[dict[int, ListEntry], str | None]:
    """``{remap_id: entry}`` of a list file, and the name of its third column (None if absent)."""
    reader = LineReader(path, header=True)
    header = reader.header_fields()
    mapping: dict[int, ListEntry] = {}
    repeated = 0

    def parse(line: Line) -> None:
        nonlocal repeated
        remap_id, entry = _parse_list_line(line, len(header))
        earlier = mapping.get(remap_id)
        if earlier is not None and earlier != entry:
            raise line.error(f"remap_id {remap_id} is listed twice with different values", "remap_id")
        repeated += earlier is not None
        mapping[remap_id] = entry

    read_rows(reader, parse, policy)
    policy.count_duplicates(path, repeated)
    return mapping, (header[2] if len(header) >= 3 else None)


def item_properties(entry: ListEntry, name_column: str | None) -> Props:
    """Item properties: the name becomes ``title`` (a URI name gives ``uri`` and a readable title)."""
    props: Props = {"org_id": entry.org_id}
    if entry.name is None:
        return props
    if _is_uri(entry.name):
        return {**props, "uri": entry.name, "title": display_name(entry.name)}
    if name_column == "freebase_id":
        return {**props, "freebase_id": entry.name}
    return {**props, "title": entry.name}


def entity_properties(entry: ListEntry) -> Props:
    """Entity properties: a URI gives ``uri`` and ``name``; a three-column name gives ``name``."""
    props: Props = {}
    if _is_uri(entry.org_id):
        props = {"uri": entry.org_id, "name": display_name(entry.org_id)}
    else:
        props = {"org_id": entry.org_id}   # may be empty, as KGAT's amazon-book lists one entity
    if entry.name is not None:
        props["name"] = entry.name
    return props


class _IdCheck:
    """Checks an id against a list file, when that list file exists."""

    def __init__(self, known: set[int] | None, what: str, list_file: str):
        self.known, self.what, self.list_file = known, what, list_file

    def __call__(self, line: Line, text: str, field_name: str) -> int:
        value = parse_int(line, text, field_name)
        if self.known is not None and value not in self.known:
            raise line.error(f"{self.what} {value} is not in {self.list_file}", field_name)
        return value


def read_interactions(folder: Path, user_id: _IdCheck, item_id: _IdCheck,
                      policy: BadLinePolicy) -> list[InteractionRow]:
    """Both split files; a pair repeated in one split is counted and loaded once, across splits it is an error."""
    rows: list[InteractionRow] = []
    seen: dict[tuple[int, int], str] = {}
    for split, file_name in SPLIT_FILES:
        path = folder / file_name
        if split != "train" and not path.exists():
            continue
        repeated = 0

        def parse(line: Line, split: str = split) -> None:
            nonlocal repeated
            line.expect_columns(1, minimum=True)
            user = user_id(line, line.fields[0], "user")
            items = [item_id(line, text, f"item #{k}") for k, text in enumerate(line.fields[1:], 1)]
            for item in items:
                earlier = seen.get((user, item))
                if earlier is not None and earlier != split:
                    raise line.error(f"pair ({user}, {item}) is already in the {earlier} split", "item")
                if earlier is not None:
                    repeated += 1
                    continue
                seen[(user, item)] = split
                rows.append((user, item, split, None, None))

        read_rows(LineReader(path), parse, policy)
        policy.count_duplicates(path, repeated)
    return rows


def _fast_triples(path: Path, entity_id: _IdCheck, n_relations: int | None) -> list[TripleRow] | None:
    """The triples when every line is well formed, read as one array; ``None`` sends any file with a
    bad line to the line-by-line reader, which names the line (and may skip it)."""
    table = LineReader(path).int_table(3)
    if table is None:
        return None
    if n_relations is not None and (table[:, 1] >= n_relations).any():
        return None
    if entity_id.known is not None:
        known = np.fromiter(entity_id.known, dtype=np.int64, count=len(entity_id.known))
        if not np.isin(table[:, [0, 2]], known).all():
            return None
    return list(zip(*(column.tolist() for column in table.T), strict=True))  # 4x faster than rows of tolist()


def read_triples(path: Path, entity_id: _IdCheck, n_relations: int | None,
                 policy: BadLinePolicy) -> list[TripleRow]:
    def parse(line: Line) -> TripleRow:
        line.expect_columns(3)
        head = entity_id(line, line.fields[0], "head")
        relation = line.integer(1, "relation")
        if n_relations is not None and relation >= n_relations:
            raise line.error(f"relation {relation} is not in relation_list.txt", "relation")
        tail = entity_id(line, line.fields[2], "tail")
        return head, relation, tail

    rows = _fast_triples(path, entity_id, n_relations)
    if rows is None:
        rows = read_rows(LineReader(path), parse, policy)
    unique = list(dict.fromkeys(rows))
    policy.count_duplicates(path, len(rows) - len(unique))
    return unique


def read_user_interests(path: Path, user_id: _IdCheck, policy: BadLinePolicy) -> list[PairRow]:
    def parse(line: Line) -> PairRow:
        line.expect_columns(2)
        return user_id(line, line.fields[0], "user"), line.integer(1, "interest")

    rows = read_rows(LineReader(path), parse, policy)
    unique = list(dict.fromkeys(rows))
    policy.count_duplicates(path, len(rows) - len(unique))
    return unique


def relation_names(relations: dict[int, ListEntry] | None, triples: list[TripleRow], path: Path) -> list[str]:
    """Relation URI (or name) by relation id; ids must run 0..N-1."""
    if relations is None:
        return [f"relation_{r}" for r in range(max((r for _, r, _ in triples), default=-1) + 1)]
    missing = [k for k in range(max(relations, default=-1) + 1) if k not in relations]
    if missing:
        raise BadInputError(path, None, f"relation ids must run 0..N-1 without gaps; {missing[0]} is missing")
    return [relations[r].org_id for r in range(len(relations))]


class CikgSource(Source):
    """CIKGRec's layout: interactions, an item KG, list files and clustered user interests."""

    name = "cikg"
    description = "Load a folder in the CIKG layout (train/test, kg_final, lists, user interests)."

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        return (folder / "train.txt").is_file()

    def generate(self, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        folder = self.config.path
        if not (folder / "train.txt").exists():
            raise BadInputError(folder / "train.txt", None, "file not found (every dataset of this layout has one)")
        lists = {name: read_id_list(folder / f"{name}_list.txt", policy)
                 for name in ("user", "item", "entity", "relation") if (folder / f"{name}_list.txt").exists()}
        users, items = lists.get("user", (None, None))[0], lists.get("item", (None, None))
        user_check = _IdCheck(set(users) if users is not None else None, "user", "user_list.txt")
        item_check = _IdCheck(set(items[0]) if items[0] is not None else None, "item", "item_list.txt")
        interactions = read_interactions(folder, user_check, item_check, policy)
        if not (folder / "test.txt").exists():
            yield "no test.txt: every interaction is in the train split"
        user_rows = ([(u, {"org_id": e.org_id}) for u, e in sorted(users.items())] if users is not None
                     else [(u, {}) for u in sorted({u for u, *_ in interactions})])
        item_rows = ([(i, item_properties(e, items[1])) for i, e in sorted(items[0].items())] if items[0] is not None
                     else [(i, {}) for i in sorted({i for _, i, *_ in interactions})])
        yield RecordBatch(RecordKind.USERS, user_rows)
        yield RecordBatch(RecordKind.ITEMS, item_rows)
        yield RecordBatch(RecordKind.INTERACTIONS, interactions)
        yield from self._knowledge_graph(folder, lists, {i for i, _ in item_rows}, policy)
        yield from self._interests(folder, user_check, policy)

    def _knowledge_graph(self, folder: Path, lists: dict, item_ids: set[int],
                         policy: BadLinePolicy) -> Iterator[SourceOutput]:
        kg_path = next((folder / name for name in KG_FILES if (folder / name).exists()), None)
        if kg_path is None:
            yield "no kg_final.txt: loaded without an item knowledge graph (has_kg = false)"
            return
        relations = lists.get("relation", (None, None))[0]
        entities = lists.get("entity", (None, None))[0]
        entity_check = _IdCheck(set(entities) if entities is not None else None, "entity", "entity_list.txt")
        triples = read_triples(kg_path, entity_check, len(relations) if relations is not None else None, policy)
        names = relation_names(relations, triples, folder / "relation_list.txt")
        yield KnowledgeGraphSchema(names, relation_types_for(names))
        entity_rows = ([(e, entity_properties(entry)) for e, entry in sorted(entities.items())] if entities is not None
                       else [(e, {}) for e in sorted({e for h, _, t in triples for e in (h, t)})])
        yield RecordBatch(RecordKind.ENTITIES, entity_rows)
        yield RecordBatch(RecordKind.ITEM_ENTITIES, [(e, e) for e, _ in entity_rows if e in item_ids])
        yield RecordBatch(RecordKind.TRIPLES, triples)

    def _interests(self, folder: Path, user_check: _IdCheck, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        path = folder / INTEREST_FILE
        if not path.exists():
            yield f"no {INTEREST_FILE}: loaded without user interests (has_interests = false)"
            return
        pairs = read_user_interests(path, user_check, policy)
        holders = Counter(interest for _, interest in pairs)
        yield RecordBatch(RecordKind.INTERESTS, [(i, {"size": holders[i]}) for i in sorted(holders)])
        yield RecordBatch(RecordKind.USER_INTERESTS, pairs)


class KgatSource(CikgSource):
    """KGAT's layout (amazon-book, last-fm, yelp2018): the same files, zipped KG, no interests."""

    name = "kgat"
    description = "Load a folder in KGAT's layout (amazon-book, last-fm, yelp2018; kg_final may be zipped)."

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        return False  # the same files as CIKG's: a KGAT folder reads as CIKG unless named


def read_cikg(folder: Path | str, dataset: str, skip_bad_lines: bool = False) -> DatasetRecords:
    """Parse and validate a CIKG-layout folder; raises ``BadInputError`` before anything is written."""
    return CikgSource.from_options(folder, dataset, skip_bad_lines=skip_bad_lines).read()
