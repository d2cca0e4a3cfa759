"""Linked datasets: kgrec trains on a graph already in Neo4j, under its owner's schema, without copying it.

A mapping file (:mod:`kg_store.linked.mapping`) says which label holds the users, which the items,
which relationship type the interactions are and which relationships form the item knowledge graph.
kgrec then keeps only what it needs in nodes of its own (:mod:`kg_store.linked.state`): the
``(:Dataset {linked: true, mapping})`` node, the id maps (each user, item and entity key to a
contiguous int id) and each interaction's split. The export (:mod:`kg_store.linked.export`) reads
the owner's graph through the mapping in read transactions and joins it with those; recommendations
go back onto the owner's nodes as one relationship type (:mod:`kg_store.linked.writeback`). The
owner's nodes and relationships are never given a label or property.

The rest of kgrec reaches a linked dataset through thin branches into this package: a stored
validation split (:mod:`~kg_store.linked.valid`), train histories for LLM prompts
(:mod:`~kg_store.linked.histories`), interest prompts and LLM texts on kgrec's own nodes
(:mod:`~kg_store.linked.prompts`, :mod:`~kg_store.linked.texts`), explanation paths
(:mod:`~kg_store.linked.explain`), recommendations read back (:mod:`~kg_store.linked.recommendations`),
the named queries that apply (:mod:`~kg_store.linked.queries`), counts (:mod:`~kg_store.linked.stats`)
and ``--since`` on temporal timestamps (:mod:`~kg_store.linked.since`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LINKED_SOURCE = "neo4j"      # the ``source`` a linked dataset's Dataset node records


def is_linked(info: Mapping[str, Any]) -> bool:
    """Whether a ``dataset_info`` row is a linked dataset's."""
    return bool(info.get("linked"))
