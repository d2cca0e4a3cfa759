"""What kgrec keeps of a linked dataset, in nodes of its own: the id maps and each interaction's split.

Both are list properties on a few nodes per dataset rather than a node per user or interaction: a
linked graph may be large, and these are only read whole (at export and write-back) and appended to
(at a sync), never looked up one by one.

- ``(:KgrecIdMap {dataset, kind, label, start, keys})``: ``kind`` is ``user``, ``item`` or ``entity``
  (``label``: the entity's label, its namespace); the key at position k has id ``start + k``. Ids of a
  kind are contiguous from 0 over its chunks, and a key keeps its id for good: a sync only appends.
- ``(:KgrecSplits {dataset, start, users, items, splits})``: parallel lists of user id, item id and
  split code (``SPLIT_CODES``) of the positive interactions synced so far; an interaction keeps its split.

A sync writes its new chunks and the Dataset node's new version in one transaction
(:func:`commit_sync`): a sync shows whole or not at all, and a killed one leaves the last state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import neo4j

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import ConfigError, StoreError
from kg_store.linked import LINKED_SOURCE

Key = int | str
CHUNK_KEYS = 100_000      # keys (or split rows) per kgrec node
KINDS = ("user", "item", "entity")


@dataclass
class LinkedState:
    """The id maps and splits of one linked dataset (empty before its first sync)."""

    users: dict[Key, int] = field(default_factory=dict)
    items: dict[Key, int] = field(default_factory=dict)
    entities: dict[tuple[str, Key], int] = field(default_factory=dict)    # (label, key) -> id
    splits: dict[tuple[int, int], int] = field(default_factory=dict)      # (user id, item id) -> split code

    def keys(self, kind: str) -> list[Key]:
        """Keys of ``user`` or ``item`` in id order (position = id)."""
        found = self.users if kind == "user" else self.items
        ordered: list[Key] = [None] * len(found)   # type: ignore[list-item]
        for key, index in found.items():
            ordered[index] = key
        return ordered


@dataclass
class SyncDelta:
    """What one sync adds: new keys per (kind, label) in the order their ids were given, new split rows."""

    keys: dict[tuple[str, str], list[Key]] = field(default_factory=dict)
    first_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    splits: list[tuple[int, int, int]] = field(default_factory=list)


def _check_contiguous(dataset: str, kind: str, spans: list[tuple[int, int]]) -> None:
    expected = 0
    for start, length in sorted(spans):
        if start != expected:
            raise StoreError(f"The {kind} id map of linked dataset {dataset!r} is damaged (ids jump from "
                             f"{expected} to {start}); drop the dataset and link it again.")
        expected = start + length


def load_state(store: GraphStore, dataset: str, splits: bool = True) -> LinkedState:
    """The dataset's id maps and (unless ``splits`` is False) splits as dicts; an unknown dataset gives an
    empty state."""
    state = LinkedState()
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in store.read("linked/id_maps", dataset=dataset):
        kind, label, start, keys = row["kind"], row["label"], row["start"], row["keys"]
        spans[kind].append((start, len(keys)))
        if kind == "entity":
            state.entities.update(((label, key), start + k) for k, key in enumerate(keys))
        else:
            (state.users if kind == "user" else state.items).update((key, start + k) for k, key in enumerate(keys))
    for kind, found in spans.items():
        _check_contiguous(dataset, kind, found)
    for row in store.read("linked/splits", dataset=dataset) if splits else []:
        state.splits.update(zip(zip(row["users"], row["items"], strict=True), row["splits"], strict=True))
    return state


def _chunks(values: list, size: int = CHUNK_KEYS) -> Iterator[tuple[int, list]]:
    for start in range(0, len(values), size):
        yield start, values[start:start + size]


def _key_rows(delta: SyncDelta) -> list[dict[str, Any]]:
    return [{"kind": kind, "label": label, "start": delta.first_ids[(kind, label)] + offset, "keys": part}
            for (kind, label), keys in delta.keys.items() for offset, part in _chunks(keys)]


def _split_rows(delta: SyncDelta, already: int) -> list[dict[str, Any]]:
    return [{"start": already + offset, "users": [u for u, _, _ in part], "items": [i for _, i, _ in part],
             "splits": [s for _, _, s in part]} for offset, part in _chunks(delta.splits)]


@dataclass(frozen=True)
class SyncRecord:
    """The Dataset node's properties a sync writes (besides its version)."""

    mapping: str
    relation_types: list[str]
    has_kg: bool
    fingerprint: str | None
    test_ratio: float
    split_seed: int
    kg_triples: int = 0         # distinct item-graph triples the sync found (``kgrec db stats``)


def commit_sync(store: GraphStore, dataset: str, expected_version: int | None, delta: SyncDelta,
                record: SyncRecord, splits_before: int) -> tuple[int, int, bool]:
    """Write a sync in one transaction: (version, kgrec nodes created, whether anything changed).

    The version read before the sync (None: no Dataset node) must still be the node's, else another
    sync came between and this one is refused (run it again); so is a name a loaded dataset holds.
    """
    keys, splits = _key_rows(delta), _split_rows(delta, splits_before)
    params = {"dataset": dataset, "source": LINKED_SOURCE}

    def work(tx: neo4j.ManagedTransaction) -> tuple[int, int, bool]:
        found = tx.run(load_query("linked/begin_sync"), params).single(strict=True)
        if not found["linked"]:
            raise ConfigError(f"Dataset {dataset!r} was loaded from {found['source']!r} files, not linked to a "
                              "graph; link yours under another name.")
        current = found["version"] if found["mapping"] is not None else None
        if current != expected_version:
            raise ConfigError(f"Linked dataset {dataset!r} changed while it was read (version "
                              f"{expected_version} -> {current}); run the sync again.")
        changed = bool(keys or splits) or found["mapping"] != record.mapping or (
            record.fingerprint is not None and found["fingerprint"] != record.fingerprint)
        tx.run(load_query("linked/add_keys"), {**params, "rows": keys}).consume()
        tx.run(load_query("linked/add_splits"), {**params, "rows": splits}).consume()
        fingerprint = record.fingerprint if record.fingerprint is not None else found["fingerprint"]
        version = tx.run(load_query("linked/finish_sync"), {
            **params, "mapping": record.mapping, "relation_types": record.relation_types, "has_kg": record.has_kg,
            "fingerprint": fingerprint, "test_ratio": record.test_ratio, "split_seed": record.split_seed,
            "kg_triples": record.kg_triples,
            "changed": changed}).single(strict=True)["version"]
        return version, len(keys) + len(splits) + (expected_version is None), changed

    return store.write_with(work)


def write_interest_members(store: GraphStore, dataset: str, set_name: str, nodes: list[dict[str, Any]],
                           edges: list[list[Any]]) -> dict[str, int]:
    """Replace interest set ``set_name`` of a linked dataset in one transaction: its ``Interest`` nodes hold
    their members as lists (``users``: user ids, ``weights``), since kgrec draws no edge to the graph's
    own user nodes. ``edges``: [user id, interest id, weight]; users the id map lacks are skipped."""
    n_users = len(load_state(store, dataset, splits=False).users)
    members: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for user, interest, weight in edges:
        if 0 <= user < n_users:
            members[interest].append((user, weight))
    rows = [{**node, "users": [u for u, _ in members[node["id"]]], "weights": [w for _, w in members[node["id"]]]}
            for node in nodes]
    params = {"dataset": dataset, "interest_set": set_name}

    def work(tx: neo4j.ManagedTransaction) -> dict[str, int]:
        tx.run(load_query("interests/delete_set"), params).consume()
        tx.run(load_query("linked/create_interests"), {**params, "rows": rows}).consume()
        version = tx.run(load_query("interests/mark_dataset"), params).single(strict=True)["version"]
        held = sum(len(row["users"]) for row in rows)
        return {"interests": len(rows), "edges": held, "edges_skipped": len(edges) - held, "version": version}

    return store.write_with(work)
