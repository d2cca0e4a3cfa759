"""Read one dataset's CTR inputs from the graph as arrays (:class:`kg_store.ctr_arrays.CTRGraph`).

Users and items are every node of the dataset sorted by id (split or not), so an index is a
position in that order. Only users holding a stored split have a sequence: their interactions in
(ts, item id) order with the label rule ``rating > POSITIVE_ABOVE`` applied in Cypher.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kg_store.connection import GraphStore
from kg_store.ctr_arrays import POSITIVE_ABOVE, SPLITS, CTRGraph


def _column(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    values = np.empty(len(rows), dtype=object)
    values[:] = [row[key] for row in rows]
    return values


def _sequences(rows: list[dict[str, Any]], user_index: dict[int, int],
               item_index: dict[int, int]) -> dict[str, np.ndarray]:
    n_users = len(user_index)
    lengths, cut, split = np.zeros(n_users, np.int64), np.zeros(n_users, np.int64), np.full(n_users, -1, np.int64)
    per_user: dict[int, list[list[Any]]] = {}
    for row in rows:
        u = user_index[row["user"]]
        per_user[u], cut[u], split[u] = row["sequence"], row["cut"], SPLITS.index(row["split"])
        lengths[u] = len(row["sequence"])
    flat = [entry for u in sorted(per_user) for entry in per_user[u]]
    return {"offsets": np.r_[0, np.cumsum(lengths)].astype(np.int64),
            "items": np.array([item_index[e[0]] for e in flat], dtype=np.int64),
            "ts": np.array([e[1] for e in flat], dtype=np.int64),
            "labels": np.array([e[2] for e in flat], dtype=np.int64), "cut": cut, "split": split}


def read_ctr_graph(store: GraphStore, dataset: str) -> CTRGraph:
    """Users, items with their side features, and the split users' sequences of ``dataset``."""
    users, items = store.read("ctr/users", dataset=dataset), store.read("ctr/items", dataset=dataset)
    user_ids = np.array([r["id"] for r in users], dtype=np.int64)
    item_ids = np.array([r["id"] for r in items], dtype=np.int64)
    sequences = _sequences(store.read("ctr/sequences", dataset=dataset, threshold=POSITIVE_ABOVE),
                           {int(u): k for k, u in enumerate(user_ids)}, {int(i): k for k, i in enumerate(item_ids)})
    return CTRGraph(dataset=dataset, user_ids=user_ids, gender=_column(users, "gender"), age=_column(users, "age"),
                    occupation=_column(users, "occupation"), item_ids=item_ids, year=_column(items, "year"),
                    genres=tuple(tuple(r["genres"] or ()) for r in items), **sequences)
