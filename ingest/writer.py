"""The one writer: sends any source's records to Neo4j, in the order :data:`WRITE_PLAN` declares.

Order matters for safety, not speed: the dataset is marked ``loading`` first and ``complete``
last, and nodes go before the relationships that need them. A first load into a new dataset (no
``:Dataset`` node and no node of it yet) uses CREATE, which skips MERGE's look-up of an existing
relationship; every other load, including one resumed after a crash (its ``:Dataset`` node is
still ``loading``), uses MERGE, so a load killed at any point is finished by running it again,
without duplicates. Batching, retries and progress are :func:`kg_store.batching.write_in_batches`'s job.

Relationship steps find their end nodes by elementId: once a label's nodes are written, one read
fetches that label's (id, elementId) pairs (:class:`NodeHandles`), and the rows carry elementIds.
A seek by elementId is direct, where a look-up by (dataset, id) walks an index per row; on the
846k set it and two sessions per step wrote the KG triples about twice as fast.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.records import DatasetRecords, RecordKind, SkippedLine
from kg_store.batching import DEFAULT_BATCH_SIZE, WriteCounters, write_in_batches
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import StoreError
from kg_store.graph_model import RelationAllowList
from kg_store.interest_sets import AUTHORS_SET
from kg_store.progress import Progress
from kg_store.schema import apply_schema

NODES, RELATIONSHIPS = "nodes", "relationships"
USER_SIDE, KG_SIDE = "user side", "kg side"


@dataclass(frozen=True)
class WriteStep:
    """One record kind, the query that merges it, and which lane it may share with others.

    Steps of the two lanes touch disjoint nodes (users/items/interests vs entities), so with
    ``concurrent=True`` the lanes run in two sessions at once without waiting on each other.
    """

    kind: RecordKind
    query: str                 # the idempotent MERGE query
    create_query: str          # the CREATE query of a first load into a new dataset
    label: str
    writes: str
    lane: str = USER_SIDE
    params: tuple[tuple[str, Any], ...] = ()   # extra query parameters (hashable, so steps stay dict keys)
    endpoints: tuple[tuple[int, RecordKind], ...] = ()  # (column, node kind) of a relationship's end nodes


# Interests a source file ships are the authors' set; other sets are written by kg_store.interest_sets.
_AUTHORS = (("interest_set", AUTHORS_SET),)

WRITE_PLAN: tuple[tuple[WriteStep, ...], ...] = (
    # stage 1: every node, so that later steps can MATCH them, then the item-entity links, which
    # lock both items and entities and so must not run beside the KG lane
    (
        WriteStep(RecordKind.USERS, "ingest/merge_users", "ingest/create_users", "users", NODES),
        WriteStep(RecordKind.ITEMS, "ingest/merge_items", "ingest/create_items", "items", NODES),
        WriteStep(RecordKind.ENTITIES, "ingest/merge_entities", "ingest/create_entities", "entities", NODES),
        WriteStep(RecordKind.INTERESTS, "ingest/merge_interests", "ingest/create_interests", "interests", NODES,
                  params=_AUTHORS),
        WriteStep(RecordKind.ITEM_ENTITIES, "ingest/merge_item_entities", "ingest/create_item_entities",
                  "item-entity links", RELATIONSHIPS,
                  endpoints=((0, RecordKind.ITEMS), (1, RecordKind.ENTITIES))),
    ),
    # stage 2: the user-side relationships and the KG triples, which lock disjoint nodes
    (
        WriteStep(RecordKind.INTERACTIONS, "ingest/merge_interactions", "ingest/create_interactions",
                  "interactions", RELATIONSHIPS, endpoints=((0, RecordKind.USERS), (1, RecordKind.ITEMS))),
        WriteStep(RecordKind.USER_INTERESTS, "ingest/merge_user_interests", "ingest/create_user_interests",
                  "user interests", RELATIONSHIPS, params=_AUTHORS,
                  endpoints=((0, RecordKind.USERS), (1, RecordKind.INTERESTS))),
        WriteStep(RecordKind.TRIPLES, "ingest/merge_triples", "ingest/create_triples", "KG triples",
                  RELATIONSHIPS, lane=KG_SIDE, endpoints=((0, RecordKind.ENTITIES), (2, RecordKind.ENTITIES))),
    ),
)

# How many sessions write one step's batches at once. Two use both cores of the development machine:
# the 846k set's triples took 32 s with two against 55 s with one (bench/results/triple_lookup.json).
DEFAULT_INGEST_WORKERS = 2

_HANDLE_QUERIES = {RecordKind.USERS: "ingest/handles/users", RecordKind.ITEMS: "ingest/handles/items",
                   RecordKind.ENTITIES: "ingest/handles/entities", RecordKind.INTERESTS: "ingest/handles/interests"}


class NodeHandles:
    """A dataset's nodes' elementIds by id, read once per kind when a relationship step first needs them.

    Read after the node steps (the write plan puts every node first), so every node a relationship
    row names is there; one that is not means the records and the graph disagree, and stops the load.
    """

    def __init__(self, store: GraphStore, dataset: str):
        self.store, self.dataset = store, dataset
        self._maps: dict[RecordKind, dict[Any, str]] = {}
        self._lock = threading.Lock()   # the two lanes of a stage may ask at once

    def of(self, kind: RecordKind) -> dict[Any, str]:
        with self._lock:
            if kind not in self._maps:
                query = load_query(_HANDLE_QUERIES[kind])
                params = {"dataset": self.dataset, "interest_set": AUTHORS_SET}
                # the record as decoded: Record.data() would walk both long lists again
                row = self.store.read_with(lambda tx: tx.run(query, params).single(strict=True))
                self._maps[kind] = dict(zip(row["id"], row["handle"], strict=True))
            return self._maps[kind]

    def rows_for(self, step: WriteStep, rows: list) -> list:
        """``rows`` with each end-node id replaced by that node's elementId."""
        rows = [list(row) for row in rows]
        for column, kind in step.endpoints:
            handles = self.of(kind)
            for row in rows:
                try:
                    row[column] = handles[row[column]]
                except KeyError:
                    raise StoreError(f"{step.label} of dataset {self.dataset!r}: no node among its {kind.value} has "
                                     f"id {row[column]!r}, although the nodes were written first.") from None
        return rows


@dataclass
class IngestReport:
    dataset: str
    nodes_created: int = 0
    relationships_created: int = 0
    nodes_written: int = 0
    relationships_written: int = 0
    seconds: float = 0.0
    version: int = 0
    mode: str = "merge"     # "create": a first load into a new dataset; "merge": any other load
    has_kg: bool = False
    has_interests: bool = False
    skipped: list[SkippedLine] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)   # a re-sync or table re-run: what it found new

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["skipped"] = [asdict(line) for line in self.skipped]
        return data

    def record(self, step: WriteStep, counters: WriteCounters, seconds: float) -> None:
        self.nodes_created += counters.nodes_created
        self.relationships_created += counters.relationships_created
        if step.writes == NODES:
            self.nodes_written += counters.rows
        else:
            self.relationships_written += counters.rows
        self.steps[step.label] = round(seconds, 3)


# The columns that make a row unique in the graph: a node's id, an interaction's (user, item)
# pair; pairs and triples as a whole. CREATE is used only when no key repeats.
_KEY_COLUMNS = {RecordKind.USERS: 1, RecordKind.ITEMS: 1, RecordKind.ENTITIES: 1, RecordKind.INTERESTS: 1,
                RecordKind.INTERACTIONS: 2}


def _keys_unique(step: WriteStep, rows: list) -> bool:
    width = _KEY_COLUMNS.get(step.kind)
    keys = [tuple(row[:width]) if width else tuple(row) for row in rows]
    return len(set(keys)) == len(keys)


def _query_for(step: WriteStep, rows: list, fresh: bool) -> str:
    """CREATE on a first load whose rows repeat no key; MERGE otherwise (idempotent)."""
    return step.create_query if fresh and _keys_unique(step, rows) else step.query


def _rows_for(step: WriteStep, records: DatasetRecords, allow: RelationAllowList) -> list:
    rows = records.rows(step.kind)
    if step.kind is RecordKind.TRIPLES:  # relation index -> checked relationship type
        return [(h, allow.check(records.relation_types[r]), t) for h, r, t in rows]
    return rows


def write_dataset(store: GraphStore, records: DatasetRecords, batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: Progress = None, concurrent: bool = False,
                  workers: int = DEFAULT_INGEST_WORKERS) -> IngestReport:
    """Write validated records into the graph; returns counts and timings.

    Running it again with the same records changes nothing, whether the first run finished or not.
    ``workers`` sessions write each step's batches at once.

    With ``concurrent``, the two lanes of each stage run in two sessions at once. Off by default:
    on a warm server it saves about 10 %, but loads into a server whose JVM has just started were
    much slower and more variable with it (docs/benchmarks.md, ingest).
    """
    started = time.perf_counter()
    allow = RelationAllowList(records.relation_types)
    prepared = {step: _rows_for(step, records, allow) for stage in WRITE_PLAN for step in stage}
    apply_schema(store)
    fresh = store.write("ingest/begin_dataset", dataset=records.name, source=records.source,
                        relation_uris=records.relations, relation_types=records.relation_types,
                        has_kg=records.has_kg, has_interests=records.has_interests)[0]["fresh"]
    report = IngestReport(records.name, has_kg=records.has_kg, has_interests=records.has_interests,
                          mode="create" if fresh else "merge")

    handles = NodeHandles(store, records.name)

    def run(step: WriteStep) -> None:
        step_started = time.perf_counter()
        query = _query_for(step, prepared[step], fresh)
        rows = handles.rows_for(step, prepared.pop(step)) if step.endpoints else prepared.pop(step)
        counters = write_in_batches(store, query, rows, batch_size=batch_size, workers=workers,
                                    description=f"{records.name}: {step.label}", progress=progress,
                                    dataset=records.name, **dict(step.params))
        report.record(step, counters, time.perf_counter() - step_started)

    for stage in WRITE_PLAN:
        lanes = [[step for step in stage if step.lane == lane] for lane in (USER_SIDE, KG_SIDE)]
        if concurrent:
            with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
                for future in [pool.submit(lambda steps=steps: [run(s) for s in steps]) for steps in lanes]:
                    future.result()
        else:
            for steps in lanes:
                for step in steps:
                    run(step)
    changed = report.nodes_created + report.relationships_created > 0
    report.version = store.write("ingest/finish_dataset", dataset=records.name, changed=changed)[0]["version"]
    report.skipped, report.notes = list(records.skipped), list(records.notes)
    report.duplicates, report.changes = dict(records.duplicates), dict(records.changes)
    report.seconds = round(time.perf_counter() - started, 3)
    return report
