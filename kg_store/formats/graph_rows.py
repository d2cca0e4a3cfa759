"""A dataset's rows streamed out of Neo4j, for the file formats.

Each kind has its own named query (``cypher/export/files/*.cypher``, the dataset always a
parameter) and is fetched in chunks of :data:`FETCH_SIZE` records while the format writes, so a
million interactions never sit in memory as records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import neo4j

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.formats.base import DatasetRows, Interaction, Node, Pair, Triple
from kg_store.interest_sets import AUTHORS_SET, check_interest_set_name

FETCH_SIZE = 20_000
R = TypeVar("R")


def _node(values: list[Any]) -> Node:
    node_id, props = values
    return Node(node_id, {key: value for key, value in props.items() if value is not None})


class GraphRows(DatasetRows):
    """:class:`DatasetRows` backed by the store; every method runs its query when called."""

    def __init__(self, store: GraphStore, dataset: str, interest_set: str = AUTHORS_SET):
        info = dataset_info(store, dataset)  # raises UnknownDatasetError with the datasets there
        keys = store.read("export/files/property_keys", dataset=dataset)
        super().__init__(
            dataset=dataset,
            relation_uris=list(info.get("relation_uris") or []),
            relation_types=list(info.get("relation_types") or []),
            fields={row["kind"]: frozenset(row["keys"]) for row in keys},
        )
        self.store = store
        self.interest_set = check_interest_set_name(interest_set)

    def _stream(self, name: str, make: Callable[[list[Any]], R], **params: Any) -> Iterator[R]:
        query = load_query(f"export/files/{name}")
        with self.store.session(fetch_size=FETCH_SIZE, default_access_mode=neo4j.READ_ACCESS) as session:
            for record in session.run(query, dataset=self.dataset, **params):
                yield make(record.values())

    def users(self) -> Iterator[Node]:
        return self._stream("users", _node)

    def items(self) -> Iterator[Node]:
        return self._stream("items", _node)

    def entities(self) -> Iterator[Node]:
        return self._stream("entities", _node)

    def interactions(self) -> Iterator[Interaction]:
        return self._stream("interactions", lambda values: Interaction(*values))

    def triples(self) -> Iterator[Triple]:
        return self._stream("triples", lambda values: Triple(*values))

    def item_entities(self) -> Iterator[Pair]:
        return self._stream("item_entities", lambda values: Pair(*values))

    def user_interests(self) -> Iterator[Pair]:
        """Edges of the chosen interest set only (the authors' set unless told otherwise)."""
        return self._stream("user_interests", lambda values: Pair(*values), interest_set=self.interest_set)
