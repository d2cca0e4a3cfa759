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
from kg_store.paths import default_local_home, local_password, saved_bolt_port

__all__ = ["DEFAULT_DATABASE", "DEFAULT_USER", "Neo4jSettings", "default_local_home", "local_settings",
           "resolve_settings", "settings_from_env"]  # default_local_home: the CLI finds it here

DEFAULT_DATABASE = "neo4j"
DEFAULT_USER = "neo4j"


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

    def with_database(self, database: str | None) -> Neo4jSettings:
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


def local_settings(home: Path, bolt_port: int) -> Neo4jSettings:
    """Login for the local server in ``home`` on ``bolt_port``, with its generated password."""
    home = Path(home).expanduser().resolve()
    return Neo4jSettings(
        uri=f"bolt://127.0.0.1:{bolt_port}",
        user=DEFAULT_USER,
        password=local_password(home),
        database=DEFAULT_DATABASE,
        source=f"local server in {home}",
    )


def resolve_settings(local_home: Path | None = None, database: str | None = None) -> Neo4jSettings:
    """Settings from the environment, else from the local server's saved port and password.

    Reads the server's files directly (``kg_store.paths``) rather than through the launcher, so
    connecting never imports the process-management code.
    """
    env = settings_from_env()
    if env is not None:
        return env.with_database(database)
    home = local_home or default_local_home()
    return local_settings(home, saved_bolt_port(home)).with_database(database)
