"""The reading half of ``kgrec ingest table`` (:mod:`ingest.table` says what goes where): the mapped
tables read in batches, repeats dropped, ids numbered, and the records the writer takes.

Kept apart from :mod:`ingest.table`, so that the source class, which the CLI imports to build its
commands, stays small and imports no pyarrow itself.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.cikg import display_name
from ingest.protocol import SourceOutput
from ingest.reader import BadLinePolicy
from ingest.recbole import assign_ids
from ingest.records import KnowledgeGraphSchema, Props, RecordBatch, RecordKind
from ingest.splits import assign_splits
from ingest.table_files import SPLITS, Fields, TableReader, as_epoch, as_float, as_id, as_split
from ingest.table_mapping import read_mapping
from ingest.table_nodes import read_links, read_nodes
from kg_store.errors import BadInputError
from kg_store.graph_model import relation_types_for

if TYPE_CHECKING:
    from ingest.table import TableConfig

T = TypeVar("T")
Notes = Generator[str, None, T]   # yields notes for the user, returns what it read


def _joined(arrays: list, kind: pa.DataType | None = None) -> pa.Array | np.ndarray:
    if kind is not None:
        return pa.concat_arrays(arrays) if arrays else pa.array([], kind)
    return np.concatenate(arrays) if arrays else np.array([])


class IdSpace:
    """The distinct ids of one kind, numbered ``0..n-1`` in sorted order (numeric when all integers)."""

    def __init__(self, *parts: pa.Array | Iterable[str]):
        unique: set[str] = set()
        for part in parts:
            unique.update(pc.unique(part).to_pylist() if isinstance(part, pa.Array) else part)
        self.index = assign_ids(unique)
        self.org_ids = list(self.index)
        self._values = pa.array(self.org_ids, pa.string())

    def __len__(self) -> int:
        return len(self.org_ids)

    def of(self, ids: pa.Array) -> np.ndarray:
        return pc.index_in(ids, value_set=self._values).to_numpy(zero_copy_only=False).astype(np.int64)

    def rows(self, props: dict[str, Props]) -> list[tuple[int, Props]]:
        if not props:
            return [(k, {"org_id": org}) for k, org in enumerate(self.org_ids)]
        return [(k, {"org_id": org, **props.get(org, {})}) for k, org in enumerate(self.org_ids)]


@dataclass(frozen=True)
class Interactions:
    """The interaction rows read so far, column by column; ``rows`` are their rows in the file."""

    users: pa.Array
    items: pa.Array
    rows: np.ndarray
    ratings: np.ndarray | None
    seconds: np.ndarray | None
    splits: np.ndarray | None     # index into SPLITS

    def select(self, keep: np.ndarray) -> Interactions:
        index = pa.array(keep)
        return Interactions(self.users.filter(index), self.items.filter(index), self.rows[keep],
                            *(None if a is None else a[keep] for a in (self.ratings, self.seconds, self.splits)))

    def pair_keys(self) -> np.ndarray:
        users = pc.dictionary_encode(self.users).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        items = pc.dictionary_encode(self.items).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return users * (int(items.max(initial=0)) + 1) + items


def read_interactions(reader: TableReader) -> Interactions:
    columns = reader.table.columns
    fields: Fields = {"user": (columns["user"], as_id), "item": (columns["item"], as_id)}
    for key, convert in (("rating", as_float), ("timestamp", as_epoch), ("split", as_split)):
        if key in columns:
            fields[key] = (columns[key], convert)
    batches = list(reader.batches(fields))

    def column(key: str, kind: pa.DataType | None = None) -> pa.Array | np.ndarray | None:
        return _joined([b.values[key] for b in batches], kind) if key in fields else None

    splits = column("split", pa.string())
    if splits is not None:
        splits = pc.index_in(splits, value_set=pa.array(SPLITS)).to_numpy(zero_copy_only=False)
    return Interactions(column("user", pa.string()), column("item", pa.string()),
                        _joined([b.rows for b in batches]).astype(np.int64), column("rating"),
                        column("timestamp"), splits)


def _split_clashes(data: Interactions, keys: np.ndarray, reader: TableReader) -> np.ndarray:
    """Rows whose pair an earlier row put in another split: reported, and left out when skipped."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]] if len(ordered) else np.array([], dtype=bool)
    first = order[np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))]
    clash = data.splits[order] != data.splits[first]
    bad = [(int(data.rows[k]), "split", reader.table.columns["split"],
            f"user {data.users[k].as_py()!r} and item {data.items[k].as_py()!r} are already in the "
            f"{SPLITS[data.splits[j]]} split") for k, j in zip(order[clash], first[clash], strict=True)]
    reader.report(bad)
    keep = np.ones(len(keys), dtype=bool)
    keep[order[clash]] = False
    return keep


def drop_repeats(data: Interactions, reader: TableReader) -> Interactions:
    """Each (user, item) pair once, its later row winning; repeats are counted per file."""
    keys = data.pair_keys()
    if data.splits is not None:
        keep = _split_clashes(data, keys, reader)
        data, keys = data.select(keep), keys[keep]
    _, last = np.unique(keys[::-1], return_index=True)
    keep = np.zeros(len(keys), dtype=bool)
    keep[len(keys) - 1 - last] = True
    reader.policy.count_duplicates(reader.path, len(keys) - int(keep.sum()))
    return data.select(keep)


def _positives(data: Interactions, threshold: float | None, reader: TableReader) -> Notes[Interactions]:
    if threshold is None:
        return data
    keep = data.ratings >= threshold
    dropped = int((~keep).sum())
    if dropped:
        yield (f"{reader.path.name}: {dropped:,} interaction(s) rated below positive_threshold {threshold:g} "
               "were not loaded")
    return data.select(keep)


def generate(config: TableConfig, policy: BadLinePolicy) -> Iterator[SourceOutput]:
    """What :class:`~ingest.table.TableSource` yields: every table checked, then read in batches."""
    mapping = read_mapping(config.path)
    readers = {name: TableReader(table, policy) for name, table in mapping.tables().items()}
    for reader in readers.values():   # every named column exists before any row is read
        reader.check_columns()
    inter = readers["interactions"]
    data = drop_repeats(read_interactions(inter), inter)
    data = yield from _positives(data, inter.table.numbers.get("positive_threshold"), inter)
    if len(data.rows) == 0:
        raise BadInputError(inter.path, None, "no interactions to load")
    users = read_nodes(readers["users"]) if "users" in readers else {}
    items = read_nodes(readers["items"]) if "items" in readers else {}
    user_ids, item_ids = IdSpace(data.users, users), IdSpace(data.items, items)
    n = len(data.rows)
    rows = list(zip(user_ids.of(data.users).tolist(), item_ids.of(data.items).tolist(),
                    np.array(SPLITS, dtype=object)[data.splits].tolist() if data.splits is not None else ["train"] * n,
                    *(a.tolist() if a is not None else [None] * n for a in (data.ratings, data.seconds)), strict=True))
    if data.splits is None:
        rows = assign_splits(rows, config.split)
    yield RecordBatch(RecordKind.USERS, user_ids.rows(users))
    yield RecordBatch(RecordKind.ITEMS, item_ids.rows(items))
    yield RecordBatch(RecordKind.INTERACTIONS, rows)
    if "triples" in readers:
        yield from knowledge_graph(readers, item_ids)
    else:
        yield f"no [triples] in {config.path.name}: loaded without an item knowledge graph (has_kg = false)"
    yield "tables carry no user interests (has_interests = false)"


def knowledge_graph(readers: dict[str, TableReader], item_ids: IdSpace) -> Iterator[SourceOutput]:
    """Entities, relations and triples of ``[triples]``, and the items' links to entities."""
    reader = readers["triples"]
    columns = reader.table.columns
    batches = list(reader.batches({key: (columns[key], as_id) for key in ("head", "relation", "tail")}))
    heads, relations, tails = (_joined([b.values[key] for b in batches], pa.string())
                               for key in ("head", "relation", "tail"))
    links = read_links(readers["item_entities"]) if "item_entities" in readers else None
    entity_ids = IdSpace(heads, tails, (links or {}).values())
    if links is None:   # no link table: an item is tied to the entity of the same id
        links = {org: org for org in item_ids.org_ids if org in entity_ids.index}
    dangling = [item for item in links if item not in item_ids.index]
    if dangling:
        yield (f"{len(dangling):,} link(s) of {readers['item_entities'].path.name} name items that are in no "
               f"other table (first: {dangling[0]!r}); those links were not loaded")
    relation_ids = IdSpace(relations)
    triples = np.stack([entity_ids.of(heads), relation_ids.of(relations), entity_ids.of(tails)], axis=1)
    _, first = np.unique(triples, axis=0, return_index=True)
    reader.policy.count_duplicates(reader.path, len(triples) - len(first))
    triples = triples[np.sort(first)]
    if len(triples):
        yield KnowledgeGraphSchema(relation_ids.org_ids, relation_types_for(relation_ids.org_ids))
    yield RecordBatch(RecordKind.ENTITIES, [(k, _entity_props(org)) for k, org in enumerate(entity_ids.org_ids)])
    yield RecordBatch(RecordKind.ITEM_ENTITIES, [(item_ids.index[i], entity_ids.index[e])
                                                 for i, e in links.items() if i in item_ids.index])
    yield RecordBatch(RecordKind.TRIPLES, list(zip(*(c.tolist() for c in triples.T), strict=True)))


def _entity_props(org_id: str) -> Props:
    """``org_id`` as written; a URI also gives ``uri`` and a readable ``name``, as in the CIKG layout."""
    if org_id.startswith(("http://", "https://")):
        return {"org_id": org_id, "uri": org_id, "name": display_name(org_id)}
    return {"org_id": org_id}

