"""Interest prompts of a linked dataset, recorded on kgrec's own nodes.

A loaded dataset links each user to its cached answer with ``(:User)-[:PROMPTED {task, items}]->
(:LLMResponse)``; a linked dataset's user nodes are the owner's, so kgrec keeps one
``(:KgrecPrompt {dataset, task, user, key, items, titles})`` per prompted user instead: ``user`` is
kgrec's user id, ``key`` the answer's cache key, ``items`` and ``titles`` what the prompt showed
(an answer that repeats a shown title names no interest). A node per user, not list properties: a
run, a shard or a resumed run records the users it has answers for, one batch at a time.
"""

from __future__ import annotations

from typing import Any

from kg_store.connection import GraphStore
from kg_store.graph_export import SPLIT_CODES
from kg_store.linked.state import load_state

_SPLITS = {code: name for name, code in SPLIT_CODES.items()}


def prompted_item_splits(store: GraphStore, dataset: str, task: str) -> list[dict[str, Any]]:
    """Every (user, item, split) a prompt of ``task`` showed: split None when the user has no stored
    interaction with the item (the audit that only train items were shown)."""
    splits = load_state(store, dataset).splits
    return [{"user": row["user"], "item": item, "split": _SPLITS.get(splits.get((row["user"], item)))}
            for row in store.read("linked/prompted_items", dataset=dataset, task=task) for item in row["items"]]
