"""Users' train histories on a linked dataset: what interest prompts and user descriptions may show.

The train pairs are the ones kgrec stored a train split for (:mod:`kg_store.linked.state`; draw the
validation split first, :mod:`kg_store.linked.valid`), so no prompt shows a validation or test item.
Titles come from the owner's item nodes (the mapping's ``items.title``), and the order from the
interactions' timestamps when the mapping has them, latest first, as on a loaded dataset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from kg_store.connection import GraphStore
from kg_store.graph_export import SPLIT_CODES
from kg_store.linked.checks import graph_store
from kg_store.linked.keys import item_texts, shown
from kg_store.linked.mapping import GraphMapping, stored_mapping
from kg_store.linked.read import positives, read_interactions, read_nodes
from kg_store.linked.state import LinkedState, load_state

History = list[tuple[int, str | None]]   # (item id, title), most recent first


def _stamps(graph: GraphStore, mapping: GraphMapping, state: LinkedState) -> dict[tuple[int, int], Any]:
    """(user id, item id) -> the latest timestamp of that positive interaction (none when unstamped)."""
    if mapping.interactions is not None and mapping.interactions.timestamp is None:
        return {}
    pairs, _ = positives(read_interactions(graph, mapping, read_nodes(graph, mapping, "users")), mapping)
    found = {}
    for (user_key, item_key), stamp in pairs.items():
        user, item = state.users.get(user_key), state.items.get(item_key)
        if user is not None and item is not None and stamp is not None:
            found[(user, item)] = stamp
    return found


def _ordered(user: int, items: list[int], stamps: dict[tuple[int, int], Any]) -> list[int]:
    """Latest first where stamped (ties by item id), then the unstamped by item id."""
    items = sorted(items)
    stamped = sorted((i for i in items if (user, i) in stamps), key=lambda i: stamps[(user, i)], reverse=True)
    return stamped + [i for i in items if (user, i) not in stamps]


def linked_train_histories(store: GraphStore, info: Mapping[str, Any], max_items: int = 50) -> dict[int, History]:
    """``{user id: [(item id, title), ...]}``: at most ``max_items`` train items per user with one."""
    mapping = stored_mapping(dict(info))
    graph = graph_store(store, mapping)
    state = load_state(store, info["name"])
    titles = item_texts(graph, mapping).titles
    stamps = _stamps(graph, mapping, state)
    item_keys = state.keys("item")
    train: dict[int, list[int]] = defaultdict(list)
    for (user, item), code in state.splits.items():
        if code == SPLIT_CODES["train"]:
            train[user].append(item)
    return {user: [(item, shown(titles.get(item_keys[item])))
                   for item in _ordered(user, train[user], stamps)[:max(0, int(max_items))]]
            for user in sorted(train)}
