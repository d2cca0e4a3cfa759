"""``kgrec ingest neo4j graph.toml --dataset NAME``: link a graph already in Neo4j, and sync it again later.

The source copies nothing of the graph: it checks the mapping against the server, reads the graph
through it (read transactions only), gives every new user, item and entity key the next free id,
gives every new positive interaction a split (per user, as a first load would: each user's latest
share to test when timestamped, else a seeded draw; every user keeps a train interaction), and
writes only kgrec's own nodes (:mod:`kg_store.linked.state`), in one transaction. Running it again
is the re-sync: existing ids and splits stay, new ones are appended, and the dataset's version
rises when anything the export reads changed, so cached exports are refreshed. ``since`` reads only
the interactions stamped at or after it (users, items and the item graph are read whole).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.protocol import Source, SourceOption
from ingest.reader import BadLinePolicy
from ingest.splits import SPLIT_OPTIONS, SplitConfig, SplitSourceConfig, assign_splits
from ingest.writer import IngestReport
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError, UnknownDatasetError
from kg_store.graph_export import SPLIT_CODES
from kg_store.linked import is_linked
from kg_store.linked.checks import check_on_server, graph_store
from kg_store.linked.export import relation_list, triples
from kg_store.linked.mapping import GraphMapping, MappingError, load_mapping, stored_mapping
from kg_store.linked.read import GraphRead, Key, positives, read_graph
from kg_store.linked.since import since_for
from kg_store.linked.state import LinkedState, SyncDelta, SyncRecord, commit_sync, load_state
from kg_store.schema import apply_schema


@dataclass(frozen=True)
class LinkedConfig(SplitSourceConfig):
    """``path`` is the mapping file; ``since`` (empty: read every interaction) limits the read to the
    interactions whose timestamp is at or after it, read as the timestamps are stored (a number, ISO 8601
    text for Neo4j temporal values, or text compared as text: :mod:`kg_store.linked.since`)."""

    since: str = ""


class Neo4jGraphSource(Source):
    """The source ``neo4j``: its path is the mapping file; :meth:`ingest_into` links or re-syncs the graph."""

    name = "neo4j"
    config_class = LinkedConfig
    reads = "file"
    writes_records = False
    description = ("Link a graph already in Neo4j, under its own schema, through a mapping file (PATH: "
                   "graph.toml); nothing of it is copied. Run again to pick up new users, items and interactions.")
    cli_options = (*SPLIT_OPTIONS,
                   SourceOption("since", str, "", "Re-sync only the interactions stamped at or after this "
                                "timestamp: a number, or ISO 8601 text for datetime and date values "
                                "(needs interactions.timestamp)."))

    def generate(self, policy: BadLinePolicy) -> Iterator[Any]:
        raise ConfigError("Source 'neo4j' reads a graph already in the store and writes only kgrec's own "
                          "nodes: it has no records to load (and no --bulk).")

    def ingest_into(self, store: GraphStore, **writer_options: Any) -> IngestReport:
        """Link (or re-sync) the mapped graph as this config's dataset; the record writer's options
        do not apply (the facade refuses them before this is called)."""
        assert isinstance(self.config, LinkedConfig)
        return sync_linked(store, self.config)


def _existing(store: GraphStore, dataset: str, mapping: GraphMapping) -> dict[str, Any] | None:
    """The dataset's node when it is a linked dataset whose users and items the mapping keeps; None when new."""
    try:
        info = dataset_info(store, dataset)
    except UnknownDatasetError:
        return None
    if not is_linked(info):
        raise ConfigError(f"Dataset {dataset!r} was loaded from {info['source']!r} files, not linked to a graph; "
                          "link yours under another name.")
    before = stored_mapping(info)
    for section in ("users", "items"):
        for key in ("label", "key"):
            old, new = getattr(getattr(before, section), key), getattr(getattr(mapping, section), key)
            if old != new:
                raise MappingError(f"{mapping.origin}: {section}.{key} is {new!r}, but dataset {dataset!r} was linked "
                                   f"with {old!r}: its ids are keyed by that. Link under a new name, or drop it first.")
    return info


def _new_keys(keys: list[Key], known: dict[Any, int], delta: SyncDelta, kind: str, label: str) -> int:
    """Give each key ``known`` lacks the next id, in key order (so a graph's ids do not depend on the order
    its nodes were stored in), recorded in ``known`` and ``delta``; returns how many. Entities share one
    id space over their labels, so ``known`` holds them as (label, key)."""
    entity = kind == "entity"
    ordered = sorted(set(keys), key=lambda key: (isinstance(key, str), key))   # integers first, if mixed
    named = [(label, key) if entity else key for key in ordered]
    fresh, first = [key for key in named if key not in known], len(known)
    if fresh:
        delta.first_ids[(kind, label)] = first
        delta.keys[(kind, label)] = [key for _, key in fresh] if entity else fresh
        known.update((key, first + k) for k, key in enumerate(fresh))
    return len(fresh)


def _new_entities(read: GraphRead, state: LinkedState, mapping: GraphMapping, delta: SyncDelta) -> int:
    """Entity ids for new items (each item's own entity) and new item-graph nodes, one label after another."""
    by_label: dict[str, list[Key]] = {mapping.items.label: list(read.items.keys)}
    for item, _, label, other, _ in read.kg:
        if item in state.items:
            by_label.setdefault(label, []).append(other)
    added = 0
    for label, keys in by_label.items():
        added += _new_keys(keys, state.entities, delta, "entity", label)
    return added


def _new_splits(pairs: dict[tuple[Key, Key], Any], state: LinkedState, split: SplitConfig,
                delta: SyncDelta) -> tuple[int, int]:
    """Splits for the positive pairs not synced before: (new pairs, pairs naming keys outside the id maps)."""
    rows, outside = [], 0
    for (user_key, item_key), stamp in pairs.items():
        user, item = state.users.get(user_key), state.items.get(item_key)
        if user is None or item is None:
            outside += 1
        elif (user, item) not in state.splits:
            rows.append((user, item, "train", None, stamp))
    for user, item, name, _, _ in assign_splits(rows, split):
        delta.splits.append((user, item, SPLIT_CODES[name]))
        state.splits[(user, item)] = SPLIT_CODES[name]
    return len(rows), outside


def _fingerprint(mapping: GraphMapping, pairs: dict[tuple[Key, Key], Any], state: LinkedState,
                 kg: np.ndarray) -> str:
    """A hash of what an export would hold: the mapping, the synced interactions present now, the triples."""
    present = sorted((state.users[u], state.items[i]) for u, i in pairs if u in state.users and i in state.items)
    digest = hashlib.sha256(mapping.to_json().encode())
    digest.update(np.asarray(present, np.int64).tobytes())
    digest.update(np.ascontiguousarray(kg).tobytes())
    return digest.hexdigest()[:16]


def _notes(read: GraphRead, state: LinkedState, changes: dict[str, int], since: Any, first: bool) -> list[str]:
    notes = [f"linked graph: {len(state.users):,} users, {len(state.items):,} items, {len(state.entities):,} "
             f"entities, {len(state.splits):,} positive interactions synced ({len(read.interactions):,} read"
             + (f" since {since}" if since is not None else "") + ")"]
    if not first:
        notes.append(f"new since the last sync: {changes['users']:,} users, {changes['items']:,} items, "
                     f"{changes['entities']:,} entities, {changes['interactions']:,} interactions "
                     f"({changes['test']:,} of them to test)")
    if changes["below_threshold"]:
        notes.append(f"{changes['below_threshold']:,} interaction(s) below positive_threshold are not positives")
    if changes["outside"]:
        notes.append(f"{changes['outside']:,} interaction(s) name users or items the mapping does not select; "
                     "left out")
    return notes


def sync_linked(store: GraphStore, config: LinkedConfig) -> IngestReport:
    """Check, read, and record the mapped graph as ``config.dataset``; returns what changed."""
    started = time.perf_counter()
    mapping = load_mapping(config.path)
    info = _existing(store, config.dataset, mapping)
    graph = graph_store(store, mapping)
    check_on_server(graph, mapping)
    since = since_for(graph, mapping, config.since)
    read = read_graph(graph, mapping, since)
    state = load_state(store, config.dataset) if info else LinkedState()
    splits_before = len(state.splits)
    delta = SyncDelta()
    changes = {"users": _new_keys(read.users.keys, state.users, delta, "user", mapping.users.label),
               "items": _new_keys(read.items.keys, state.items, delta, "item", mapping.items.label)}
    changes["entities"] = _new_entities(read, state, mapping, delta)
    pairs, changes["below_threshold"] = positives(read.interactions, mapping)
    changes["interactions"], changes["outside"] = _new_splits(pairs, state, config.split, delta)
    changes["test"] = sum(code == SPLIT_CODES["test"] for _, _, code in delta.splits)
    relations = relation_list(list(info.get("relation_types") or []) if info else [], read.kg)
    kg = triples(read.kg, state, mapping.items.label, relations)
    record = SyncRecord(mapping.to_json(), relations, bool(len(kg)),
                        None if since is not None else _fingerprint(mapping, pairs, state, kg),
                        config.test_ratio, config.split_seed, len(kg))
    apply_schema(store)
    version, created, _ = commit_sync(store, config.dataset, info["version"] if info else None, delta, record,
                                      splits_before)
    return IngestReport(config.dataset, nodes_created=created, nodes_written=created, version=version,
                        mode="resync" if info else "link", has_kg=record.has_kg,
                        has_interests=bool(info and info.get("has_interests")),
                        notes=_notes(read, state, changes, since, info is None), changes=changes,
                        seconds=round(time.perf_counter() - started, 3))
