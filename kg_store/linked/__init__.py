"""Linked datasets: kgrec trains on a graph already in Neo4j, under its owner's schema, without copying it.

A mapping file (:mod:`kg_store.linked.mapping`) says which label holds the users, which the items,
which relationship type the interactions are and which relationships form the item knowledge graph.
kgrec then keeps only what it needs in nodes of its own (:mod:`kg_store.linked.state`): the
``(:Dataset {linked: true, mapping})`` node, the id maps (each user, item and entity key to a
contiguous int id) and each interaction's split. The export (:mod:`kg_store.linked.export`) reads
the owner's graph through the mapping in read transactions and joins it with those; recommendations
go back onto the owner's nodes as one relationship type (:mod:`kg_store.linked.writeback`). The
owner's nodes and relationships are never given a label or property.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LINKED_SOURCE = "neo4j"      # the ``source`` a linked dataset's Dataset node records


def is_linked(info: Mapping[str, Any]) -> bool:
    """Whether a ``dataset_info`` row is a linked dataset's."""
    return bool(info.get("linked"))
