"""The records of one dataset as CSV files for Neo4j's import tool, graph-identical to the writer's.

The graph is exactly the one :func:`ingest.writer.write_dataset` makes: the same labels, keys and
property types (rows whose properties differ in type or presence go to separate CSV files, so a
missing value is a missing property and an ``int`` stays a ``long``), duplicate keys collapsed the
way MERGE does, relationships whose ends are missing left out as the writer's MATCH does. A value
the import tool cannot write as the driver would is refused (:class:`BulkRefusedError`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from ingest.records import DatasetRecords
from kg_store.errors import KgrecError
from kg_store.graph_model import RelationAllowList, check_dataset_name
from kg_store.interest_sets import AUTHORS_SET
from kg_store.progress import Progress, stage

ARRAY_DELIMITER = "\x1f"           # unit separator: never part of a parsed value (checked)
ARRAY_DELIMITER_OPTION = "U+001F"
INTERACTION_KEYS = ("split", "rating", "ts")   # ingest/create_interactions.cypher's row[2], row[3], row[4]


class BulkRefusedError(KgrecError):
    """``--bulk`` cannot be used here (not kgrec's own server, database not empty, unmappable value)."""


# -- property values as the import tool reads them -----------------------------------------------
def _scalar_type(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        if not -(2 ** 63) <= value < 2 ** 63:
            raise BulkRefusedError(f"{where}: {value} does not fit a long; use plain ingest (without --bulk).")
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        if ARRAY_DELIMITER in value:
            raise BulkRefusedError(f"{where}: a text holds the character U+001F; use plain ingest (without --bulk).")
        return "string"
    raise BulkRefusedError(f"{where}: values of type {type(value).__name__} cannot be bulk-imported; "
                           "use plain ingest (without --bulk).")


def _value_type(value: Any, where: str) -> str:
    """The import tool's column type for one value (``string``, ``long[]``...)."""
    if isinstance(value, (list, tuple)):
        kinds = {_scalar_type(v, where) for v in value}
        if len(kinds) != 1:
            # an empty list has no element type in a CSV header, a mixed one cannot be stored at all
            raise BulkRefusedError(f"{where}: a list value that is empty or mixes types cannot be bulk-imported; "
                                   "use plain ingest (without --bulk).")
        return kinds.pop() + "[]"
    return _scalar_type(value, where)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _scalar_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, (list, tuple)):
        return _quote(ARRAY_DELIMITER.join(_scalar_cell(v) for v in value))
    return _scalar_cell(value)


def _column_type(column: list, where: str) -> str:
    """The one column type of values that share a Python type (checked as a whole: ranges, U+001F)."""
    first = column[0]
    if type(first) is int:
        low, high = min(column), max(column)
        _scalar_type(low, where), _scalar_type(high, where)
        return "long"
    if type(first) is float:
        return "double"
    if type(first) is str:
        for value in set(column):
            _scalar_type(value, where)
        return "string"
    kinds = {_value_type(value, where) for value in column}
    if len(kinds) != 1:
        raise BulkRefusedError(f"{where}: lists of different element types cannot be bulk-imported; "
                               "use plain ingest (without --bulk).")
    return kinds.pop()


def _signature(props: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """(key, type) of every present property; rows with the same signature share a CSV file."""
    return tuple((key, _value_type(value, f"{where} property '{key}'"))
                 for key, value in props.items() if value is not None)


# -- what the writer's MERGE/CREATE leaves in the graph ------------------------------------------
def _merged_nodes(rows: list) -> list[tuple[int, dict[str, Any]]]:
    """One row per id: ``MERGE (n {id}) SET n += props`` applied in order (a null removes a key)."""
    if len({row[0] for row in rows}) == len(rows):
        return [(row[0], row[1]) for row in rows]
    merged: dict[int, dict[str, Any]] = {}
    for node_id, props in rows:
        current = merged.setdefault(node_id, {})
        for key, value in props.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
    return list(merged.items())


def _merged_interactions(rows: list) -> list:
    """One edge per (user, item) pair, the last row's properties (``MERGE ... SET``)."""
    if len({(row[0], row[1]) for row in rows}) == len(rows):
        return rows
    last: dict[tuple[int, int], tuple] = {}
    for row in rows:
        last[(row[0], row[1])] = row
    return list(last.values())


def _unique(rows: Iterable[tuple]) -> list[tuple]:
    return list(dict.fromkeys(tuple(row) for row in rows))


@dataclass
class CsvSet:
    """The CSV files of one import and the ``--nodes``/``--relationships`` arguments naming them."""

    folder: Path
    arguments: list[str] = field(default_factory=list)
    multiline: bool = False
    nodes: int = 0
    relationships: int = 0
    _files: int = 0

    def _path(self, stem: str) -> Path:
        self._files += 1
        return self.folder / f"{self._files:03d}-{stem}.csv"

    def _write(self, path: Path, header: list[str], lines: Iterable[str]) -> None:
        """Header and lines, joined in chunks; notes whether any value holds a line break."""
        lines = iter(lines)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(",".join(header) + "\n")
            while chunk := list(islice(lines, 65_536)):
                text = "\n".join(chunk)
                if "\r" in text or text.count("\n") != len(chunk) - 1:
                    self.multiline = True
                handle.write(text)
                handle.write("\n")

    def nodes_file(self, label: str, fixed: dict[str, Any], rows: list[tuple[int, dict[str, Any]]],
                   advance) -> None:
        """Nodes of one label in files by property signature; ``fixed`` are the writer's constant keys."""
        groups: dict[tuple, list] = {}
        for node_id, props in rows:
            groups.setdefault(_signature(props, label), []).append((node_id, props))
        fixed_header = [f"{key}:{_value_type(value, label)}" for key, value in fixed.items()]
        fixed_cells = ",".join(_cell(value) for value in fixed.values())
        for signature, members in groups.items():
            header = [f":ID({label})", *fixed_header, "id:long", *(f"{key}:{kind}" for key, kind in signature)]
            keys = [key for key, _ in signature]
            path = self._path(label)
            self._write(path, header, (",".join([str(node_id), fixed_cells, str(node_id),
                                                  *(_cell(props[key]) for key in keys)])
                                       for node_id, props in members))
            self.arguments.append(f"--nodes={label}={path}")
            self.nodes += len(members)
            advance(len(members))

    def relationships_file(self, rel_type: str, start: str, end: str, keys: tuple[str, ...], rows: list[tuple],
                           advance) -> None:
        """Relationships ``(start id, end id, *values of keys)`` in files by the values' types (None: absent)."""
        groups: dict[tuple, list] = {}
        for row in rows:
            groups.setdefault(tuple(map(type, row[2:])), []).append(row)
        for types, members in groups.items():
            present = [k for k, kind in enumerate(types) if kind is not type(None)]
            kinds = [_column_type([row[2 + k] for row in members], f"{rel_type} property '{keys[k]}'")
                     for k in present]
            header = [f":START_ID({start})", f":END_ID({end})",
                      *(f"{keys[k]}:{kind}" for k, kind in zip(present, kinds, strict=True))]
            columns = [2 + k for k in present]
            path = self._path(rel_type)
            self._write(path, header, (",".join([str(row[0]), str(row[1]), *(_cell(row[c]) for c in columns)])
                                       for row in members))
            self.arguments.append(f"--relationships={rel_type}={path}")
            self.relationships += len(members)
            advance(len(members))

    def plain_relationships_file(self, rel_type: str, start: str, end: str, pairs: list[tuple[int, int]],
                                 advance) -> None:
        """Relationships without properties (item-entity links, KG triples): the fast path."""
        if not pairs:
            return
        path = self._path(rel_type)
        self._write(path, [f":START_ID({start})", f":END_ID({end})"], (f"{a},{b}" for a, b in pairs))
        self.arguments.append(f"--relationships={rel_type}={path}")
        self.relationships += len(pairs)
        advance(len(pairs))


def write_csv(records: DatasetRecords, folder: Path, created: datetime, progress: Progress = None,
              nodes_done: Callable[[], None] | None = None) -> CsvSet:
    """The records as the import tool's CSV files, graph-identical to :func:`ingest.writer.write_dataset`.

    ``nodes_done`` is called once the node files are written (``--bulk`` then stops the server while
    the relationships are written). The ``:Dataset`` node is written with status ``loading`` (name, source, created, version 0);
    the rest of its bookkeeping is set by the writer's own queries once the server is back.
    """
    name = check_dataset_name(records.name)
    folder.mkdir(parents=True, exist_ok=True)
    allow = RelationAllowList(records.relation_types)
    out = CsvSet(folder)
    users, items = _merged_nodes(records.users), _merged_nodes(records.items)
    entities, interests = _merged_nodes(records.entities), _merged_nodes(records.interests)
    ids = {label: {node_id for node_id, _ in rows}
           for label, rows in (("User", users), ("Item", items), ("Entity", entities), ("Interest", interests))}
    interactions = [row for row in _merged_interactions(records.interactions)
                    if row[0] in ids["User"] and row[1] in ids["Item"]]
    links = [(i, e) for i, e in _unique(records.item_entities) if i in ids["Item"] and e in ids["Entity"]]
    user_interests = [(u, j, AUTHORS_SET, 1.0) for u, j in _unique(records.user_interests)
                      if u in ids["User"] and j in ids["Interest"]]
    triples: dict[str, list[tuple[int, int]]] = {}
    for h, r, t in _unique(records.triples):
        if h in ids["Entity"] and t in ids["Entity"]:
            triples.setdefault(allow.check(records.relation_types[r]), []).append((h, t))
    total = (sum(len(rows) for rows in (users, items, entities, interests, interactions, links, user_interests))
             + sum(len(pairs) for pairs in triples.values()))
    with stage(f"{name}: CSV for the import tool", total, progress) as advance:
        dataset_path = out._path("Dataset")
        out._write(dataset_path, [":ID(Dataset)", "name:string", "created:datetime", "version:long",
                                  "source:string", "status:string"],
                   [",".join(["0", _quote(name), created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "0",
                              _quote(records.source), _quote("loading")])])
        out.arguments.append(f"--nodes=Dataset={dataset_path}")
        constant = {"dataset": name}
        out.nodes_file("User", constant, users, advance)
        out.nodes_file("Item", constant, items, advance)
        out.nodes_file("Entity", constant, entities, advance)
        out.nodes_file("Interest", {**constant, "set": AUTHORS_SET}, interests, advance)
        if nodes_done is not None:   # node properties, the values that may be refused, are all written
            nodes_done()
        out.plain_relationships_file("LINKED_TO", "Item", "Entity", links, advance)
        out.relationships_file("INTERACTED", "User", "Item", INTERACTION_KEYS, interactions, advance)
        out.relationships_file("HAS_INTEREST", "User", "Interest", ("set", "weight"), user_interests, advance)
        for rel_type, pairs in triples.items():
            out.plain_relationships_file(rel_type, "Entity", "Entity", pairs, advance)
    return out


def import_arguments(csv: CsvSet, database: str, report_file: Path) -> list[str]:
    """``neo4j-admin`` arguments that import ``csv`` into ``database``, replacing it."""
    return ["database", "import", "full", database, "--overwrite-destination=true", "--id-type=integer",
            f"--array-delimiter={ARRAY_DELIMITER_OPTION}", f"--report-file={report_file}",
            f"--multiline-fields={'true' if csv.multiline else 'false'}", *csv.arguments]
