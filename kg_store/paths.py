"""Where kgrec keeps its files, and the local server's saved port and password.

This module sits below both ``settings`` (which must find the local server's login without
importing the launcher) and ``local_server`` (which writes those files), so neither imports the
other for them. It imports nothing of kgrec but the error tree.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kg_store.errors import LocalServerError

AUTH_FILE = "kgrec-auth.json"
STATE_FILE = "kgrec-server.json"
PID_FILE = "kgrec-server.pid"
DEFAULT_BOLT_PORT = 7687


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


def saved_server_state(home: Path) -> dict[str, Any] | None:
    """The server options saved at the local server's last start, or None before the first."""
    state = Path(home) / STATE_FILE
    return json.loads(state.read_text()) if state.exists() else None


def saved_bolt_port(home: Path) -> int:
    """The Bolt port the local server in ``home`` was last started on (default before that)."""
    state = saved_server_state(home) or {}
    return int(state.get("bolt_port", DEFAULT_BOLT_PORT))


def local_password(home: Path) -> str:
    """The generated password of the local server in ``home``; explains what to do when absent."""
    auth = Path(home) / AUTH_FILE
    if not auth.exists():
        raise LocalServerError(
            f"No local Neo4j has been set up in {home}: run 'kgrec neo4j start', "
            "or set NEO4J_URI, NEO4J_USER and NEO4J_PASSWORD for your own server."
        )
    return json.loads(auth.read_text())["password"]
