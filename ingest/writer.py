"""The one writer: sends any source's records to Neo4j in ``UNWIND`` batches of ``MERGE``.

Order matters for safety, not speed: the dataset is marked ``loading`` first and ``complete``
last, nodes go before the relationships that need them, and every statement is a MERGE, so a
load killed at any point is finished by running it again, without duplicates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from kg_store.connection import GraphStore
from kg_store.graph_model import RelationAllowList
from kg_store.schema import apply_schema
from ingest.records import DatasetRecords, SkippedLine

DEFAULT_BATCH_SIZE = 10_000


@dataclass
class IngestReport:
    dataset: str
    nodes_created: int = 0
    relationships_created: int = 0
    nodes_written: int = 0
    relationships_written: int = 0
    seconds: float = 0.0
    version: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["skipped"] = [asdict(line) for line in self.skipped]
        return data


class BatchWriter:
    """Writes rows through one named query, ``batch_size`` rows per retried transaction."""

    def __init__(self, store: GraphStore, dataset: str, batch_size: int, progress: bool):
        self.store = store
        self.dataset = dataset
        self.batch_size = batch_size
        self.progress = progress
        self.report = IngestReport(dataset)
        self._lock = threading.Lock()

    def write(self, query_name: str, rows: Sequence[Any], label: str, kind: str, position: int = 0) -> None:
        if not rows:
            return
        started = time.perf_counter()
        with tqdm(total=len(rows), desc=f"{self.dataset}: {label}", unit=" rows", position=position,
                  disable=not self.progress, leave=False) as bar:
            for start in range(0, len(rows), self.batch_size):
                batch = list(rows[start:start + self.batch_size])
                counters = self.store.write_batch(query_name, batch, dataset=self.dataset)
                with self._lock:
                    self.report.nodes_created += counters["nodes_created"]
                    self.report.relationships_created += counters["relationships_created"]
                bar.update(len(batch))
        with self._lock:
            if kind == "nodes":
                self.report.nodes_written += len(rows)
            else:
                self.report.relationships_written += len(rows)
            self.report.steps[label] = round(time.perf_counter() - started, 3)


def write_dataset(store: GraphStore, records: DatasetRecords, batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: bool = True, concurrent: bool = False) -> IngestReport:
    """Write validated records into the graph idempotently; returns counts and timings.

    With ``concurrent``, the user-side relationships (interactions, interests: User, Item and
    Interest nodes) and the KG triples (Entity nodes only) are written by two sessions at once:
    they lock disjoint nodes, so they never wait on or deadlock each other. Off by default: on a
    warm server it saves about 10 %, but loads into a server whose JVM has just started were much
    slower and more variable with it (see the README's ingest benchmark).
    """
    started = time.perf_counter()
    allow = RelationAllowList(records.relation_types)
    triples = [(h, allow.check(records.relation_types[r]), t) for h, r, t in records.triples]
    apply_schema(store)
    store.write("ingest/begin_dataset", dataset=records.name, source=records.source,
                relation_uris=records.relations, relation_types=records.relation_types)
    writer = BatchWriter(store, records.name, batch_size, progress)
    writer.write("ingest/merge_users", records.users, "users", "nodes")
    writer.write("ingest/merge_items", records.items, "items", "nodes")
    writer.write("ingest/merge_entities", records.entities, "entities", "nodes")
    writer.write("ingest/merge_interests", records.interests, "interests", "nodes")
    writer.write("ingest/merge_item_entities", records.item_entities, "item-entity links", "relationships")

    def user_side() -> None:
        writer.write("ingest/merge_interactions", records.interactions, "interactions", "relationships")
        writer.write("ingest/merge_user_interests", records.user_interests, "user interests", "relationships")

    def item_side() -> None:
        writer.write("ingest/merge_triples", triples, "KG triples", "relationships", position=1)

    if concurrent:
        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(user_side), pool.submit(item_side)]:
                future.result()
    else:
        user_side()
        item_side()
    report = writer.report
    changed = report.nodes_created + report.relationships_created > 0
    report.version = store.write("ingest/finish_dataset", dataset=records.name, changed=changed)[0]["version"]
    report.skipped = list(records.skipped)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
