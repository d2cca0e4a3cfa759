"""LLM texts of a linked dataset: what prompts are grounded in, and where the answers go.

Item prompts are grounded in the owner's own item properties (the mapping's ``items.text``, shown as
the plot), the item graph around each item (``IN_GENRE: Comedy``) and, when ``kgrec link`` tied the
item to one, a Wikipedia page. The answers go on kgrec's own nodes, never on the owner's:

- ``(:KgrecItemText {dataset, id, key, description, description_source, description_ungrounded,
  description_key})-[:DESCRIBED_BY]->(:WikiPage)``, one per item;
- ``(:KgrecUserText {dataset, id, key, description, description_key})``, one per user.

A node per item rather than list properties on a few nodes (as the id maps are): descriptions arrive
a batch of answers at a time, from shards or resumed runs, and each write replaces one item's text;
a node keyed by (dataset, id) takes that as a MERGE, and holds the page link as a relationship.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.linked.checks import graph_store
from kg_store.linked.histories import linked_train_histories
from kg_store.linked.keys import item_texts, shown
from kg_store.linked.mapping import GraphMapping, stored_mapping
from kg_store.linked.read import Key, read_kg, read_nodes
from kg_store.linked.state import load_state
from kg_store.schema import apply_schema


def _neighbours(graph: GraphStore, mapping: GraphMapping, limit: int) -> dict[Key, list[str]]:
    """Item key -> up to ``limit`` distinct ``RELATION: key`` lines of the item graph around it."""
    found: dict[Key, list[str]] = {}
    for item, relation, _, other, _ in read_kg(graph, mapping, read_nodes(graph, mapping, "items")):
        lines = found.setdefault(item, [])
        line = f"{relation}: {other}"
        if len(lines) < limit and line not in lines:
            lines.append(line)
    return found


def linked_item_facts(store: GraphStore, info: Mapping[str, Any], max_neighbours: int) -> list[dict[str, Any]]:
    """What a description prompt may say of each item with an id, as ``knowledge/item_facts`` rows:
    ``id, title, plot`` (the mapping's text property), ``page, page_title``, ``neighbours``."""
    mapping = stored_mapping(dict(info))
    graph = graph_store(store, mapping)
    texts = item_texts(graph, mapping)
    neighbours = _neighbours(graph, mapping, max_neighbours)
    pages = {row["id"]: row for row in store.read("linked/item_pages", dataset=info["name"])}
    keys = load_state(store, info["name"], splits=False).keys("item")
    return [{"id": item, "title": shown(texts.titles.get(key)), "plot": shown(texts.texts.get(key)),
             "page": pages.get(item, {}).get("page"), "page_title": pages.get(item, {}).get("page_title"),
             "neighbours": neighbours.get(key, [])} for item, key in enumerate(keys)]


def linked_user_facts(store: GraphStore, info: Mapping[str, Any], max_items: int) -> list[dict[str, Any]]:
    """Each user with an id and the train history a description may show, as ``knowledge/user_facts``
    rows: ``id`` and ``history`` ([item id, title, the item's description]); no demographics."""
    histories = linked_train_histories(store, info, max_items)
    described = {row["id"]: row["description"] for row in store.read("linked/item_pages", dataset=info["name"])}
    users = len(load_state(store, info["name"], splits=False).users)
    return [{"id": user, "history": [[item, title, described.get(item)] for item, title in histories.get(user, [])]}
            for user in range(users)]


def write_item_descriptions(store: GraphStore, dataset: str, rows: list[list[Any]]) -> None:
    """``rows``: [item id, description, source, ungrounded description, response key] onto KgrecItemText nodes."""
    keys = load_state(store, dataset, splits=False).keys("item")
    apply_schema(store)
    write_in_batches(store, "linked/set_item_descriptions", [[row[0], keys[row[0]], *row[1:]] for row in rows],
                     batch_size=1_000, dataset=dataset)


def write_user_descriptions(store: GraphStore, dataset: str, rows: list[list[Any]]) -> None:
    """``rows``: [user id, description, response key] onto KgrecUserText nodes."""
    keys = load_state(store, dataset, splits=False).keys("user")
    apply_schema(store)
    write_in_batches(store, "linked/set_user_descriptions", [[row[0], keys[row[0]], *row[1:]] for row in rows],
                     batch_size=1_000, dataset=dataset)


def linked_items_to_link(store: GraphStore, info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Items with an id and a title, as ``knowledge/items_to_link`` rows plus the item's ``key``."""
    mapping = stored_mapping(dict(info))
    titles = item_texts(graph_store(store, mapping), mapping).titles
    keys = load_state(store, info["name"], splits=False).keys("item")
    rows = [{"id": item, "key": key, "title": shown(titles.get(key))} for item, key in enumerate(keys)]
    apply_schema(store)
    return [row for row in rows if row["title"]]
