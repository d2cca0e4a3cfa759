"""Reading a mapped graph: its users, items, interactions and item-graph rows, keyed by the graph's own keys.

Everything runs in read transactions. Node keys come back as one list per label, with each node's
elementId; the relationships are then read chunk by chunk of start nodes (seeks by elementId), each
chunk one record of lists, so neither the server nor the driver holds more than a chunk's rows at
once beyond what is kept. Mapping queries (``[queries]``) replace or add to these reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kg_store.connection import GraphStore
from kg_store.linked.checks import run_query
from kg_store.linked.cypher import render
from kg_store.linked.mapping import SHARED_LABELS, GraphMapping, MappingError, check_identifier

Key = int | str
CHUNK_NODES = 5_000          # start nodes per relationship read
QUERY_ENTITY_LABEL = "Entity"   # the namespace of entities a kg query names without an entity_label


@dataclass
class Nodes:
    """One kind's keys in the order the graph gave them, each with its node's elementId."""

    keys: list[Key]
    handles: list[str]

    def handle_of(self) -> dict[Key, str]:
        return dict(zip(self.keys, self.handles, strict=True))


@dataclass
class GraphRead:
    """What one pass over the mapped graph found."""

    users: Nodes
    items: Nodes
    interactions: list[tuple[Key, Key, Any, Any]]        # user key, item key, rating, timestamp
    kg: list[tuple[Key, str, str, Key, bool]]             # item key, relation, entity label, entity key, item is head
    notes: list[str] = field(default_factory=list)


def _check_key(value: Any, kind: type | None, where: str) -> type:
    """The key's type (int or str), which every key of one kind shares; anything else is an error."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MappingError(f"{where}: key {value!r} is a {type(value).__name__}; keys must be integers or strings.")
    if kind is not None and type(value) is not kind:
        raise MappingError(f"{where}: keys mix integers and strings ({value!r}); one kind needs one key type.")
    return type(value)


def _check_keys(keys: list[Any], where: str) -> None:
    kind = None
    for value in keys:
        kind = _check_key(value, kind, where)


def read_nodes(graph: GraphStore, mapping: GraphMapping, section: str) -> Nodes:
    """Every node of the users' (``section="users"``) or items' label with its key, restricted to the keys
    the mapping's query of that name returns when it has one."""
    nodes = getattr(mapping, section)
    text = render("nodes", label=nodes.label, key=nodes.key)
    row = graph.read_with(lambda tx: tx.run(text, {"shared": nodes.label in SHARED_LABELS}).single(strict=True))
    keys, handles = list(row["keys"]), list(row["handles"])
    _check_keys(keys, f"{mapping.origin}: {section}.key")
    if len(set(keys)) != len(keys):
        seen: set[Key] = set()
        twice = next(k for k in keys if k in seen or seen.add(k))
        raise MappingError(f"{mapping.origin}: {section}.key: {len(keys) - len(set(keys))} :{nodes.label} node(s) "
                           f"repeat a key (e.g. {twice!r}); the key property must identify one node.")
    if getattr(mapping.queries, section):
        chosen = [row[0] for row in run_query(graph, mapping, section)]
        _check_keys(chosen, f"{mapping.origin}: queries.{section}")
        wanted = set(chosen)
        kept = [(k, h) for k, h in zip(keys, handles, strict=True) if k in wanted]
        keys, handles = [k for k, _ in kept], [h for _, h in kept]
    return Nodes(keys, handles)


def _chunks(handles: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(handles), CHUNK_NODES):
        yield handles[start:start + CHUNK_NODES]


def _chunked(graph: GraphStore, text: str, handles: list[str], **params: Any) -> list[list]:
    rows: list[list] = []
    for chunk in _chunks(handles):
        record = graph.read_with(lambda tx, chunk=chunk: tx.run(text, {**params, "handles": chunk}).single(strict=True))
        rows.extend(record["rows"])
    return rows


def read_interactions(graph: GraphStore, mapping: GraphMapping, users: Nodes, since: Any = None) -> list[tuple]:
    """(user key, item key, rating, timestamp) of every interaction (stamped at or after ``since`` when given)."""
    if mapping.interactions is None:
        rows = run_query(graph, mapping, "interactions", since=since)
        for user, item, _, _ in rows:
            _check_key(user, None, f"{mapping.origin}: queries.interactions (user)")
            _check_key(item, None, f"{mapping.origin}: queries.interactions (item)")
        return rows
    inter = mapping.interactions
    if since is not None and inter.timestamp is None:
        raise MappingError(f"{mapping.origin}: reading interactions since {since!r} needs interactions.timestamp.")
    text = render("interactions", user_label=mapping.users.label, user_key=mapping.users.key,
                  interaction_type=inter.type, item_label=mapping.items.label, item_key=mapping.items.key)
    rows = _chunked(graph, text, users.handles, shared_items=mapping.items.label in SHARED_LABELS, since=since,
                    rating=inter.rating, timestamp=inter.timestamp)
    return [tuple(row) for row in rows]


def read_kg(graph: GraphStore, mapping: GraphMapping, items: Nodes) -> list[tuple[Key, str, str, Key, bool]]:
    """Every item-graph row: (item key, relation, entity label, entity key, whether the item is the head)."""
    rows: list[tuple[Key, str, str, Key, bool]] = []
    for n, entry in enumerate(mapping.kg):
        text = render(f"kg_{entry.direction}", item_label=mapping.items.label, item_key=mapping.items.key,
                      kg_type=entry.type, other_label=entry.label, other_key=entry.key)
        found = _chunked(graph, text, items.handles, shared_other=entry.label in SHARED_LABELS)
        _check_keys([other for _, other in found], f"{mapping.origin}: kg[{n}].key")
        head = entry.direction == "out"
        rows.extend((item, entry.type, entry.label, other, head) for item, other in found)
    if mapping.queries.kg:
        where = f"{mapping.origin}: queries.kg"
        for item, relation, entity, label in run_query(graph, mapping, "kg"):
            _check_key(item, None, f"{where} (item)")
            _check_key(entity, None, f"{where} (entity)")
            rows.append((item, check_identifier(relation, f"{where} (relation)"),
                         check_identifier(label or QUERY_ENTITY_LABEL, f"{where} (entity_label)"), entity, True))
    return rows


def read_graph(graph: GraphStore, mapping: GraphMapping, since: Any = None) -> GraphRead:
    """One pass over the mapped graph (``since``: only the interactions stamped at or after it)."""
    users, items = read_nodes(graph, mapping, "users"), read_nodes(graph, mapping, "items")
    return GraphRead(users, items, read_interactions(graph, mapping, users, since), read_kg(graph, mapping, items))


def positives(rows: list[tuple], mapping: GraphMapping) -> tuple[dict[tuple[Key, Key], Any], int]:
    """The distinct positive (user key, item key) pairs with their latest timestamp, and how many rows
    fell below ``positive_threshold`` (a row without a rating does too, when there is a threshold).

    A pair rated several times is positive when any of its ratings is."""
    threshold = mapping.interactions.positive_threshold if mapping.interactions else None
    pairs: dict[tuple[Key, Key], Any] = {}
    below = 0
    for user, item, rating, stamp in rows:
        if threshold is not None and (not isinstance(rating, int | float) or rating < threshold):
            below += 1
            continue
        old = pairs.get((user, item))
        pairs[(user, item)] = stamp if old is None or (stamp is not None and stamp > old) else old
    return pairs, below
