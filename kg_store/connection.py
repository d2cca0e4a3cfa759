"""The one Neo4j driver of a process, and the calls everything else goes through.

Reads and writes run as managed transactions (``execute_read``/``execute_write``), which the
driver retries on transient errors (deadlocks, leader changes) with exponential back-off.
Driver exceptions are translated into kgrec's own error tree with one plain sentence each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from kg_store.cypher_files import load_query
from kg_store.errors import (
    AuthenticationFailedError,
    ServerUnavailableError,
    StoreError,
    TransientStoreError,
)
from kg_store.settings import Neo4jSettings

T = TypeVar("T")

_drivers: dict[tuple[str, str], neo4j.Driver] = {}
_drivers_lock = threading.Lock()

MAX_RETRY_SECONDS = 60.0


def _driver_for(settings: Neo4jSettings) -> neo4j.Driver:
    key = (settings.uri, settings.user)
    with _drivers_lock:
        driver = _drivers.get(key)
        if driver is None:
            driver = neo4j.GraphDatabase.driver(
                settings.uri,
                auth=(settings.user, settings.password),
                max_transaction_retry_time=MAX_RETRY_SECONDS,
                connection_acquisition_timeout=60.0,
                connection_timeout=10.0,
                # kgrec's queries are known; server hints (e.g. "label does not exist yet" on an
                # empty database) would only flood the user's terminal
                notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF,
            )
            _drivers[key] = driver
        return driver


def close_all_drivers() -> None:
    """Close every cached driver (end of process, or after credentials changed)."""
    with _drivers_lock:
        for driver in _drivers.values():
            driver.close()
        _drivers.clear()


@contextmanager
def translate_errors(settings: Neo4jSettings) -> Iterator[None]:
    """Turn driver exceptions into one-sentence kgrec errors."""
    try:
        yield
    except neo4j_errors.AuthError as exc:
        close_all_drivers()
        raise AuthenticationFailedError(
            f"Neo4j at {settings.uri} rejected user '{settings.user}': wrong user name or password "
            f"(settings from {settings.source})."
        ) from exc
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError) as exc:
        hint = " Start one with 'kgrec neo4j start' or set NEO4J_URI." if "local" in settings.source else ""
        raise ServerUnavailableError(f"No Neo4j server answers at {settings.uri}.{hint}") from exc
    except neo4j_errors.TransientError as exc:
        raise TransientStoreError(f"Neo4j kept failing transiently after retries: {exc.message}") from exc
    except neo4j_errors.Neo4jError as exc:
        raise StoreError(f"Neo4j refused a query: {exc.code}: {exc.message}") from exc
    except neo4j_errors.DriverError as exc:
        raise StoreError(f"Neo4j driver error: {exc}") from exc


def probe_login(settings: Neo4jSettings) -> bool:
    """True when the server accepts these credentials now (used while waiting for start-up)."""
    try:
        with neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password),
                                        connection_timeout=2.0) as driver:
            driver.verify_connectivity()
        return True
    except (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired, OSError,
            neo4j_errors.TransientError, neo4j_errors.AuthError):
        return False


class GraphStore:
    """Access to one Neo4j database; queries are named Cypher files, values are parameters."""

    def __init__(self, settings: Neo4jSettings):
        self.settings = settings
        self.driver = _driver_for(settings)

    def reconnect(self) -> None:
        """A fresh driver for these settings, after the server restarted under it (``ingest --bulk``):
        the old driver's pooled connections are dead, and finding that out costs retries with back-off."""
        key = (self.settings.uri, self.settings.user)
        with _drivers_lock:
            old = _drivers.pop(key, None)
        self.driver = _driver_for(self.settings)
        if old is not None and old is not self.driver:
            old.close()

    def verify(self) -> None:
        """Fail fast with a clear sentence when the server is down or the login is wrong."""
        with translate_errors(self.settings):
            self.driver.verify_connectivity()
            self.driver.verify_authentication()

    @contextmanager
    def session(self, **config: Any) -> Iterator[neo4j.Session]:
        with translate_errors(self.settings):
            with self.driver.session(database=self.settings.database, **config) as session:
                yield session

    def read(self, query_name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named read query in a managed (retried) transaction; rows as dicts."""
        return self.read_with(lambda tx: [r.data() for r in tx.run(load_query(query_name), params)])

    def write(self, query_name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named write query in a managed (retried) transaction; rows as dicts."""
        return self.write_with(lambda tx: [r.data() for r in tx.run(load_query(query_name), params)])

    def read_with(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        with self.session(default_access_mode=neo4j.READ_ACCESS) as session:
            return session.execute_read(work)

    def write_with(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        with self.session() as session:
            return session.execute_write(work)

    def write_batch(self, query_name: str, rows: list[Any], **params: Any) -> Mapping[str, int]:
        """One ``UNWIND $rows`` batch in its own retried transaction; returns update counters."""
        query = load_query(query_name)

        def work(tx: neo4j.ManagedTransaction) -> Mapping[str, int]:
            summary = tx.run(query, {**params, "rows": rows}).consume()
            counters = summary.counters
            return {
                "nodes_created": counters.nodes_created,
                "relationships_created": counters.relationships_created,
                "properties_set": counters.properties_set,
            }

        return self.write_with(work)

    def autocommit(self, query_name: str, **params: Any) -> None:
        """Run a named query in an auto-commit transaction (needed for ``CALL {} IN TRANSACTIONS``).

        The driver does not retry these; the queries that use this path are idempotent and
        safe to re-run after a failure.
        """
        self.autocommit_text(load_query(query_name), **params)

    def autocommit_text(self, statement: str, **params: Any) -> None:
        """One statement of a loaded Cypher file (schema files hold several)."""
        with self.session() as session:
            session.run(statement, params).consume()
