"""A linked dataset's recommendations read back from the owner's graph (``kgrec recommend``, serving, queries).

Training writes each user's list onto the graph as the mapping's write-back relationships
(:mod:`kg_store.linked.writeback`), and each run replaces the previous one's: the graph holds the
latest run's lists only, whichever model made them. So "the latest run of model M" can be served
only while M's latest run is the dataset's latest run; asked for an older one, the reader says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kg_store.connection import GraphStore
from kg_store.linked.checks import graph_store
from kg_store.linked.cypher import render
from kg_store.linked.keys import Key, key_candidates
from kg_store.linked.mapping import SHARED_LABELS, GraphMapping, stored_mapping


@dataclass
class LinkedRecommendations:
    """One user's list: ``user`` is the key as the graph holds it (None: no such user node)."""

    user: Key | None
    items: list[dict[str, Any]] = field(default_factory=list)   # {item, title, score, rank, model, run_id}


def read_user_recommendations(store: GraphStore, info: Mapping[str, Any], user: Any, *, model: str | None = None,
                              run_id: str | None = None, limit: int = 100,
                              mapping: GraphMapping | None = None) -> LinkedRecommendations:
    """The write-back relationships of ``info``'s dataset from the user node keyed ``user``, best first."""
    mapping = mapping or stored_mapping(dict(info))
    text = render("user_recommendations", user_label=mapping.users.label, user_key=mapping.users.key,
                  relationship=mapping.writeback, item_label=mapping.items.label, item_key=mapping.items.key)
    params = {"keys": key_candidates(user), "shared_users": mapping.users.label in SHARED_LABELS,
              "dataset": info["name"], "run_id": run_id, "model": model, "limit": int(limit), "title": mapping.items.title}
    row = graph_store(store, mapping).read_with(lambda tx: tx.run(text, params).single())
    return LinkedRecommendations(None) if row is None else LinkedRecommendations(row["user"], list(row["items"]))
