"""``kgrec ingest --bulk``: the same graph as :func:`ingest.writer.write_dataset`, through Neo4j's import tool.

Where the database is empty and kgrec's own local server (:class:`kg_store.local_server.LocalNeo4j`)
holds it, the records are written as CSV files, the server is **stopped**, ``neo4j-admin database
import full --overwrite-destination`` builds the database from them, the server is **started again**,
the schema (constraints and indexes) is applied and the ``:Dataset`` node gets the same
bookkeeping a normal first load leaves (``ingest/begin_dataset`` then ``ingest/finish_dataset``:
status ``complete``, version 1). Everything else refuses with a clear error: a server kgrec does
not run (``NEO4J_URI``, Docker), a database that holds any node (Community Edition has one user
database, which the import replaces whole), a property value the import tool cannot write as the
driver would.

The graph is exactly the one the normal writer makes: the same labels, keys and property types
(rows whose properties differ in type or presence go to separate CSV files, so a missing value is
a missing property and an ``int`` stays a ``long``), duplicate keys collapsed the way MERGE does,
relationships whose ends are missing left out as the writer's MATCH does. The CSV files live in a
temporary folder that is removed afterwards.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from ingest.records import DatasetRecords
from ingest.writer import IngestReport
from kg_store.connection import GraphStore
from kg_store.errors import KgrecError, LocalServerError
from kg_store.graph_model import RelationAllowList, check_dataset_name
from kg_store.interest_sets import AUTHORS_SET
from kg_store.local_server import LocalNeo4j
from kg_store.progress import Progress, note, stage
from kg_store.schema import apply_schema

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
class _CsvSet:
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
              nodes_done: Callable[[], None] | None = None) -> _CsvSet:
    """The records as the import tool's CSV files, graph-identical to :func:`ingest.writer.write_dataset`.

    ``nodes_done`` is called once the node files are written (``--bulk`` then stops the server while
    the relationships are written). The ``:Dataset`` node is written with status ``loading`` (name, source, created, version 0);
    the rest of its bookkeeping is set by the writer's own queries once the server is back.
    """
    name = check_dataset_name(records.name)
    folder.mkdir(parents=True, exist_ok=True)
    allow = RelationAllowList(records.relation_types)
    out = _CsvSet(folder)
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


def import_arguments(csv: _CsvSet, database: str, report_file: Path) -> list[str]:
    """``neo4j-admin`` arguments that import ``csv`` into ``database``, replacing it."""
    return ["database", "import", "full", database, "--overwrite-destination=true", "--id-type=integer",
            f"--array-delimiter={ARRAY_DELIMITER_OPTION}", f"--report-file={report_file}",
            f"--multiline-fields={'true' if csv.multiline else 'false'}", *csv.arguments]


# -- the target: kgrec's own server, empty --------------------------------------------------------
def check_bulk_target(store: GraphStore, server: LocalNeo4j) -> None:
    """Refuse unless ``store`` is ``server`` (kgrec's own local server, running) and holds no node."""
    settings = store.settings
    if not settings.source.startswith("local server in"):
        raise BulkRefusedError(
            f"--bulk needs kgrec's own local server; this connection comes from {settings.source} "
            f"({settings.uri}). The import tool stops and restarts the server, which kgrec can only do "
            "for the server it runs ('kgrec neo4j start'); unset NEO4J_URI or load without --bulk.")
    status = server.status()
    if settings.uri != status.bolt_uri or Path(settings.source.removeprefix("local server in ")) != server.home:
        raise BulkRefusedError(f"--bulk: the connection ({settings.uri}) is not the local server in {server.home} "
                               f"({status.bolt_uri}); load without --bulk.")
    if not status.running:
        raise BulkRefusedError(f"--bulk: the local server in {server.home} is not running; start it with "
                               "'kgrec neo4j start'.")
    if store.read("ingest/graph_has_nodes")[0]["has_nodes"]:
        raise BulkRefusedError(
            f"--bulk needs an empty database: the import tool replaces database '{settings.database}' whole, "
            "and it holds data. Load into it without --bulk (other datasets stay), or drop everything first.")


def bulk_write_dataset(store: GraphStore, server: LocalNeo4j, records: DatasetRecords, progress: Progress = None,
                       work_dir: Path | None = None) -> IngestReport:
    """Load ``records`` into the empty database of kgrec's local server with the import tool.

    Stops and restarts the server (said on stderr unless ``progress`` is False); returns the same
    report as the writer, ``mode='bulk'``, with the step times (CSV and stop run side by side, then
    import, start, schema). A node property the import tool cannot write is refused before the
    server is touched.
    """
    started = time.perf_counter()
    check_bulk_target(store, server)
    report = IngestReport(records.name, has_kg=records.has_kg, has_interests=records.has_interests, mode="bulk")
    name, database = records.name, store.settings.database

    @contextmanager
    def step(key: str, message: str) -> Iterator[None]:
        """One timed step, announced on stderr (the import and the restart take tens of seconds each)."""
        note(f"{name}: {message} ...", progress)
        began = time.perf_counter()
        try:
            yield
        finally:
            report.steps[key] = round(time.perf_counter() - began, 3)
        note(f"{name}: {message}: done in {report.steps[key]:.1f} s", progress)

    work = Path(tempfile.mkdtemp(prefix="kgrec-bulk-", dir=work_dir))
    try:
        note(f"{name}: --bulk will STOP the local Neo4j in {server.home}, replace database '{database}' with "
             "the import tool's, and START it again", progress)

        def stop() -> None:
            with step("stop", "stopping the local Neo4j"):
                server.stop()

        # the server shuts down (a checkpoint, seconds of JVM) while the relationship files are written;
        # the node files, whose properties are the values that may be refused, are written before
        with ThreadPoolExecutor(max_workers=1) as pool:
            stopping: list[Future] = []
            began = time.perf_counter()
            try:
                csv = write_csv(records, work, datetime.now(UTC), progress,
                                nodes_done=lambda: stopping.append(pool.submit(stop)))
            except BaseException:
                if stopping:
                    stopping[0].result()
                    note(f"{name}: no import; starting the local Neo4j again", progress)
                    server.start(wait_for_http=False)
                raise
            report.steps["csv"] = round(time.perf_counter() - began, 3)
            stopping[0].result()
        try:
            with step("import", f"neo4j-admin database import full {database}"):
                result = server.admin(*import_arguments(csv, database, work / "import.report"))
        finally:
            with step("start", "starting the local Neo4j again"):
                server.start(wait_for_http=False)   # Browser's HTTP connector opens a few seconds later
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-8:]
            raise LocalServerError(
                f"neo4j-admin database import failed; the server was restarted, but database '{database}' may "
                f"not come up: then stop the server, delete {server.home / 'data'}/databases/{database} and "
                f"transactions/{database}, and start it again (empty). Import tool: " + " | ".join(tail))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with step("schema", "constraints, indexes and the dataset's bookkeeping"):
        store.reconnect()
        # the imported database has no constraints or indexes yet, and no older data to upgrade
        apply_schema(store, force=True, definitions_only=True)
        store.write("ingest/begin_dataset", dataset=name, source=records.source,
                    relation_uris=records.relations, relation_types=records.relation_types,
                    has_kg=records.has_kg, has_interests=records.has_interests)
        changed = csv.nodes + csv.relationships > 0
        report.version = store.write("ingest/finish_dataset", dataset=name, changed=changed)[0]["version"]
    note(f"{name}: the local Neo4j in {server.home} was restarted and holds '{name}'", progress)
    report.nodes_created = report.nodes_written = csv.nodes
    report.relationships_created = report.relationships_written = csv.relationships
    report.skipped, report.duplicates = list(records.skipped), dict(records.duplicates)
    report.notes = [*records.notes, f"--bulk: the local Neo4j in {server.home} was stopped, imported into "
                                    "and restarted"]
    report.seconds = round(time.perf_counter() - started, 3)
    return report


__all__ = ["BulkRefusedError", "bulk_write_dataset", "check_bulk_target", "import_arguments", "write_csv"]
