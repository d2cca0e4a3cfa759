"""Users and items of a linked dataset named by the owner's keys, and what the owner's nodes say of them.

Commands and HTTP paths give a key as text (``u17``, or ``17`` for a graph keyed by integers), so a
lookup tries the text and, when it is all digits, its integer: whichever the graph holds. kgrec's
own id of a key comes from the id map (:mod:`kg_store.linked.state`); a node the last sync has not
seen has none yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kg_store.connection import GraphStore
from kg_store.linked.cypher import render
from kg_store.linked.mapping import SHARED_LABELS, GraphMapping

Key = int | str
_INTEGER = re.compile(r"-?\d{1,18}")


def key_candidates(value: Any) -> list[Key]:
    """The keys ``value`` may stand for: itself, plus the integer of a text of digits or the text of an integer."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return []
    if isinstance(value, int):
        return [value, str(value)]
    text = value.strip()
    return [text, int(text)] if _INTEGER.fullmatch(text) else [text]


@dataclass(frozen=True)
class NodeRef:
    """One owner's node found by key: the key as the graph holds it, its elementId and its title."""

    key: Key
    handle: str
    title: str | None


def find_node(graph: GraphStore, mapping: GraphMapping, section: str, value: Any) -> NodeRef | None:
    """The ``users`` or ``items`` node whose key ``value`` names; None when the graph has none."""
    nodes = getattr(mapping, section)
    keys = key_candidates(value)
    if not keys:
        return None
    text = render("node_by_key", label=nodes.label, key=nodes.key)
    params = {"keys": keys, "title": nodes.title, "shared": nodes.label in SHARED_LABELS}
    row = graph.read_with(lambda tx: tx.run(text, params).single())
    return None if row is None else NodeRef(row["key"], row["handle"], row["title"])


@dataclass(frozen=True)
class ItemTexts:
    """Every item node's title and text property (the mapping's ``items.title`` and ``items.text``), by key."""

    titles: dict[Key, str | None]
    texts: dict[Key, str | None]


def item_texts(graph: GraphStore, mapping: GraphMapping) -> ItemTexts:
    """Titles and texts of every node of the items' label (None where the node or the mapping has none)."""
    nodes = mapping.items
    text = render("titles", label=nodes.label, key=nodes.key)
    params = {"title": nodes.title, "text": nodes.text, "shared": nodes.label in SHARED_LABELS}
    row = graph.read_with(lambda tx: tx.run(text, params).single(strict=True))
    keys = row["keys"]
    return ItemTexts(dict(zip(keys, row["titles"], strict=True)), dict(zip(keys, row["texts"], strict=True)))


def shown(value: Any) -> str | None:
    """A title or text property as prompt text: strings stripped, other values as text, blanks as None."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    return text or None
