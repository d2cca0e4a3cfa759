"""The named queries of ``cypher/queries/`` on a linked dataset: the ones that apply, answered its way.

The named queries read kgrec's own ``User``/``Item``/``Entity`` nodes, which a linked dataset does
not have. Those that still make sense are answered from the owner's graph through the mapping and
from kgrec's own nodes, with the same columns: ``user_recommendations`` (the write-back
relationships), ``user_history`` (the user's interactions, with kgrec's split of each),
``user_interests`` (kgrec's member lists) and ``dataset_overview`` (the counts of ``kgrec db stats``).
``$user`` is the owner's key (text, or its integer). Any other query is refused, naming why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kg_store.connection import GraphStore
from kg_store.graph_export import SPLIT_CODES
from kg_store.linked.checks import graph_store
from kg_store.linked.keys import find_node, item_texts, shown
from kg_store.linked.mapping import stored_mapping
from kg_store.linked.read import Nodes, read_interactions
from kg_store.linked.recommendations import read_user_recommendations
from kg_store.linked.state import load_state
from kg_store.linked.stats import linked_stats

if TYPE_CHECKING:
    from kg_store.queries import QueryInfo

Rows = list[dict[str, Any]]
KEY_PARAMS = ("user", "item")        # typed as the owner's keys, not kgrec's integer ids
_SPLITS = {code: name for name, code in SPLIT_CODES.items()}


def _recommendations(store: GraphStore, info: Mapping[str, Any], params: dict[str, Any]) -> Rows:
    found = read_user_recommendations(store, info, params["user"], model=params["model"], limit=params["limit"])
    return [{name: row[name] for name in ("model", "rank", "item", "title", "score", "run_id")} for row in found.items]


def _history(store: GraphStore, info: Mapping[str, Any], params: dict[str, Any]) -> Rows:
    mapping = stored_mapping(dict(info))
    graph = graph_store(store, mapping)
    user = find_node(graph, mapping, "users", params["user"])
    if user is None:
        return []
    rows = [row for row in read_interactions(graph, mapping, Nodes([user.key], [user.handle])) if row[0] == user.key]
    state = load_state(store, info["name"])
    titles = item_texts(graph, mapping).titles
    me = state.users.get(user.key)
    found = []
    for _, item, rating, stamp in rows:
        code = state.splits.get((me, state.items.get(item))) if me is not None else None
        split = _SPLITS.get(code) if code is not None else None
        if params["split"] is None or split == params["split"]:
            found.append({"item": item, "title": shown(titles.get(item)), "split": split, "rating": rating,
                          "timestamp": stamp})
    found.sort(key=lambda r: (isinstance(r["item"], str), r["item"]))
    stamped = sorted((r for r in found if r["timestamp"] is not None), key=lambda r: r["timestamp"], reverse=True)
    return (stamped + [r for r in found if r["timestamp"] is None])[:params["limit"]]


def _interests(store: GraphStore, info: Mapping[str, Any], params: dict[str, Any]) -> Rows:
    mapping = stored_mapping(dict(info))
    user = find_node(graph_store(store, mapping), mapping, "users", params["user"])
    me = None if user is None else load_state(store, info["name"], splits=False).users.get(user.key)
    if me is None:
        return []
    rows = [{"set": n["set"], "id": n["id"], "label": n["label"], "size": len(set(n["users"])),
             "weight": n["weights"][n["users"].index(me)] if n["weights"] else None, "phrases": n["phrases"]}
            for n in store.read("linked/user_interests", dataset=info["name"], set=params["set"], user=me)]
    rows.sort(key=lambda r: (r["set"], -(r["weight"] or 0.0), r["id"]))
    return rows[:params["limit"]]


def _overview(store: GraphStore, info: Mapping[str, Any], params: dict[str, Any]) -> Rows:
    stats = linked_stats(store, info)
    return ([{"kind": "node", "name": label, "count": count} for label, count in sorted(stats.nodes.items())]
            + [{"kind": "relationship", "name": kind, "count": count}
               for kind, count in sorted(stats.relationships.items())])


ANSWERED: dict[str, Callable[[GraphStore, Mapping[str, Any], dict[str, Any]], Rows]] = {
    "user_recommendations": _recommendations, "user_history": _history, "user_interests": _interests,
    "dataset_overview": _overview}


def linked_param_info(info: QueryInfo) -> QueryInfo:
    """A query's header with ``$user``/``$item`` typed as text (the owner's key), for binding."""
    return replace(info, params=tuple(replace(p, type="string") if p.name in KEY_PARAMS else p for p in info.params))


def key_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with integer keys as text, so they bind to the text-typed ``$user``/``$item``."""
    return {name: str(value) if name in KEY_PARAMS and isinstance(value, int) and not isinstance(value, bool)
            else value for name, value in params.items()}


def refusal(name: str, dataset: str) -> str:
    """Why query ``name`` does not answer on a linked dataset, and what does."""
    return (f"Query '{name}' reads kgrec's own User, Item and Entity nodes, which linked dataset '{dataset}' does "
            f"not have (its graph stays in its own schema). On a linked dataset these answer: "
            f"{', '.join(sorted(ANSWERED))}; `kgrec explain` gives the paths between a user and an item.")
