"""``kgrec db stats`` of a linked dataset: counts from what kgrec keeps of it, not from its graph.

A linked dataset has no ``User``/``Item``/``Entity`` nodes of kgrec's: its users, items and entities
are the id maps' keys, its interactions the synced positives with their splits, its triples the
item-graph triples the last sync found, its interest members the ``users`` lists of its
``Interest`` nodes; the only relationships kgrec counts in the owner's graph are its write-back ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kg_store.connection import GraphStore
from kg_store.datasets import DatasetStats
from kg_store.graph_export import SPLIT_CODES
from kg_store.linked.checks import graph_store
from kg_store.linked.cypher import render
from kg_store.linked.mapping import stored_mapping

_LABELS = {"user": "User", "item": "Item", "entity": "Entity"}
_SPLITS = {code: name for name, code in SPLIT_CODES.items()}


def linked_stats(store: GraphStore, info: Mapping[str, Any]) -> DatasetStats:
    """Users, items and entities with an id, interactions per split, triples, interests, write-back count."""
    dataset = info["name"]
    [row] = store.read("linked/stats", dataset=dataset)
    nodes = dict.fromkeys(_LABELS.values(), 0)
    for chunk in row["ids"]:
        nodes[_LABELS[chunk["kind"]]] += chunk["count"]
    nodes["Interest"] = row["interests"]
    splits = {_SPLITS.get(split["code"], str(split["code"])): split["count"] for split in row["splits"]}
    mapping = stored_mapping(dict(info))
    text = render("count_recommendations", user_label=mapping.users.label, relationship=mapping.writeback,
                  item_label=mapping.items.label)
    written = graph_store(store, mapping).read_with(lambda tx: tx.run(text, {"dataset": dataset}).single()["count"])
    return DatasetStats(dataset=dataset, source=info["source"], status=info["status"], version=info["version"],
                        nodes=nodes, relationships={mapping.writeback: written},
                        interactions=dict(sorted(splits.items())), kg_triples=row["kg_triples"],
                        kg_relations=row["kg_relations"], interest_edges=row["interest_members"])
