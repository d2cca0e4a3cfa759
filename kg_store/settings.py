"""Where the graph store is and how to log in.

Precedence (highest first): explicit arguments, the ``NEO4J_*`` environment variables, then the
local server that ``kgrec neo4j start`` manages (its port and generated password are read from
its home directory). Docker users point ``NEO4J_URI`` at the compose service.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from kg_store.errors import ConfigError

DEFAULT_DATABASE = "neo4j"
DEFAULT_USER = "neo4j"


def kgrec_data_home() -> Path:
    """Directory for state that must survive restarts (the local server's data)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kgrec"


def kgrec_cache_home() -> Path:
    """Directory for re-downloadable artifacts (Neo4j jars, export caches)."""
    override = os.environ.get("KGREC_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kgrec"


def default_local_home() -> Path:
    """Home directory of the locally managed Neo4j (``KGREC_NEO4J_HOME`` overrides)."""
    override = os.environ.get("KGREC_NEO4J_HOME")
    return Path(override) if override else kgrec_data_home() / "neo4j"


@dataclass(frozen=True)
class Neo4jSettings:
    """Connection settings; ``password`` is never printed (see ``__repr__``)."""

    uri: str
    user: str = DEFAULT_USER
    password: str = ""
    database: str = DEFAULT_DATABASE
    source: str = "explicit"

    def __repr__(self) -> str:
        return (
            f"Neo4jSettings(uri={self.uri!r}, user={self.user!r}, password='***', "
            f"database={self.database!r}, source={self.source!r})"
        )

    def with_database(self, database: str | None) -> "Neo4jSettings":
        return replace(self, database=database) if database else self


def settings_from_env() -> Neo4jSettings | None:
    """Settings from ``NEO4J_URI``/``NEO4J_USER``/``NEO4J_PASSWORD``/``NEO4J_DATABASE``, if set."""
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        return None
    password = os.environ.get("NEO4J_PASSWORD")
    if password is None:
        raise ConfigError("NEO4J_URI is set but NEO4J_PASSWORD is not; set both.")
    return Neo4jSettings(
        uri=uri,
        user=os.environ.get("NEO4J_USER", DEFAULT_USER),
        password=password,
        database=os.environ.get("NEO4J_DATABASE", DEFAULT_DATABASE),
        source="environment",
    )


def resolve_settings(local_home: Path | None = None, database: str | None = None) -> Neo4jSettings:
    """Settings from the environment, else from the local server's home directory."""
    from kg_store.local_server import LocalNeo4j  # local import: launcher is optional machinery

    env = settings_from_env()
    if env is not None:
        return env.with_database(database)
    server = LocalNeo4j(home=local_home or default_local_home())
    return server.connection_settings().with_database(database)
