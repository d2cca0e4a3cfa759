"""Typed settings of ``kgrec serve``, with working defaults and the bind/token rule."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from kg_store.errors import ConfigError

TOKEN_ENV = "KGREC_SERVE_TOKEN"


@dataclass(frozen=True)
class ServeConfig:
    """``token`` is read from ``KGREC_SERVE_TOKEN`` by :meth:`from_env`; it is never logged or echoed."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    reload_check_seconds: float = 2.0       # how stale the "latest TrainingRun" may be
    max_items: int = 100                     # cold start: largest accepted item list
    max_k: int = 100                         # largest top-K served
    cache_entries: int = 50_000              # responses read from the graph kept per process (LRU)
    preload: bool = True                     # on a new run, hold its lists and vectors in memory
    neo4j_retry_seconds: float = 3.0         # per request, before answering 503
    neo4j_connect_seconds: float = 2.0
    neo4j_probe_seconds: float = 0.5         # while Neo4j is down, how often to look for it again
    workers: int = 1                         # server processes, each with its own memory

    def __repr__(self) -> str:
        token = "'***'" if self.token else "None"
        return f"ServeConfig(host={self.host!r}, port={self.port}, token={token})"

    @classmethod
    def from_env(cls, **values: object) -> ServeConfig:
        return cls(token=os.environ.get(TOKEN_ENV) or None, **values)  # type: ignore[arg-type]

    def check_bind(self) -> None:
        """Beyond localhost a token is required: refuse to start without one."""
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(f"Serving on {self.host} (beyond localhost) needs a bearer token: set {TOKEN_ENV}.")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
