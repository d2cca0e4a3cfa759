"""The one way kgrec writes many rows: ``UNWIND $rows`` batches, each its own retried transaction.

Ingest and write-back both go through :func:`write_in_batches`, so batch sizing, progress and
update counters live in one place. Every query written this way is idempotent per batch (MERGE,
or delete-then-create of one user's edges), so a batch retried by the driver never duplicates.

With ``workers`` > 1, that many sessions take batches from the same rows at once. Batches hold
disjoint rows, so concurrent MERGEs never race for the same node or relationship; lock waits on
shared end nodes end at worst in a deadlock error, which the managed transaction retries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError
from kg_store.progress import Progress, stage

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_WORKERS = 1


@dataclass
class WriteCounters:
    """What the server reported for a series of batches."""

    rows: int = 0
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0

    def add(self, other: WriteCounters) -> None:
        self.rows += other.rows
        self.nodes_created += other.nodes_created
        self.relationships_created += other.relationships_created
        self.properties_set += other.properties_set


def write_in_batches(store: GraphStore, query_name: str, rows: Sequence[Any], *, batch_size: int = DEFAULT_BATCH_SIZE,
                     description: str = "", progress: Progress = False, workers: int = DEFAULT_WORKERS,
                     **params: Any) -> WriteCounters:
    """Send ``rows`` through the named query ``batch_size`` at a time, from ``workers`` sessions at
    once; returns summed counters."""
    if not len(rows):
        _check_settings(batch_size, workers)
        return WriteCounters()
    return _write(store, query_name, iter(rows), len(rows), batch_size, description, progress, params, workers)


def write_stream(store: GraphStore, query_name: str, rows: Iterable[Any], *, batch_size: int = DEFAULT_BATCH_SIZE,
                 description: str = "", progress: Progress = False, **params: Any) -> WriteCounters:
    """Like :func:`write_in_batches` for an iterable of unknown length (a dump being parsed).

    Only one batch is held at a time, so memory stays constant however long the stream is;
    the progress stage has no total because the length is known only at the end.
    """
    return _write(store, query_name, iter(rows), None, batch_size, description, progress, params)


def _check_settings(batch_size: int, workers: int) -> None:
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}.")
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}.")


def _write(store: GraphStore, query_name: str, rows: Iterator[Any], total_rows: int | None, batch_size: int,
           description: str, progress: Progress, params: dict[str, Any], workers: int = 1) -> WriteCounters:
    """The one batching loop: ``batch_size`` rows per retried transaction, counters summed.

    Each of ``workers`` threads takes the next batch when it is free; after a failure no new batch
    starts, and the first error is raised once the batches in flight have ended.
    """
    _check_settings(batch_size, workers)
    total = WriteCounters()
    lock = threading.Lock()
    failed = threading.Event()

    def next_batch() -> list[Any]:
        with lock:
            return [] if failed.is_set() else list(islice(rows, batch_size))

    with stage(description or query_name, total_rows, progress) as advance:
        def drain() -> None:
            try:
                while batch := next_batch():
                    counters = store.write_batch(query_name, batch, **params)
                    with lock:
                        total.add(WriteCounters(len(batch), counters["nodes_created"],
                                                counters["relationships_created"], counters["properties_set"]))
                        advance(len(batch))
            except BaseException:
                failed.set()
                raise

        if workers == 1:
            drain()
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(drain) for _ in range(workers)]
            for future in futures:
                future.result()
    return total
