"""Whether the serving process can reach Neo4j, learnt from its own queries, and the way back.

The first query that finds Neo4j unreachable marks it down. From then on every query fails at once
(``ServerUnavailableError``: a 503 for the paths that need the graph) instead of waiting out the
driver's retries, while what the process holds in memory keeps answering, marked possibly stale.
A background thread pings Neo4j every ``probe_seconds`` and marks it up on the first answer; the
next requests then query it again. Nothing needs restarting either way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("kgrec.serve")


class Neo4jState:
    """Up or down since when; safe to share between threads."""

    def __init__(self, probe: Callable[[], None], probe_seconds: float = 0.5):
        self._probe = probe
        self._probe_seconds = probe_seconds
        self._lock = threading.Lock()
        self.down_since: float | None = None        # time.time() of the failure, None while up
        self.outages = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def mark_down(self, error: Exception) -> None:
        """Record an outage (once) and start the thread that watches for the way back."""
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.time()
            self.outages += 1
        log.warning("Neo4j unreachable (%s): answering from memory, marked stale, until it is back", error)
        threading.Thread(target=self._watch, daemon=True, name="neo4j probe").start()

    def _watch(self) -> None:
        while True:
            time.sleep(self._probe_seconds)
            try:
                self._probe()
            except Exception as error:  # noqa: BLE001 - any failure means "still down"; keep probing
                log.debug("Neo4j still down: %s", error)
                continue
            with self._lock:
                self.down_since = None
            log.warning("Neo4j answers again: serving from the graph")
            return
