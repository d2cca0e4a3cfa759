"""Recommendations of a linked dataset, written onto the graph's own nodes as one relationship type.

``(:User)-[:KGREC_RECOMMENDS {score, rank, run_id, model, dataset}]->(:Movie)`` (the type is the
mapping's ``writeback.type``). These relationships are the only thing kgrec writes into the mapped
graph, and the only ones it deletes: those carrying its ``dataset``.

Replacing the previous run's lists is atomic per user: users are written in batches, one write
transaction each, which deletes the batch's users' earlier lists and creates the new ones; after the
last batch, the earlier lists of users the new run did not cover go. A run of at most
``batch_users`` users is one transaction. A write that dies part-way leaves every user with one
complete list, the new run's or the previous one's, never a mix; running it again finishes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import neo4j
import numpy as np

from kg_store.connection import GraphStore
from kg_store.linked.checks import graph_store
from kg_store.linked.cypher import render
from kg_store.linked.mapping import SHARED_LABELS, GraphMapping, stored_mapping
from kg_store.linked.state import load_state
from kg_store.progress import Progress, stage

WRITE_BATCH_USERS = 2_000


def _names(mapping: GraphMapping) -> dict[str, str]:
    return {"user_label": mapping.users.label, "item_label": mapping.items.label, "relationship": mapping.writeback}


def _handles(graph: GraphStore, mapping: GraphMapping, section: str) -> dict[Any, str]:
    """Key -> elementId of every node of the users' or items' label, read now."""
    nodes = getattr(mapping, section)
    text = render("nodes", label=nodes.label, key=nodes.key)
    row = graph.read_with(lambda tx: tx.run(text, {"shared": nodes.label in SHARED_LABELS}).single(strict=True))
    return dict(zip(row["keys"], row["handles"], strict=True))


def _batches(users: list[str | None], items: list[str | None], top_items: Sequence[np.ndarray] | np.ndarray,
             top_scores: Sequence[np.ndarray] | np.ndarray, batch_users: int) -> Iterator[tuple[int, list[dict]]]:
    """(users covered, rows) per batch: each user's node handle with the handles of its items, best
    first; users whose node is gone are left out, and so are items whose node is gone."""
    for start in range(0, len(users), batch_users):
        rows = []
        for k in range(start, min(start + batch_users, len(users))):
            picked = [(items[int(i)], float(s)) for i, s in zip(top_items[k], top_scores[k], strict=True)]
            kept = [(handle, score) for handle, score in picked if handle is not None]
            if users[k] is not None:
                rows.append({"user": users[k], "items": [h for h, _ in kept], "scores": [s for _, s in kept]})
        yield min(batch_users, len(users) - start), rows


def write_linked_recommendations(store: GraphStore, info: Mapping[str, Any], model: str, run_id: str,
                                 user_ids: np.ndarray, item_ids: np.ndarray,
                                 top_items: Sequence[np.ndarray] | np.ndarray,
                                 top_scores: Sequence[np.ndarray] | np.ndarray, progress: Progress = None,
                                 batch_users: int = WRITE_BATCH_USERS) -> int:
    """Write each user's ranked items (indices into ``item_ids``, kgrec ids) as the mapping's write-back
    relationships; returns the relationships written."""
    dataset = info["name"]
    mapping = stored_mapping(dict(info))
    graph = graph_store(store, mapping)
    state = load_state(store, dataset, splits=False)
    user_keys, item_keys = state.keys("user"), state.keys("item")
    user_nodes, item_nodes = _handles(graph, mapping, "users"), _handles(graph, mapping, "items")
    users = [user_nodes.get(user_keys[int(u)]) for u in user_ids]
    items = [item_nodes.get(item_keys[int(i)]) for i in item_ids]
    text = render("write_recommendations", **_names(mapping))
    params = {"dataset": dataset, "model": model, "run_id": run_id}
    written = 0
    with stage(f"{dataset}: {mapping.writeback} of {model}", len(users), progress) as advance:
        for covered, rows in _batches(users, items, top_items, top_scores, batch_users):
            def work(tx: neo4j.ManagedTransaction, rows: list[dict] = rows) -> int:
                return tx.run(text, {**params, "rows": rows}).consume().counters.relationships_created
            written += graph.write_with(work)
            advance(covered)
    graph.autocommit_text(render("delete_stale_recommendations", **_names(mapping)), **params)
    return written


def drop_linked_recommendations(store: GraphStore, info: Mapping[str, Any]) -> None:
    """Delete every relationship a linked dataset wrote onto the graph's nodes."""
    mapping = stored_mapping(dict(info))
    graph_store(store, mapping).autocommit_text(render("drop_recommendations", **_names(mapping)),
                                                dataset=info["name"])

