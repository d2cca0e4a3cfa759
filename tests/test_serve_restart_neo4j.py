"""`kgrec serve` while its Neo4j stops and starts again: 503 JSON during the outage, answers again after,
and the server process never goes down.

Uses its own short-lived local server, so the session's server is untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg_store.connection import GraphStore
from kg_store.local_server import LocalNeo4j, ServerOptions, free_port
from kgrec.api import ingest_cikg
from kgrec.training import train_and_write

FIXTURE = Path(__file__).parent / "fixtures" / "cikg_small"
DATASET = "serve_restart"


@dataclass
class Answer:
    at: float
    path: str
    status: int
    body: dict
    seconds: float


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Poller(threading.Thread):
    """Sends reads that need Neo4j, one after another, until stopped; keeps every answer."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.paths = [f"/datasets/{DATASET}/users/{u}/recommendations?k=3" for u in range(4)] + \
                     [f"/datasets/{DATASET}/users/0/explanations/3", "/health"]
        self.base = base
        self.answers: list[Answer] = []
        self.halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            path = self.paths[n % len(self.paths)]
            started = time.monotonic()
            status, body = _get(self.base + path)
            self.answers.append(Answer(started, path, status, body, time.monotonic() - started))
            n += 1
            time.sleep(0.05)

    def wait_for(self, status: int, since: float, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any(a.status == status and a.at >= since for a in self.answers):
            assert time.monotonic() < deadline, f"no {status} within {seconds} s: {self.answers[-3:]}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def neo4j_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    server = LocalNeo4j(tmp_path_factory.mktemp("neo4j-restart"),
                        ServerOptions(bolt_port=free_port(), http_port=free_port(), heap="512m", page_cache="128m"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(neo4j_server: LocalNeo4j, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen]]:
    """The fixture dataset trained on the private server, and ``kgrec serve`` over it."""
    settings = neo4j_server.connection_settings()
    store = GraphStore(settings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        ingest_cikg(store, FIXTURE, DATASET)
        train_and_write(store, DATASET, "lightgcn", seeds=[1], k=3, progress=False, embedding_dim=8, epochs=2,
                        batch_size=16)
    env = {**{k: v for k, v in os.environ.items() if k != "KGREC_SERVE_TOKEN"}, "NEO4J_URI": settings.uri,
           "NEO4J_USER": settings.user, "NEO4J_PASSWORD": settings.password}
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", "--port", str(port), "--reload-check", "0"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(base + "/health")
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "kgrec serve did not come up"
            time.sleep(0.3)
    yield base, process
    process.terminate()
    process.communicate(timeout=30)
    store.driver.close()


def test_neo4j_restart_during_requests(neo4j_server: LocalNeo4j, served) -> None:
    base, process = served
    pid = process.pid
    poller = Poller(base)
    poller.start()
    try:
        poller.wait_for(200, since=0.0, seconds=30)
        stopped = time.monotonic()
        neo4j_server.stop()
        poller.wait_for(503, since=stopped, seconds=60)
        status, body = _get(base + "/health")
        assert (status, body) == (503, {"status": "degraded", "neo4j": "down"})
        cold = _get_post(base + f"/datasets/{DATASET}/cold-start", {"items": [1, 2]})  # vectors not loaded yet
        assert cold[0] == 503 and cold[1]["error"]["code"] == "neo4j_unavailable"
        time.sleep(2)
        restarted = time.monotonic()
        neo4j_server.start()
        back = time.monotonic()
        poller.wait_for(200, since=back, seconds=60)
    finally:
        poller.halt.set()
        poller.join(timeout=60)

    assert process.poll() is None and process.pid == pid  # the server stayed up throughout
    answers = poller.answers
    assert {a.status for a in answers} <= {200, 503}, {a.status for a in answers}
    outage = [a for a in answers if a.status == 503]
    assert outage and all(a.body.get("error", {}).get("code") == "neo4j_unavailable" or a.path == "/health"
                          for a in outage)
    assert all("Traceback" not in json.dumps(a.body) for a in answers)
    assert max(a.seconds for a in outage) < 15, "requests during the outage must fail fast"
    after = [a for a in answers if a.at >= back]
    assert after and after[-1].status == 200
    assert any(a.status == 200 and "/explanations/" in a.path and a.at >= restarted for a in answers) or \
        _get(base + f"/datasets/{DATASET}/users/0/explanations/3")[0] == 200
    status, body = _get_post(base + f"/datasets/{DATASET}/cold-start", {"items": [1, 2], "k": 3})
    assert status == 200 and len(body["items"]) == 3


def _get_post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
