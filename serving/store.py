"""The serving process's own Neo4j connection: short timeouts, so a request fails fast with 503.

The shared driver retries a managed transaction for up to a minute, right for batch jobs; a web
request rather answers "unavailable" within seconds and lets the client retry. The driver's pool
replaces dead connections by itself, so the server recovers when Neo4j returns.
"""

from __future__ import annotations

import neo4j

from kg_store.connection import GraphStore
from kg_store.settings import Neo4jSettings
from serving.config import ServeConfig


class ServingStore(GraphStore):
    """A ``GraphStore`` over a private driver (not the process-wide cached one) with serving timeouts."""

    def __init__(self, settings: Neo4jSettings, config: ServeConfig):  # noqa: D107 - no super(): own driver
        self.settings = settings
        self.driver = neo4j.GraphDatabase.driver(
            settings.uri, auth=(settings.user, settings.password),
            max_transaction_retry_time=config.neo4j_retry_seconds,
            connection_timeout=config.neo4j_connect_seconds,
            connection_acquisition_timeout=config.neo4j_retry_seconds + config.neo4j_connect_seconds,
            max_connection_pool_size=100,
            notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF)

    def close(self) -> None:
        self.driver.close()
