"""The stored CTR user split: what is on the graph now, and writing a newly drawn one.

The split and profile cuts live on the graph (``User.ctr_split``, ``User.ctr_profile_cut``,
``User.ctr_profile_ts``; how it was drawn on ``:Dataset``) so every model and every user
description sees the same one. Deciding whether to draw (and drawing) is ``kgrec.ctr_training``'s
job; this module only reads and writes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kg_store.connection import GraphStore
from kg_store.ctr_arrays import SPLITS, CTRSplitConfig, SplitState
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info


def _stored_config(row: dict[str, Any]) -> CTRSplitConfig | None:
    if row["seed"] is None or row["split_users"] == 0:
        return None
    return CTRSplitConfig(int(row["seed"]), tuple(float(r) for r in row["ratios"]), float(row["profile_share"]))


def read_split_state(store: GraphStore, dataset: str) -> SplitState:
    """Every user's interaction counts and the stored split's settings; ``UnknownDatasetError`` if absent."""
    dataset_info(store, dataset)
    counts = store.read("ctr/user_interaction_counts", dataset=dataset)
    column = lambda key: np.array([row[key] for row in counts], dtype=np.int64)  # noqa: E731
    return SplitState(users=column("user"), interactions=column("interactions"), timed=column("timed"),
                      stored=_stored_config(store.read("ctr/split_state", dataset=dataset)[0]))


def stored_split_sizes(store: GraphStore, dataset: str) -> dict[str, int]:
    """Users per stored split (0 for a split nobody holds)."""
    found = {row["split"]: row["users"] for row in store.read("ctr/split_sizes", dataset=dataset)}
    return {name: found.get(name, 0) for name in SPLITS}


def write_split(store: GraphStore, dataset: str, chosen: dict[int, str], config: CTRSplitConfig) -> None:
    """Replace the stored split with ``chosen`` (user id -> split), set the profile cuts, and record
    ``config``, in one transaction."""

    def work(tx: Any) -> None:
        params = {"dataset": dataset}
        tx.run(load_query("ctr/reset_split"), params).consume()
        tx.run(load_query("ctr/assign_split"), {**params, "rows": [[u, s] for u, s in chosen.items()]}).consume()
        tx.run(load_query("ctr/set_profile_cuts"), {**params, "share": config.profile_share}).consume()
        tx.run(load_query("ctr/record_split"), {**params, "seed": config.seed, "ratios": list(config.ratios),
                                                "share": config.profile_share}).consume()

    store.write_with(work)
