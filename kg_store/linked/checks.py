"""A mapping checked against the server before anything is read in earnest, let alone written.

Each label and relationship type must exist in the graph's database, each mapped property must be
on at least one node (or relationship) of its label (type), and the interaction and item-graph
patterns must each occur once at least; a miss is an error naming the mapping key. Mapping queries
run only in read transactions, so one that writes fails there, and their columns are checked by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import neo4j

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import StoreError
from kg_store.linked.cypher import render
from kg_store.linked.mapping import SHARED_LABELS, GraphMapping, MappingError

#: mapping query -> (columns it must return, columns it may return)
QUERY_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "users": (("key",), ()),
    "items": (("key",), ()),
    "interactions": (("user", "item"), ("rating", "timestamp")),
    "kg": (("item", "relation", "entity"), ("entity_label",)),
}


def graph_store(store: GraphStore, mapping: GraphMapping) -> GraphStore:
    """A store on the database that holds the mapped graph (kgrec's own when the mapping names none)."""
    if not mapping.database or mapping.database == store.settings.database:
        return store
    graph = GraphStore(store.settings.with_database(mapping.database))
    try:
        graph.read_with(lambda tx: tx.run(load_query("serving/ping")).consume())
    except StoreError as error:
        raise MappingError(f"{mapping.origin}: source.database: no database {mapping.database!r} answers on "
                           f"{store.settings.uri} ({error}).") from None
    return graph


def _shown(names: list[str], limit: int = 20) -> str:
    return ", ".join(sorted(names)[:limit]) + (" ..." if len(names) > limit else "") if names else "none"


def _named(mapping: GraphMapping) -> Iterator[tuple[str, str, str]]:
    """(mapping key, what it names, the name) of every label and type the mapping reads by name."""
    yield "users.label", "label", mapping.users.label
    yield "items.label", "label", mapping.items.label
    if mapping.interactions:
        yield "interactions.type", "type", mapping.interactions.type
    for n, entry in enumerate(mapping.kg):
        yield f"kg[{n}].type", "type", entry.type
        yield f"kg[{n}].label", "label", entry.label


def _node_properties(mapping: GraphMapping) -> Iterator[tuple[str, str, str]]:
    for section, nodes in (("users", mapping.users), ("items", mapping.items)):
        for key in ("key", "title", "text"):
            if getattr(nodes, key):
                yield f"{section}.{key}", nodes.label, getattr(nodes, key)
    for n, entry in enumerate(mapping.kg):
        yield f"kg[{n}].key", entry.label, entry.key


def _found(store: GraphStore, template: str, names: dict[str, str], **params: Any) -> bool:
    text = render(template, **names)
    return store.read_with(lambda tx: tx.run(text, params).single(strict=True)["found"])


def check_on_server(graph: GraphStore, mapping: GraphMapping) -> None:
    """Every name the mapping reads exists in ``graph``'s database; the first that does not is an error."""
    known = graph.read_with(lambda tx: tx.run(load_query("linked/names")).single(strict=True).data())
    where_db = f"database {graph.settings.database!r}"
    for key, kind, name in _named(mapping):
        listed = known["labels"] if kind == "label" else known["types"]
        if name not in listed:
            raise MappingError(f"{mapping.origin}: {key}: no {kind} {name!r} in {where_db} "
                               f"({kind}s there: {_shown(listed)}).")
    for key, label, prop in _node_properties(mapping):
        if not _found(graph, "has_node_property", {"label": label, "property": prop},
                      shared=label in SHARED_LABELS):
            raise MappingError(f"{mapping.origin}: {key}: no :{label} node in {where_db} has a property {prop!r}.")
    if mapping.interactions:
        for name in ("rating", "timestamp"):
            prop = getattr(mapping.interactions, name)
            if prop and not _found(graph, "has_relationship_property",
                                         {"type": mapping.interactions.type, "property": prop}):
                raise MappingError(f"{mapping.origin}: interactions.{name}: no :{mapping.interactions.type} "
                                   f"relationship in {where_db} has a property {prop!r}.")
    _check_patterns(graph, mapping, where_db)


def _check_patterns(graph: GraphStore, mapping: GraphMapping, where_db: str) -> None:
    patterns = []
    if mapping.interactions:
        patterns.append(("interactions.type", mapping.users.label, mapping.interactions.type, mapping.items.label))
    for n, entry in enumerate(mapping.kg):
        ends = (mapping.items.label, entry.label) if entry.direction == "out" else (entry.label, mapping.items.label)
        patterns.append((f"kg[{n}].type", ends[0], entry.type, ends[1]))
    for key, start, kind, end in patterns:
        if not _found(graph, "has_pattern", {"start_label": start, "type": kind, "end_label": end}):
            raise MappingError(f"{mapping.origin}: {key}: no (:{start})-[:{kind}]->(:{end}) relationship in "
                               f"{where_db}; check the labels and the direction.")


def _columns(mapping: GraphMapping, name: str, found: list[str]) -> list[str]:
    """The columns to take from a query's records; wrong ones are an error naming the query."""
    required, optional = QUERY_COLUMNS[name]
    missing, unknown = [c for c in required if c not in found], [c for c in found if c not in required + optional]
    if missing or unknown:
        raise MappingError(f"{mapping.origin}: queries.{name} returns {', '.join(found) or 'no column'}; it must "
                           f"return {', '.join(required)}" + (f" (and may return {', '.join(optional)})"
                                                              if optional else "") + ".")
    return list(required + optional)


def run_query(graph: GraphStore, mapping: GraphMapping, name: str, **params: Any) -> list[tuple]:
    """Rows of mapping query ``name`` (its columns in the order :data:`QUERY_COLUMNS` lists them; an
    optional one it does not return reads None), run in a read transaction with the mapping's params."""
    text = getattr(mapping.queries, name)

    def work(tx: neo4j.ManagedTransaction) -> list[tuple]:
        result = tx.run(text, {**mapping.queries.params, **params})
        wanted = _columns(mapping, name, list(result.keys()))
        return [tuple(record.get(column) for column in wanted) for record in result]

    try:
        return graph.read_with(work)
    except StoreError as error:
        code = getattr(error.__cause__, "code", "") or ""
        if code.endswith("AccessMode"):
            raise MappingError(f"{mapping.origin}: queries.{name} tries to write; mapping queries run in read "
                               "transactions and may only read.") from None
        raise MappingError(f"{mapping.origin}: queries.{name} failed: {error}") from None
