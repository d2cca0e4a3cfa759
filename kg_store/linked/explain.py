"""Explanation paths of a linked dataset, read through its mapping from the owner's graph.

The three kinds of :mod:`kg_store.explain`, with the owner's nodes in place of kgrec's:

* ``collaborative``: user -[interaction]-> seen item <-[interaction]- peer -[interaction]-> item;
  score = 1 / ln(2 + the peer's positive items);
* ``kg``: user -[interaction]-> seen item -[kg type]- node -[kg type]- item, for every pair of
  ``[[kg]]`` entries that reach nodes of one label (a genre, a person who acted in one and directed
  the other); score = 1 / ln(2 + the node's relationships to items);
* ``interest``: user, kgrec's interest whose member list holds them, a peer of that list who
  interacted with the item; score = the user's weight / ln(2 + members).

Interactions are the positives (``positive_threshold``). With ``[interactions]`` the paths are
Cypher over the graph; with ``queries.interactions`` the query's rows are read and the paths built
here. Rows of ``queries.kg`` are no relationships of the graph, so no KG path follows them.
Users, items and peers are named by the owner's keys, items by their titles.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kg_store.connection import GraphStore
from kg_store.errors import UnknownItemError, UnknownUserError
from kg_store.explain import Ends, item_name
from kg_store.linked.checks import graph_store
from kg_store.linked.cypher import render
from kg_store.linked.keys import Key, NodeRef, find_node, item_texts
from kg_store.linked.mapping import SHARED_LABELS, GraphMapping, stored_mapping
from kg_store.linked.read import Nodes, positives, read_interactions
from kg_store.linked.state import load_state

Row = dict[str, Any]


@dataclass
class LinkedPaths:
    """The user's and the item's names, and each kind's path rows as :func:`kg_store.explain.assemble` takes them."""

    ends: Ends
    rows: dict[str, list[Row]]


@dataclass
class _Ask:
    graph: GraphStore
    mapping: GraphMapping
    user: NodeRef
    item: NodeRef
    limit: int

    def params(self) -> dict[str, Any]:
        """What every template of this module is given besides its own parameters."""
        inter, users, items = self.mapping.interactions, self.mapping.users, self.mapping.items
        return {"user": self.user.handle, "item": self.item.handle, "limit": self.limit, "title": items.title,
                "threshold": inter.positive_threshold if inter else None, "rating": inter.rating if inter else None,
                "shared_users": users.label in SHARED_LABELS, "shared_items": items.label in SHARED_LABELS}

    def read(self, template: str, names: dict[str, str], **params: Any) -> list[Row]:
        text = render(template, **names)
        return self.graph.read_with(lambda tx: [r.data() for r in tx.run(text, {**self.params(), **params})])


def _names(mapping: GraphMapping) -> dict[str, str]:
    inter = mapping.interactions
    return {"user_label": mapping.users.label, "user_key": mapping.users.key, "item_label": mapping.items.label,
            "item_key": mapping.items.key, **({"interaction_type": inter.type} if inter else {})}


def _best(rows: list[Row], limit: int, *order: str) -> list[Row]:
    return sorted(rows, key=lambda r: (-r["score"], *(r[name] for name in order)))[:limit]


def _pairs(ask: _Ask) -> dict[Key, set[Key]]:
    """User key -> positive item keys: the asking user's alone with ``[interactions]``, everyone's with a query."""
    users = Nodes([ask.user.key], [ask.user.handle]) if ask.mapping.interactions else Nodes([], [])
    pairs, _ = positives(read_interactions(ask.graph, ask.mapping, users), ask.mapping)
    held: dict[Key, set[Key]] = defaultdict(set)
    for user, item in pairs:
        held[user].add(item)
    return held


def _collaborative(ask: _Ask, held: dict[Key, set[Key]]) -> list[Row]:
    if ask.mapping.interactions:
        return ask.read("explain_collaborative", _names(ask.mapping))
    titles = item_texts(ask.graph, ask.mapping).titles
    mine, rows = held.get(ask.user.key, set()), []
    for peer, items in held.items():
        if peer != ask.user.key and ask.item.key in items:
            score = 1.0 / math.log(2.0 + len(items))
            rows += [{"seen": seen, "seen_title": titles.get(seen), "peer": peer, "degree": len(items), "score": score}
                     for seen in (mine & items) - {ask.item.key}]
    return _best(rows, ask.limit, "seen", "peer")


def _kg(ask: _Ask, seen: list[Key]) -> list[Row]:
    """KG rows through every label two ``[[kg]]`` entries share (each pair of types once)."""
    pairs = {(a.type, b.type, a.label, a.key) for a in ask.mapping.kg for b in ask.mapping.kg if a.label == b.label}
    rows: list[Row] = []
    for type_a, type_b, label, key in sorted(pairs):
        names = {**_names(ask.mapping), "type_a": type_a, "type_b": type_b, "via_label": label, "via_key": key}
        found = ask.read("explain_kg", names, seen=seen, shared_via=label in SHARED_LABELS)
        rows += [{**row, "via_name": str(row["via"]), "via_uri": None} for row in found]
    unique = {(r["seen"], r["rel1"], r["rel1_out"], r["via"], r["rel2"], r["rel2_out"]): r for r in rows}
    return _best(list(unique.values()), ask.limit, "seen", "via", "rel1", "rel2")


def _interest(ask: _Ask, store: GraphStore, dataset: str, set_name: str | None,
              held: dict[Key, set[Key]]) -> list[Row]:
    state = load_state(store, dataset, splits=False)
    me = state.users.get(ask.user.key)
    found = [] if me is None else store.read("linked/user_interests", dataset=dataset, set=set_name, user=me)
    if not found:
        return []
    if ask.mapping.interactions:
        raters = set(ask.read("item_users", _names(ask.mapping))[0]["users"])
    else:
        raters = {user for user, items in held.items() if ask.item.key in items}
    peers = {state.users[key] for key in raters if key in state.users} - {me}
    keys, rows = state.keys("user"), []
    for n in found:
        weight = n["weights"][n["users"].index(me)] if n["weights"] else 1.0
        size = len(set(n["users"]))
        rows += [{"set": n["set"], "interest": n["id"], "label": n["label"], "size": size, "weight": weight,
                  "peer": keys[peer], "score": weight / math.log(2.0 + size)} for peer in sorted(set(n["users"]) & peers)]
    return _best(rows, ask.limit, "set", "interest", "peer")


def linked_paths(store: GraphStore, info: Mapping[str, Any], user: Any, item: Any, set_name: str | None,
                 max_paths: int) -> LinkedPaths:
    """Each kind's best ``max_paths`` paths from the user keyed ``user`` to the item keyed ``item``."""
    dataset = info["name"]
    mapping = stored_mapping(dict(info))
    graph = graph_store(store, mapping)
    me = find_node(graph, mapping, "users", user)
    if me is None:
        raise UnknownUserError(f"Dataset '{dataset}' has no user {user!r} (no :{mapping.users.label} node has that "
                               f"{mapping.users.key}).")
    target = find_node(graph, mapping, "items", item)
    if target is None:
        raise UnknownItemError(f"Dataset '{dataset}' has no item {item!r} (no :{mapping.items.label} node has that "
                               f"{mapping.items.key}).")
    ask = _Ask(graph, mapping, me, target, max_paths)
    held = _pairs(ask)
    seen = sorted(held.get(me.key, set()) - {target.key}, key=lambda key: (isinstance(key, str), key))
    rows = {"interest": _interest(ask, store, dataset, set_name, held), "kg": _kg(ask, seen),
            "collaborative": _collaborative(ask, held)}
    return LinkedPaths((f"user {me.key}", me.key, target.key, item_name(target.key, target.title)), rows)
