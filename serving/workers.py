"""Several server processes on one port (``kgrec serve --workers N``): uvicorn's pre-fork supervisor.

The parent binds the socket and starts ``N`` processes that accept on it; each builds its own app
with :func:`app_from_env` — its own Neo4j driver, run checks, memory and response cache — so the
processes share nothing but the graph, and each holds its own copy of the runs it serves. A worker
that dies is replaced by the supervisor.

The settings travel in ``KGREC_SERVE_WORKER`` (JSON: the ``ServeConfig`` fields but the token, and
the Neo4j home/database the parent resolved its connection from); the token and the Neo4j password
are read by each worker the way the parent read them (``KGREC_SERVE_TOKEN``, ``NEO4J_*`` or the local
server's files), never passed on.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kg_store.settings import resolve_settings
from serving.app import create_app
from serving.config import ServeConfig
from serving.fast_path import CachedReads
from serving.store import ServingStore

ENV = "KGREC_SERVE_WORKER"
FACTORY = "serving.workers:app_from_env"


def worker_environment(config: ServeConfig, local_home: Path | None, database: str | None) -> str:
    """What :func:`app_from_env` rebuilds the app from, as the value of ``KGREC_SERVE_WORKER``."""
    fields: dict[str, Any] = {name: value for name, value in asdict(config).items() if name != "token"}
    return json.dumps({"config": fields, "local_home": str(local_home) if local_home else None,
                       "database": database})


def app_from_env() -> CachedReads:
    """A worker's app (uvicorn calls it once per process, with ``factory=True``)."""
    spec = json.loads(os.environ[ENV])
    config = ServeConfig.from_env(**spec["config"])
    home = Path(spec["local_home"]) if spec["local_home"] else None
    settings = resolve_settings(local_home=home, database=spec["database"])
    return create_app(ServingStore(settings, config), config)
