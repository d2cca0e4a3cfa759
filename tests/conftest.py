"""A real Neo4j for every test that needs one.

Order of preference: ``NEO4J_URI`` (your own server or cluster), else the repository's
``docker-compose.yml`` through pytest-docker when a Docker engine answers, else a private
server started by kgrec's own launcher in a temporary home on free ports (no Docker needed).
Tests isolate themselves by using their own dataset names, which they drop afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg_store.connection import GraphStore, close_all_drivers
from kg_store.local_server import LocalNeo4j, ServerOptions, free_port
from kg_store.settings import Neo4jSettings, settings_from_env

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).parent.parent


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(REPO_ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j | None]:
    """The launcher-managed server, or None when tests run against NEO4J_URI or Docker."""
    if settings_from_env() is not None or _docker_engine_answers():
        yield None
        return
    home = tmp_path_factory.mktemp("neo4j-home")
    server = LocalNeo4j(home, ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                            heap="768m", page_cache="256m"))
    server.start()
    yield server
    close_all_drivers()
    server.stop()


@pytest.fixture(scope="session")
def neo4j_settings(request: pytest.FixtureRequest, local_server: LocalNeo4j | None) -> Neo4jSettings:
    env = settings_from_env()
    if env is not None:
        return env
    if local_server is not None:
        return local_server.connection_settings()
    password = os.environ.setdefault("NEO4J_PASSWORD", secrets.token_urlsafe(18))
    bolt_port = int(os.environ.setdefault("NEO4J_BOLT_PORT", str(free_port())))
    os.environ.setdefault("NEO4J_HTTP_PORT", str(free_port()))
    services = request.getfixturevalue("docker_services")
    settings = Neo4jSettings(uri=f"bolt://127.0.0.1:{bolt_port}", password=password, source="docker compose")
    from kg_store.connection import probe_login

    services.wait_until_responsive(timeout=180.0, pause=1.0, check=lambda: probe_login(settings))
    return settings


@pytest.fixture(scope="session")
def store(neo4j_settings: Neo4jSettings) -> GraphStore:
    graph = GraphStore(neo4j_settings)
    graph.verify()
    return graph


@pytest.fixture()
def dataset_name(store: GraphStore) -> Iterator[str]:
    """A fresh dataset name, dropped after the test."""
    from kg_store.cypher_files import load_query

    name = f"test_{uuid.uuid4().hex[:10]}"
    yield name
    store.autocommit_text(load_query("store/drop_dataset"), dataset=name)


@pytest.fixture()
def cikg_folder() -> Path:
    return FIXTURES / "cikg_small"


@pytest.fixture()
def cikg_copy(tmp_path: Path, cikg_folder: Path) -> Path:
    """A writable copy of the small CIKG fixture, for tests that corrupt a file."""
    target = tmp_path / "cikg"
    shutil.copytree(cikg_folder, target)
    return target


@pytest.fixture()
def cli_env(neo4j_settings: Neo4jSettings) -> dict[str, str]:
    """Environment that points the ``kgrec`` command at the test server."""
    return {**os.environ, "NEO4J_URI": neo4j_settings.uri, "NEO4J_USER": neo4j_settings.user,
            "NEO4J_PASSWORD": neo4j_settings.password, "NEO4J_DATABASE": neo4j_settings.database}


@pytest.fixture()
def wiki_source(store: GraphStore) -> Iterator[str]:
    """A fresh dump source name; its pages and WikiSource node are deleted afterwards."""
    name = f"wiki_{uuid.uuid4().hex[:10]}"
    yield name
    store.autocommit_text("MATCH (n) WHERE (n:WikiPage AND n.source = $s) OR (n:WikiSource AND n.name = $s) "
                          "DETACH DELETE n", s=name)


@pytest.fixture()
def torch_threads(request: pytest.FixtureRequest) -> Iterator[int]:
    """torch's thread count set to the test's parameter (``indirect=True``), restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)
