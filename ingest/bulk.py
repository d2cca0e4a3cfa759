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

The CSV files, graph-identical to the normal writer's, are :mod:`ingest.bulk_csv`'s job; they live
in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingest.bulk_csv import BulkRefusedError, CsvSet, import_arguments, write_csv
from ingest.records import DatasetRecords
from ingest.writer import IngestReport
from kg_store.connection import GraphStore
from kg_store.errors import LocalServerError
from kg_store.local_server import LocalNeo4j
from kg_store.progress import Progress, note
from kg_store.schema import apply_schema


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
    run = _BulkRun(store, server, records, progress, report)
    work = Path(tempfile.mkdtemp(prefix="kgrec-bulk-", dir=work_dir))
    try:
        run.note(f"--bulk will STOP the local Neo4j in {server.home}, replace database '{run.database}' with "
                 "the import tool's, and START it again")
        csv = run.write_csv_while_stopping(work)
        run.import_and_restart(csv, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run.finish_dataset(csv)
    run.note(f"the local Neo4j in {server.home} was restarted and holds '{records.name}'")
    _fill_report(report, records, csv, server)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


@dataclass
class _BulkRun:
    """One ``--bulk`` load: where it goes, what it loads, and the report its timed steps fill in."""

    store: GraphStore
    server: LocalNeo4j
    records: DatasetRecords
    progress: Progress
    report: IngestReport
    name: str = field(init=False)
    database: str = field(init=False)

    def __post_init__(self) -> None:
        self.name, self.database = self.records.name, self.store.settings.database

    def note(self, message: str) -> None:
        note(f"{self.name}: {message}", self.progress)

    @contextmanager
    def step(self, key: str, message: str) -> Iterator[None]:
        """One timed step, announced on stderr (the import and the restart take tens of seconds each)."""
        self.note(f"{message} ...")
        began = time.perf_counter()
        try:
            yield
        finally:
            self.report.steps[key] = round(time.perf_counter() - began, 3)
        self.note(f"{message}: done in {self.report.steps[key]:.1f} s")

    def stop_server(self) -> None:
        with self.step("stop", "stopping the local Neo4j"):
            self.server.stop()

    def write_csv_while_stopping(self, work: Path) -> CsvSet:
        """The CSV files in ``work``. The server shuts down (a checkpoint, seconds of JVM) while the
        relationship files are written; the node files, whose properties are the values that may be
        refused, are written before, so a refusal leaves the server running."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            stopping: list[Future] = []
            began = time.perf_counter()
            try:
                csv = write_csv(self.records, work, datetime.now(UTC), self.progress,
                                nodes_done=lambda: stopping.append(pool.submit(self.stop_server)))
            except BaseException:
                if stopping:
                    stopping[0].result()
                    self.note("no import; starting the local Neo4j again")
                    self.server.start(wait_for_http=False)
                raise
            self.report.steps["csv"] = round(time.perf_counter() - began, 3)
            stopping[0].result()
        return csv

    def import_and_restart(self, csv: CsvSet, work: Path) -> None:
        """Run the import tool on the stopped server, then start it again whatever the outcome."""
        try:
            with self.step("import", f"neo4j-admin database import full {self.database}"):
                result = self.server.admin(*import_arguments(csv, self.database, work / "import.report"))
        finally:
            with self.step("start", "starting the local Neo4j again"):
                self.server.start(wait_for_http=False)   # Browser's HTTP connector opens a few seconds later
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-8:]
            raise LocalServerError(
                f"neo4j-admin database import failed; the server was restarted, but database '{self.database}' may "
                f"not come up: then stop the server, delete {self.server.home / 'data'}/databases/{self.database} and "
                f"transactions/{self.database}, and start it again (empty). Import tool: " + " | ".join(tail))

    def finish_dataset(self, csv: CsvSet) -> None:
        """Constraints, indexes and the ``:Dataset`` bookkeeping a normal first load leaves."""
        records = self.records
        with self.step("schema", "constraints, indexes and the dataset's bookkeeping"):
            self.store.reconnect()
            # the imported database has no constraints or indexes yet, and no older data to upgrade
            apply_schema(self.store, force=True, definitions_only=True)
            self.store.write("ingest/begin_dataset", dataset=self.name, source=records.source,
                             relation_uris=records.relations, relation_types=records.relation_types,
                             has_kg=records.has_kg, has_interests=records.has_interests)
            changed = csv.nodes + csv.relationships > 0
            self.report.version = self.store.write("ingest/finish_dataset", dataset=self.name,
                                                   changed=changed)[0]["version"]


def _fill_report(report: IngestReport, records: DatasetRecords, csv: CsvSet, server: LocalNeo4j) -> None:
    report.nodes_created = report.nodes_written = csv.nodes
    report.relationships_created = report.relationships_written = csv.relationships
    report.skipped, report.duplicates = list(records.skipped), dict(records.duplicates)
    report.notes = [*records.notes, f"--bulk: the local Neo4j in {server.home} was stopped, imported into "
                                    "and restarted"]


__all__ = ["BulkRefusedError", "bulk_write_dataset", "check_bulk_target", "import_arguments", "write_csv"]
