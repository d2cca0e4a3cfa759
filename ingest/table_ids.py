"""Ids that stay put when a table dataset's tables change: the write-time half of ``kgrec ingest table``.

The source (:mod:`ingest.table_load`) reads the tables without the graph and numbers each kind
``0..n-1`` in sorted order of its ids. Just before the records are written, :func:`align_with_graph`
reads the ``(org_id, id)`` pairs the dataset already holds and renumbers them: an org_id in the graph
keeps its id, and new org_ids take the lowest ids not in use, in sorted order among themselves. With
the ids ``0..n-1`` in use these are ``n, n+1, ...``; a load killed midway can leave gaps, which a
re-run over the same tables fills with exactly the ids the killed load had given. A first load keeps
the source's numbering.
Relations keep their place in the dataset's relation list, new ones appended, so that an export's
relation indices stay as well.

Splits: an interaction in the graph keeps its split (a ``valid`` one drawn by ``kgrec split valid``
too). A new interaction takes the split column's value when one is mapped; otherwise it is split as
a first load splits, per user over that user's new interactions only (the latest share to test when
timestamped), so each user's test share stays ``test_ratio``. A load resumed after a kill (the
dataset is still ``loading``) splits the interactions not yet written as a first load splits all
rows, so a first load killed and run again ends with the splits of an unbroken one.

Nothing is deleted: users, items and interactions in the graph but no longer in the tables stay,
and the report counts them (``IngestReport.changes``, and a note).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ingest.records import DatasetRecords, InteractionRow, NodeRow, RecordKind
from ingest.splits import SplitConfig, assign_splits
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError, StoreError, UnknownDatasetError
from kg_store.graph_model import relation_types_for

NODE_KINDS = (RecordKind.USERS, RecordKind.ITEMS, RecordKind.ENTITIES)
_KEPT_VALID = ("valid", "train")   # (graph, table): a validation split drawn in the graph, not a change


@dataclass(frozen=True)
class Renumbering:
    """One kind's ids: the source's id -> the graph's, how many org_ids are new, how many the tables lack."""

    ids: dict[int, int]
    new: int
    absent: int


def _read_one(store: GraphStore, query: str, dataset: str) -> Any:
    text = load_query(query)
    return store.read_with(lambda tx: tx.run(text, {"dataset": dataset}).single(strict=True))


def _table_dataset(store: GraphStore, records: DatasetRecords) -> dict[str, Any] | None:
    """The dataset's node (None when there is none); one loaded by another source is refused."""
    try:
        info = dataset_info(store, records.name)
    except UnknownDatasetError:
        return None
    if info["source"] != records.source or info["linked"]:
        raise ConfigError(f"Dataset {records.name!r} was loaded by the {info['source']!r} source, not from tables; "
                          f"load yours under another name, or drop it first (kgrec db drop --dataset {records.name}).")
    return info


def stored_ids(store: GraphStore, dataset: str, kind: RecordKind) -> dict[str, int]:
    """``{org_id: id}`` of the dataset's nodes of ``kind``; a node without org_id, or an org_id on two
    nodes, means the dataset was not written by a table load and cannot be renumbered."""
    row = _read_one(store, f"ingest/stored/{kind.value}", dataset)
    ids, org_ids = row["id"], row["org_id"]
    found = dict(zip(org_ids, ids, strict=True))
    if "" in found:
        raise StoreError(f"Dataset {dataset!r} holds {org_ids.count(''):,} {kind.value} without an org_id, so "
                         f"its ids cannot be kept; drop it (kgrec db drop --dataset {dataset}) and load again.")
    if len(found) < len(org_ids):
        twice = Counter(org_ids).most_common(1)[0][0]
        raise StoreError(f"Dataset {dataset!r} has two {kind.value} with org_id {twice!r}; drop it "
                         f"(kgrec db drop --dataset {dataset}) and load again.")
    return found


def lowest_free(taken: set[int], n: int) -> list[int]:
    """The ``n`` smallest non-negative ids not in ``taken``."""
    return [k for k in range(len(taken) + n) if k not in taken][:n]


def renumber(rows: list[NodeRow], stored: dict[str, int]) -> Renumbering:
    """Stored org_ids keep their id; the others, in the source's (sorted) order, take the lowest free ids."""
    ids: dict[int, int] = {}
    fresh: list[int] = []
    for source_id, props in sorted(rows, key=lambda row: row[0]):
        graph_id = stored.get(props["org_id"])
        if graph_id is None:
            fresh.append(source_id)
        else:
            ids[source_id] = graph_id
    ids.update(zip(fresh, lowest_free(set(stored.values()), len(fresh)), strict=True))
    return Renumbering(ids, len(fresh), len(stored) - (len(rows) - len(fresh)))


def _align_relations(records: DatasetRecords, stored: list[str], entities: dict[int, int]) -> int:
    """The dataset's relation list with the new relations appended; triples renumbered. Returns how many are new."""
    new = sorted(set(records.relations) - set(stored))
    merged = [*stored, *new]
    position = {name: k for k, name in enumerate(merged)}
    order = [position[name] for name in records.relations]
    records.triples = [(entities[h], order[r], entities[t]) for h, r, t in records.triples]
    records.relations, records.relation_types = merged, relation_types_for(merged)
    return len(new)


def _split_new(rows: list[InteractionRow], new: list[int], split: SplitConfig, resumed: bool) -> None:
    """Draw the splits of the rows at ``new``: over the new rows only, or over all rows when ``resumed``."""
    if resumed:
        drawn = assign_splits(rows, split)
        for k in new:
            rows[k] = drawn[k]
    else:
        for k, row in zip(new, assign_splits([rows[k] for k in new], split), strict=True):
            rows[k] = row


def _align_interactions(store: GraphStore, records: DatasetRecords, users: dict[int, int], items: dict[int, int],
                        split: SplitConfig | None, resumed: bool) -> dict[str, int]:
    row = _read_one(store, "ingest/stored/interactions", records.name)
    stored = dict(zip(zip(row["user"], row["item"], strict=True), row["split"], strict=True))
    rows = [(users[u], items[i], s, r, t) for u, i, s, r, t in records.interactions]
    old, new, other_split = [], [], 0
    for k, (u, i, s, r, t) in enumerate(rows):
        kept = stored.get((u, i))
        if kept is None:
            new.append(k)
            continue
        old.append(k)
        other_split += int(split is None and s != kept and (kept, s) != _KEPT_VALID)
        rows[k] = (u, i, kept, r, t)
    if split is not None and new:
        _split_new(rows, new, split, resumed)
    records.interactions = rows
    return {"interactions": len(new), "test": sum(rows[k][2] == "test" for k in new),
            "interactions_not_in_tables": len(stored) - len(old), "other_split": other_split}


_NOUNS = {"users": ("user", "users"), "items": ("item", "items"), "entities": ("entity", "entities"),
          "interactions": ("interaction", "interactions")}


def _counted(changes: dict[str, int], suffix: str = "", skip_zero: bool = False) -> str:
    parts = [(changes[f"{kind}{suffix}"], nouns) for kind, nouns in _NOUNS.items()]
    return ", ".join(f"{n:,} {nouns[n != 1]}" for n, nouns in parts if n or not skip_zero)


def _notes(dataset: str, changes: dict[str, int]) -> list[str]:
    notes = [f"new since the last load: {_counted(changes)} ({changes['test']:,} of them to test)"]
    if any(changes[f"{kind}_not_in_tables"] for kind in _NOUNS):
        notes.append(f"kept in the graph, no longer in the tables: {_counted(changes, '_not_in_tables', True)} "
                     f"(nothing is deleted; `kgrec db drop --dataset {dataset}` and a new load remove them)")
    if changes["other_split"]:
        notes.append(f"{changes['other_split']:,} interaction(s) have another split in the tables than in the "
                     "graph; each keeps the graph's")
    return notes


def align_with_graph(store: GraphStore, records: DatasetRecords, split: SplitConfig | None) -> DatasetRecords:
    """``records`` renumbered in place to agree with the dataset in the graph (as read when it is new).

    ``split``: the split the source drew, None when the tables give it (a mapped split column).
    On a re-run, ``records.changes`` and a note say what is new and what the tables no longer hold.
    """
    info = _table_dataset(store, records)
    stored = {kind: stored_ids(store, records.name, kind) for kind in NODE_KINDS}
    if not any(stored.values()):
        return records
    numbering = {kind: renumber(records.rows(kind), stored[kind]) for kind in NODE_KINDS}
    for kind, found in numbering.items():
        setattr(records, kind.value, [(found.ids[k], props) for k, props in records.rows(kind)])
    users, items, entities = (numbering[kind].ids for kind in NODE_KINDS)
    records.item_entities = [(items[i], entities[e]) for i, e in records.item_entities]
    changes = {kind.value: numbering[kind].new for kind in NODE_KINDS}
    changes.update({f"{kind.value}_not_in_tables": numbering[kind].absent for kind in NODE_KINDS})
    changes["relations"] = _align_relations(records, list((info or {}).get("relation_uris") or []), entities)
    resumed = info is None or info["status"] != "complete"
    changes.update(_align_interactions(store, records, users, items, split, resumed))
    records.changes = changes
    records.notes.extend(_notes(records.name, changes))
    return records
