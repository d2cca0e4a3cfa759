"""Named interest sets of a dataset, side by side: listing them and replacing one atomically.

A dataset may hold several clusterings of its users' interests at once (the authors' shipped
``user_interest_clustered.txt`` as :data:`AUTHORS_SET`, LLM-derived ones under other names), so
models can be compared on each without re-ingesting. ``(:Interest {dataset, set, id})`` is the
key; ``HAS_INTEREST`` edges carry the set too, plus the user's weight on that interest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import neo4j

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import KgrecError

AUTHORS_SET = "authors"       # the clusters CIKGRec's authors ship with a dataset
MAX_STORED_PHRASES = 50       # member phrases kept on an Interest node (the rest stay in the clustering)
_SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class InvalidInterestSetError(KgrecError):
    """An interest set name is unsafe, or the named set is not in the dataset."""

    exit_code = 2


class ClusterLike(Protocol):
    """What the store needs of one cluster (``knowledge.interests.cluster.Cluster`` fits)."""

    id: int
    label: str
    phrases: list[str]


class ClusteringLike(Protocol):
    """What the store needs of a clustering: its clusters and user -> {cluster id: weight}."""

    clusters: Sequence[ClusterLike]
    user_weights: Mapping[int, Mapping[int, float]]


@dataclass(frozen=True)
class InterestSetInfo:
    set: str
    clusters: int
    users: int
    edges: int


def check_interest_set_name(name: str) -> str:
    """Return ``name`` if it is a safe set name (the dataset-name rules), else raise."""
    if not isinstance(name, str) or not _SET_NAME.fullmatch(name) or ".." in name:
        raise InvalidInterestSetError(
            f"Interest set name {name!r} is not valid: use 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit, without '..'.")
    return name


def list_interest_sets(store: GraphStore, dataset: str) -> list[InterestSetInfo]:
    """Every interest set of ``dataset`` with its cluster count, users covered and edges."""
    dataset_info(store, dataset)  # unknown dataset -> UnknownDatasetError
    return [InterestSetInfo(**row) for row in store.read("interests/list_sets", dataset=dataset)]


def require_interest_set(store: GraphStore, dataset: str, name: str) -> str:
    """``name`` if the dataset holds that set; else an error that lists the sets it does hold."""
    check_interest_set_name(name)
    known = [info.set for info in list_interest_sets(store, dataset)]
    if name not in known:
        raise InvalidInterestSetError(
            f"Dataset '{dataset}' has no interest set '{name}' (its sets: {', '.join(known) or 'none'}).")
    return name


def _node_rows(clustering: ClusteringLike) -> list[dict[str, Any]]:
    users_per_cluster: dict[int, int] = {}
    for weights in clustering.user_weights.values():
        for cluster_id in weights:
            users_per_cluster[cluster_id] = users_per_cluster.get(cluster_id, 0) + 1
    return [{"id": int(c.id), "label": c.label, "size": users_per_cluster.get(c.id, 0),
             "phrases": list(c.phrases[:MAX_STORED_PHRASES])} for c in clustering.clusters]


def _edge_rows(clustering: ClusteringLike) -> list[list[Any]]:
    return [[int(user), int(cluster_id), float(weight)]
            for user, weights in sorted(clustering.user_weights.items())
            for cluster_id, weight in sorted(weights.items())]


def write_interest_set(store: GraphStore, dataset: str, set_name: str, clustering: ClusteringLike) -> dict[str, int]:
    """Replace the set ``set_name`` of ``dataset`` with ``clustering``; other sets stay as they are.

    Atomic by a single transaction: the old set's nodes and edges are deleted and the new ones
    created and the dataset's version bumped in one write transaction, so a reader sees the old
    set or the new one, never a half-written set (a failure rolls everything back). Interest sets
    are small (clusters x users covered), so one transaction fits easily. ``Interest.size`` is
    the number of users holding the interest; ``phrases`` keeps at most
    :data:`MAX_STORED_PHRASES` member phrases. A linked dataset's set keeps its members as lists on
    the ``Interest`` nodes instead of edges (``kg_store.linked.state.write_interest_members``).
    """
    check_interest_set_name(set_name)
    info = dataset_info(store, dataset)
    nodes, edges = _node_rows(clustering), _edge_rows(clustering)
    if info.get("linked"):     # members as lists on the Interest nodes: no edge to the graph's own users
        from kg_store.linked.state import write_interest_members

        return write_interest_members(store, dataset, set_name, nodes, edges)
    params = {"dataset": dataset, "interest_set": set_name}

    def work(tx: neo4j.ManagedTransaction) -> dict[str, int]:
        tx.run(load_query("interests/delete_set"), params).consume()
        tx.run(load_query("interests/create_nodes"), {**params, "rows": nodes}).consume()
        created = tx.run(load_query("interests/create_edges"), {**params, "rows": edges}).consume()
        version = tx.run(load_query("interests/mark_dataset"), params).single()["version"]
        return {"interests": len(nodes), "edges": created.counters.relationships_created,
                "edges_skipped": len(edges) - created.counters.relationships_created, "version": version}

    return store.write_with(work)
