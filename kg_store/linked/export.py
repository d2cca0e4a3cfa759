"""A linked dataset as a :class:`~kg_store.graph_export.GraphExport`: the mapped graph read now, joined
with kgrec's id maps and splits.

Ids are kgrec's contiguous ints, so index ``k`` of every id array is id ``k``. The export holds the
graph as of the last sync: users, items and entities the id maps lack, and interactions without a
stored split, are left out (the next ``kgrec ingest neo4j`` adds them). Each item is tied to an
entity of its own (the item's key under the items' label), so item-graph relationships between
items and other nodes become entity triples in the direction the graph draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kg_store.connection import GraphStore
from kg_store.graph_export import GraphExport
from kg_store.linked.checks import graph_store
from kg_store.linked.mapping import GraphMapping, stored_mapping
from kg_store.linked.read import GraphRead, Key, positives, read_graph
from kg_store.linked.state import LinkedState, load_state


def relation_list(known: list[str], kg: list[tuple[Key, str, str, Key, bool]]) -> list[str]:
    """``known`` relation names, then any new ones of ``kg`` in the order they first occur (indices stay put)."""
    names = list(known)
    for relation in dict.fromkeys(row[1] for row in kg):
        if relation not in names:
            names.append(relation)
    return names


def triples(kg: list[tuple[Key, str, str, Key, bool]], state: LinkedState, items_label: str,
            relations: list[str]) -> np.ndarray:
    """(n, 3) distinct [head entity, relation, tail entity] of the rows whose both ends have entity ids."""
    code = {name: k for k, name in enumerate(relations)}
    found = []
    for item, relation, label, other, item_is_head in kg:
        mine, theirs = state.entities.get((items_label, item)), state.entities.get((label, other))
        if mine is None or theirs is None:
            continue
        found.append((mine, code[relation], theirs) if item_is_head else (theirs, code[relation], mine))
    return np.unique(np.asarray(found, np.int64).reshape(-1, 3), axis=0)


def interaction_arrays(read: GraphRead, state: LinkedState, mapping: GraphMapping) -> tuple[np.ndarray, np.ndarray, int]:
    """(n, 2) [user id, item id] of the positive interactions with a stored split, their split codes,
    and how many positive pairs were left out (not synced yet)."""
    pairs, _ = positives(read.interactions, mapping)
    rows, codes, unsynced = [], [], 0
    for user_key, item_key in pairs:
        user, item = state.users.get(user_key), state.items.get(item_key)
        split = None if user is None or item is None else state.splits.get((user, item))
        if split is None:
            unsynced += 1
            continue
        rows.append((user, item))
        codes.append(split)
    return np.asarray(rows, np.int64).reshape(-1, 2), np.asarray(codes, np.int8), unsynced


def _interests(store: GraphStore, dataset: str, interest_set: str, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    rows = store.read("linked/interest_members", dataset=dataset, interest_set=interest_set)
    ids = np.asarray([row["id"] for row in rows], np.int64)
    held = [(user, k) for k, row in enumerate(rows) for user in row["users"] if 0 <= user < n_users]
    return ids, np.asarray(held, np.int64).reshape(-1, 2)


def build_export(dataset: str, cache_key: str, state: LinkedState, read: GraphRead, mapping: GraphMapping,
                 relation_types: list[str], interest_ids: np.ndarray, user_interests: np.ndarray) -> GraphExport:
    """The arrays of a linked dataset from one read of its graph and its stored state."""
    relations = relation_list(relation_types, read.kg)
    interactions, split, unsynced = interaction_arrays(read, state, mapping)
    item_entities = np.asarray(sorted((item, state.entities[(mapping.items.label, key)])
                                      for key, item in state.items.items()
                                      if (mapping.items.label, key) in state.entities), np.int64).reshape(-1, 2)
    export = GraphExport(
        dataset=dataset, cache_key=cache_key,
        user_ids=np.arange(len(state.users), dtype=np.int64), item_ids=np.arange(len(state.items), dtype=np.int64),
        entity_ids=np.arange(len(state.entities), dtype=np.int64), interest_ids=interest_ids,
        relation_types=relations, interactions=interactions, interaction_split=split, item_entities=item_entities,
        triples=triples(read.kg, state, mapping.items.label, relations), user_interests=user_interests)
    export.stats = {"unsynced_interactions": unsynced}
    return export


def export_linked(store: GraphStore, dataset: str, info: Mapping[str, Any], cache_key: str,
                  interest_set: str) -> GraphExport:
    """Read the linked dataset's graph through its stored mapping and join it with kgrec's state."""
    mapping = stored_mapping(dict(info))
    state = load_state(store, dataset)
    read = read_graph(graph_store(store, mapping), mapping)
    interest_ids, held = _interests(store, dataset, interest_set, len(state.users))
    return build_export(dataset, cache_key, state, read, mapping, list(info.get("relation_types") or []),
                        interest_ids, held)
