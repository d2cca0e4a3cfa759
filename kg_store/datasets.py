"""What is in the store per dataset: listing, counts, and dropping a dataset."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from kg_store.connection import GraphStore
from kg_store.errors import UnknownDatasetError, UnknownItemError, UnknownUserError
from kg_store.graph_model import CORE_RELATIONSHIP_TYPES, check_dataset_name

_INTEGER = re.compile(r"-?\d{1,18}")


@dataclass
class DatasetStats:
    dataset: str
    source: str | None
    status: str | None
    version: int | None
    nodes: dict[str, int] = field(default_factory=dict)
    relationships: dict[str, int] = field(default_factory=dict)
    interactions: dict[str, int] = field(default_factory=dict)
    kg_triples: int = 0
    kg_relations: int = 0
    interest_edges: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_datasets(store: GraphStore) -> list[dict[str, Any]]:
    return store.read("store/list_datasets")


def dataset_info(store: GraphStore, dataset: str) -> dict[str, Any]:
    """The ``:Dataset`` node's properties; raises ``UnknownDatasetError`` if absent."""
    check_dataset_name(dataset)
    rows = store.read("store/dataset_info", dataset=dataset)
    if not rows:
        known = ", ".join(row["name"] for row in list_datasets(store)) or "none"
        raise UnknownDatasetError(f"Dataset '{dataset}' is not in the graph (datasets there: {known}).")
    return rows[0]


def node_id(value: Any, dataset: str, kind: str = "user") -> int:
    """A ``user`` or ``item`` id of a dataset kept in kgrec's own nodes: an int, or the text of one
    (as a command line or a URL gives it); anything else names no such node."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    error = UnknownUserError if kind == "user" else UnknownItemError
    raise error(f"Dataset '{dataset}' has no {kind} {value!r}: its {kind}s are integer ids.")


def dataset_stats(store: GraphStore, dataset: str) -> DatasetStats:
    """Counts per label and relationship type, interactions per split, KG and interest totals (a linked
    dataset's from its id maps, splits and interest member lists: :mod:`kg_store.linked.stats`)."""
    info = dataset_info(store, dataset)
    if info.get("linked"):
        from kg_store.linked.stats import linked_stats

        return linked_stats(store, info)
    nodes = {row["label"]: row["count"] for row in store.read("store/node_counts", dataset=dataset)}
    relationships = {row["type"]: row["count"] for row in store.read("store/relationship_counts", dataset=dataset)}
    splits = {row["split"]: row["count"] for row in store.read("store/interaction_splits", dataset=dataset)}
    kg_counts = [n for name, n in relationships.items() if name not in CORE_RELATIONSHIP_TYPES]
    return DatasetStats(
        dataset=dataset, source=info["source"], status=info["status"], version=info["version"],
        nodes=nodes, relationships=relationships, interactions=splits,
        kg_triples=sum(kg_counts), kg_relations=len(kg_counts),
        interest_edges=relationships.get("HAS_INTEREST", 0),
    )


def drop_dataset(store: GraphStore, dataset: str) -> None:
    """Delete a dataset's nodes and relationships (other datasets are untouched). A linked dataset's
    recommendations on its graph's nodes go first; the graph's own nodes stay."""
    info = dataset_info(store, dataset)
    if info.get("linked"):
        from kg_store.linked.writeback import drop_linked_recommendations

        drop_linked_recommendations(store, info)
    store.autocommit("store/drop_dataset", dataset=dataset)
