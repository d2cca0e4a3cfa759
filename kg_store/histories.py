"""Users' train histories, the only interactions an interest prompt may show.

Interests inferred from validation or test items would leak the answers into the features the
model trains on, so this reads ``split: 'train'`` alone (draw the stored validation split with
:func:`kg_store.splits.store_valid_split` first).
"""

from __future__ import annotations

from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info

History = list[tuple[int, str | None]]   # (item id, title) pairs, most recent first


def train_histories(store: GraphStore, dataset: str, max_items: int = 50) -> dict[int, History]:
    """``{user: [(item id, title), ...]}``: at most ``max_items`` train items per user.

    Most recent first when interactions carry timestamps, else by item id; a missing title is None.
    A linked dataset's come from its stored splits and its graph (:mod:`kg_store.linked.histories`).
    """
    info = dataset_info(store, dataset)
    if info.get("linked"):     # stored train splits, titles from the owner's item nodes
        from kg_store.linked.histories import linked_train_histories

        return linked_train_histories(store, info, max_items)
    rows = store.read("splits/train_histories", dataset=dataset, max_items=max(0, int(max_items)))
    return {row["user"]: [(item, title) for item, title in row["history"]] for row in rows}
