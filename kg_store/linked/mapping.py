"""The mapping file (``graph.toml``) of a linked dataset, read strictly.

Every section and key is known: an unknown key, a missing one or a value of the wrong type is an
error naming the file and the key (``users.key``, ``kg[2].direction``, ``queries.kg``). Labels,
relationship types and property names become Cypher identifiers, so each must be a plain
identifier (letters, digits, ``_``) and is backtick-quoted where it is used
(:mod:`kg_store.linked.cypher`); every value goes to the server as a parameter. The relationship
type recommendations are written as must be kgrec-safe (``A-Z``, ``0-9``, ``_``) and must differ
from every type the mapping reads, so write-back never touches a relationship kgrec reads.

::

    [source]                 # optional: the database of the graph (default: kgrec's own)
    database = "neo4j"
    [users]                  # label + key property
    [items]                  # label + key property, optional title and text properties
    [interactions]           # type (user -> item), optional rating, positive_threshold, timestamp
    [[kg]]                   # type, direction ("out": item -> other, "in": other -> item), label, key
    [queries]                # optional read-only Cypher instead of [interactions] / beside [[kg]]
    [writeback]              # type (default KGREC_RECOMMENDS)
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg_store.errors import ConfigError, UnsafeNameError
from kg_store.graph_model import check_relation_type

DEFAULT_WRITEBACK_TYPE = "KGREC_RECOMMENDS"
DIRECTIONS = ("out", "in")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
#: labels only kgrec's own nodes carry: a mapping may not read them as users, items or entities
KGREC_ONLY_LABELS = frozenset({"Dataset", "TrainingRun", "LLMResponse", "WikiPage", "WikiSource", "KgrecIdMap",
                               "KgrecSplits", "KgrecItemText", "KgrecUserText", "KgrecPrompt"})
#: labels kgrec's own nodes share with many graphs; on these, nodes with kgrec's ``dataset`` property are skipped
SHARED_LABELS = frozenset({"User", "Item", "Entity", "Interest"})

# section -> (required keys, optional keys)
_SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "source": ((), ("database",)),
    "users": (("label", "key"), ()),
    "items": (("label", "key"), ("title", "text")),
    "interactions": (("type",), ("rating", "positive_threshold", "timestamp")),
    "kg": (("type", "direction", "label", "key"), ()),
    "queries": ((), ("users", "items", "interactions", "kg", "params")),
    "writeback": ((), ("type",)),
}
_TOP = ("source", "users", "items", "interactions", "kg", "queries", "writeback")


class MappingError(ConfigError):
    """A mapping file is malformed, or names something its graph lacks; names the file and key."""

    exit_code = 2


def check_identifier(value: Any, where: str) -> str:
    """``value`` when it is a plain identifier kgrec may quote into Cypher; else an error naming ``where``."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise UnsafeNameError(f"{where}: {value!r} is not a plain name (letters, digits and '_', not starting "
                              "with a digit, at most 100 characters).")
    return value


@dataclass(frozen=True)
class NodeMap:
    """Which nodes are the users (or items), and the property that identifies each."""

    label: str
    key: str
    title: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class InteractionMap:
    type: str
    rating: str | None = None
    positive_threshold: float | None = None
    timestamp: str | None = None


@dataclass(frozen=True)
class KgMap:
    """One relationship of the item graph: ``(item)-[:type]->(other)`` (out) or ``(other)-[:type]->(item)`` (in)."""

    type: str
    direction: str
    label: str
    key: str


@dataclass(frozen=True)
class Queries:
    users: str | None = None
    items: str | None = None
    interactions: str | None = None
    kg: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphMapping:
    """A validated mapping: where the users, items, interactions and item graph are, and the write-back type."""

    users: NodeMap
    items: NodeMap
    interactions: InteractionMap | None
    kg: tuple[KgMap, ...]
    queries: Queries
    writeback: str = DEFAULT_WRITEBACK_TYPE
    database: str | None = None
    origin: str = "mapping"          # how errors name it: the file, or the dataset whose node stores it

    def read_types(self) -> set[str]:
        """Every relationship type the mapping reads by name."""
        return {entry.type for entry in self.kg} | ({self.interactions.type} if self.interactions else set())

    def as_dict(self) -> dict[str, Any]:
        """The mapping as the file would hold it (absent optional keys left out); what the Dataset node stores."""
        def plain(value: Any) -> dict[str, Any]:
            return {k: v for k, v in vars(value).items() if v is not None and v != {}}

        data: dict[str, Any] = {"users": plain(self.users), "items": plain(self.items),
                                "writeback": {"type": self.writeback}}
        if self.database:
            data["source"] = {"database": self.database}
        if self.interactions:
            data["interactions"] = plain(self.interactions)
        if self.kg:
            data["kg"] = [plain(entry) for entry in self.kg]
        if plain(self.queries):
            data["queries"] = plain(self.queries)
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, default=str)


def _table(data: Any, name: str, origin: str) -> dict[str, Any]:
    """A section's keys, checked against the known ones: unknown and missing keys are named."""
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: [{name}] must be a table.")
    required, optional = _SECTIONS[name.split("[")[0]]
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise MappingError(f"{origin}: [{name}]: unknown key(s) {', '.join(unknown)} "
                           f"(known: {', '.join(required + optional)}).")
    missing = [key for key in required if key not in data]
    if missing:
        raise MappingError(f"{origin}: [{name}]: missing key(s) {', '.join(missing)}.")
    return data


def _name(data: dict[str, Any], section: str, key: str, origin: str, optional: bool = False) -> str | None:
    if optional and data.get(key) is None:
        return None
    return check_identifier(data.get(key), f"{origin}: {section}.{key}")


def _label(data: dict[str, Any], section: str, origin: str) -> str:
    label = _name(data, section, "label", origin)
    if label in KGREC_ONLY_LABELS:
        raise MappingError(f"{origin}: {section}.label: {label!r} is a label of kgrec's own nodes, not of your graph.")
    return label


def _node_map(data: Any, section: str, origin: str) -> NodeMap:
    table = _table(data, section, origin)
    return NodeMap(_label(table, section, origin), _name(table, section, "key", origin),
                   _name(table, section, "title", origin, optional=True),
                   _name(table, section, "text", origin, optional=True))


def _interactions(data: Any, origin: str) -> InteractionMap:
    table = _table(data, "interactions", origin)
    threshold = table.get("positive_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
        raise MappingError(f"{origin}: interactions.positive_threshold must be a number, got {threshold!r}.")
    if threshold is not None and table.get("rating") is None:
        raise MappingError(f"{origin}: interactions.positive_threshold needs interactions.rating (the property "
                           "compared with it).")
    return InteractionMap(_name(table, "interactions", "type", origin),
                          _name(table, "interactions", "rating", origin, optional=True),
                          None if threshold is None else float(threshold),
                          _name(table, "interactions", "timestamp", origin, optional=True))


def _kg(entries: Any, origin: str) -> tuple[KgMap, ...]:
    if not isinstance(entries, list):
        raise MappingError(f"{origin}: kg must be an array of tables ([[kg]]).")
    found = []
    for n, entry in enumerate(entries):
        section = f"kg[{n}]"
        table = _table(entry, section, origin)
        if table["direction"] not in DIRECTIONS:
            raise MappingError(f"{origin}: {section}.direction must be 'out' (item -> other) or 'in' (other -> item), "
                               f"got {table['direction']!r}.")
        found.append(KgMap(_name(table, section, "type", origin), table["direction"], _label(table, section, origin),
                           _name(table, section, "key", origin)))
    return tuple(found)


def _queries(data: Any, origin: str) -> Queries:
    table = _table(data, "queries", origin)
    for key in ("users", "items", "interactions", "kg"):
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            raise MappingError(f"{origin}: queries.{key} must be a non-empty Cypher query.")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise MappingError(f"{origin}: queries.params must be a table of parameter values.")
    for name in params:
        check_identifier(name, f"{origin}: queries.params")
    return Queries(table.get("users"), table.get("items"), table.get("interactions"), table.get("kg"), dict(params))


def _check_keys_agree(mapping: GraphMapping) -> None:
    """One label, one key property: an entity label reached twice (or the items' label) keeps one key."""
    keys = {mapping.items.label: ("items.key", mapping.items.key)}
    for n, entry in enumerate(mapping.kg):
        where, key = keys.setdefault(entry.label, (f"kg[{n}].key", entry.key))
        if key != entry.key:
            raise MappingError(f"{mapping.origin}: kg[{n}].key: label {entry.label!r} is keyed by {key!r} in {where}; "
                               "one label needs one key property.")


def _writeback(data: Any, origin: str, read_types: set[str]) -> str:
    table = _table(data, "writeback", origin)
    name = table.get("type", DEFAULT_WRITEBACK_TYPE)
    check_identifier(name, f"{origin}: writeback.type")
    try:
        check_relation_type(name)
    except UnsafeNameError as error:
        raise MappingError(f"{origin}: writeback.type: {error}") from None
    if name in read_types:
        raise MappingError(f"{origin}: writeback.type {name!r} is a type the mapping reads; write-back would "
                           "replace those relationships. Pick another name.")
    return name


def parse_mapping(data: dict[str, Any], origin: str) -> GraphMapping:
    """A validated mapping from the file's tables; ``origin`` names it in errors."""
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise MappingError(f"{origin}: unknown section(s) {', '.join(unknown)} (known: {', '.join(_TOP)}).")
    missing = [name for name in ("users", "items") if name not in data]
    if missing:
        raise MappingError(f"{origin}: missing section(s) {', '.join(f'[{name}]' for name in missing)}.")
    queries = _queries(data.get("queries", {}), origin)
    interactions = _interactions(data["interactions"], origin) if "interactions" in data else None
    if (interactions is None) == (queries.interactions is None):
        raise MappingError(f"{origin}: give the interactions either as [interactions] or as queries.interactions "
                           f"({'both were' if interactions else 'neither was'} given).")
    source = _table(data.get("source", {}), "source", origin)
    database = source.get("database")
    if database is not None and (not isinstance(database, str) or not database):
        raise MappingError(f"{origin}: source.database must be a database name.")
    kg = _kg(data.get("kg", []), origin)
    read = {entry.type for entry in kg} | ({interactions.type} if interactions else set())
    mapping = GraphMapping(_node_map(data["users"], "users", origin), _node_map(data["items"], "items", origin),
                           interactions, kg, queries, _writeback(data.get("writeback", {}), origin, read),
                           database, origin)
    _check_keys_agree(mapping)
    return mapping


def load_mapping(path: Path | str) -> GraphMapping:
    """Read and validate a mapping file; a TOML syntax error names the file, line and column."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MappingError(f"{path}: cannot read the mapping file ({error.strerror}).") from None
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"{path}: not valid TOML: {error}") from None
    return parse_mapping(data, str(path))


def stored_mapping(info: dict[str, Any]) -> GraphMapping:
    """The mapping a linked dataset's Dataset node stores, validated again before any name reaches a query."""
    origin = f"the mapping stored with dataset {info['name']!r}"
    try:
        data = json.loads(info.get("mapping") or "")
    except ValueError:
        raise MappingError(f"{origin} is not JSON; link the dataset again.") from None
    return parse_mapping(data, origin)
