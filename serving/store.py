"""The serving process's own Neo4j connection: short timeouts, so a request fails fast with 503.

The shared driver retries a managed transaction for up to a minute, right for batch jobs; a web
request rather answers "unavailable" within seconds and lets the client retry. Once a query finds
Neo4j unreachable, the store says so at once for every later query until a background ping gets an
answer (``serving.outage``), so the paths that need the graph answer 503 without waiting while the
ones served from memory go on. The driver's pool replaces dead connections by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import neo4j

from kg_store.connection import GraphStore, translate_errors
from kg_store.cypher_files import load_query
from kg_store.errors import ServerUnavailableError, TransientStoreError
from kg_store.settings import Neo4jSettings
from serving.config import ServeConfig
from serving.outage import Neo4jState


class ServingStore(GraphStore):
    """A ``GraphStore`` over a private driver (not the process-wide cached one) with serving timeouts,
    which knows whether Neo4j is reachable (``neo4j``)."""

    def __init__(self, settings: Neo4jSettings, config: ServeConfig):  # noqa: D107 - no super(): own driver
        self.settings = settings
        self.driver = neo4j.GraphDatabase.driver(
            settings.uri, auth=(settings.user, settings.password),
            max_transaction_retry_time=config.neo4j_retry_seconds,
            connection_timeout=config.neo4j_connect_seconds,
            connection_acquisition_timeout=config.neo4j_retry_seconds + config.neo4j_connect_seconds,
            max_connection_pool_size=100,
            notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF)
        self.neo4j = Neo4jState(self._ping, config.neo4j_probe_seconds)

    @contextmanager
    def session(self, **config: Any) -> Iterator[neo4j.Session]:
        """A session, unless Neo4j is known to be down (then ``ServerUnavailableError`` at once)."""
        if self.neo4j.down:
            raise ServerUnavailableError(f"Neo4j at {self.settings.uri} is unreachable; this answer needs the graph "
                                         "(retry when /health says neo4j is up).")
        try:
            with super().session(**config) as session:
                yield session
        except (ServerUnavailableError, TransientStoreError) as error:    # gone, or still starting/stopping
            self.neo4j.mark_down(error)
            raise

    def _ping(self) -> None:
        """One query past the down check: what the probe tries until Neo4j answers."""
        with translate_errors(self.settings), self.driver.session(database=self.settings.database) as session:
            session.run(load_query("serving/ping")).consume()

    def close(self) -> None:
        self.driver.close()
