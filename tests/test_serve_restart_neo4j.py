"""`kgrec serve` while its Neo4j stops and starts again: what the server holds in memory (reads of any k,
cold starts, explanations) keeps answering 200 marked stale, the paths that need the graph (persisting a
user, explaining a user the memory does not know) answer 503 JSON at once, and everything answers 200
again after the restart, with no restart of the server process.

Uses its own short-lived local server, so the shared server is untouched.
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
READS = [f"/datasets/{DATASET}/users/{u}/recommendations?k={k}" for u, k in ((0, 3), (1, 1), (2, 5), (3, 2))]
COLD = (f"/datasets/{DATASET}/cold-start", {"items": [1, 2], "k": 3})
PERSIST = (f"/datasets/{DATASET}/cold-start", {"items": [1, 2], "k": 3, "persist": True})
EXPLAIN = f"/datasets/{DATASET}/users/0/explanations/3"
EXPLAIN_UNKNOWN = f"/datasets/{DATASET}/users/999/explanations/3"     # not in memory: the graph answers


@dataclass
class Answer:
    at: float
    path: str
    status: int
    body: dict
    stale: bool
    seconds: float


def _call(url: str, payload: dict | None = None) -> tuple[int, dict, bool]:
    """Status, JSON body and whether the answer was marked stale."""
    request = urllib.request.Request(url, data=None if payload is None else json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers.get("X-Kgrec-Stale") == "true"
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers.get("X-Kgrec-Stale") == "true"


class Poller(threading.Thread):
    """Sends reads, cold starts, explanations and health checks in turn until stopped; keeps every answer."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.calls: list[tuple[str, dict | None]] = [(p, None) for p in READS] + [COLD, (EXPLAIN, None),
                                                                                 ("/health", None)]
        self.base = base
        self.answers: list[Answer] = []
        self.halt = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            path, payload = self.calls[n % len(self.calls)]
            started = time.monotonic()
            status, body, stale = _call(self.base + path, payload)
            self.answers.append(Answer(started, path, status, body, stale, time.monotonic() - started))
            n += 1
            time.sleep(0.02)

    def wait_for(self, path: str, status: int, since: float, seconds: float, stale: bool | None = None) -> None:
        deadline = time.monotonic() + seconds
        while not any(a.path == path and a.status == status and a.at >= since and stale in (None, a.stale)
                      for a in self.answers):
            assert time.monotonic() < deadline, f"no {status} on {path} within {seconds} s: {self.answers[-3:]}"
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
    """The fixture dataset trained on the private server, and ``kgrec serve`` over it, its run held in memory."""
    settings = neo4j_server.connection_settings()
    store = GraphStore(settings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KGREC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        ingest_cikg(store, FIXTURE, DATASET)
        train_and_write(store, DATASET, "lightgcn", seeds=[1], k=5, progress=False, embedding_dim=8, epochs=2,
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
            _call(base + READS[0])          # the first read finds the run and starts holding it
            if _call(base + "/health")[1].get("runs_in_memory"):
                break
        except OSError:
            assert process.poll() is None, "kgrec serve did not come up"
        assert time.monotonic() < deadline, "the run was not held in memory within 60 s"
        time.sleep(0.3)
    yield base, process
    process.terminate()
    process.communicate(timeout=30)
    store.driver.close()


def _during(answers: list[Answer], start: float, end: float, path: str) -> list[Answer]:
    return [a for a in answers if start <= a.at and a.at + a.seconds <= end and a.path == path]


def test_memory_answers_through_a_neo4j_restart(neo4j_server: LocalNeo4j, served) -> None:
    base, process = served
    pid = process.pid
    poller = Poller(base)
    poller.start()
    try:
        poller.wait_for(EXPLAIN, 200, since=0.0, seconds=30)
        stopped = time.monotonic()
        neo4j_server.stop()
        poller.wait_for(EXPLAIN, 200, since=stopped, seconds=60, stale=True)
        outage = time.monotonic()
        time.sleep(1.5)                     # the poller goes round all its calls while Neo4j is down
        status, body, stale = _call(base + "/health")
        assert (status, body["status"], body["neo4j"], body["stale"], stale) == (200, "degraded", "down", True, True)
        assert body["runs_in_memory"] == 1 and body["memory_bytes"] > 0
        persisted = _call(base + PERSIST[0], PERSIST[1])
        assert persisted[0] == 503 and persisted[1]["error"]["code"] == "neo4j_unavailable"
        unknown = _call(base + EXPLAIN_UNKNOWN)
        assert unknown[0] == 503 and unknown[1]["error"]["code"] == "neo4j_unavailable"
        restarted = time.monotonic()
        neo4j_server.start()
        back = time.monotonic()
        poller.wait_for(EXPLAIN, 200, since=back, seconds=60, stale=False)
        time.sleep(1.0)
    finally:
        poller.halt.set()
        poller.join(timeout=60)

    assert process.poll() is None and process.pid == pid  # the server stayed up throughout
    answers = poller.answers
    assert {a.status for a in answers} <= {200, 503}, {a.status for a in answers}
    assert all(a.status == 200 for a in answers if a.path in (*READS, COLD[0], EXPLAIN)), \
        [a for a in answers if a.status != 200 and a.path != "/health"]
    down = [a for a in answers if outage <= a.at and a.at + a.seconds <= restarted]
    for path in (*READS, COLD[0], EXPLAIN):  # held in memory: 200, marked stale, and quick
        seen = _during(answers, outage, restarted, path)
        assert seen and all(a.status == 200 and a.stale for a in seen), path
    assert max(a.seconds for a in down if a.path != "/health") < 1.0
    explained = [a.body for a in answers if a.path == EXPLAIN]      # the same paths from memory as from the graph
    assert all(body == explained[0] for body in explained) and explained[0]["paths"]
    assert all("Traceback" not in json.dumps(a.body) for a in answers)
    recovered = min(a.at + a.seconds for a in answers
                    if a.path == EXPLAIN and a.status == 200 and not a.stale and a.at >= back)
    after = [a for a in answers if a.at >= recovered]
    assert after and all(a.status == 200 and not a.stale for a in after), [a for a in after if a.status != 200]
    status, body, stale = _call(base + "/health")
    assert (status, body["status"], body["neo4j"], body["stale"], stale) == (200, "ok", "up", False, False)
    status, body, _ = _call(base + PERSIST[0], PERSIST[1])
    assert status == 200 and body["user"] == 12 and len(body["items"]) == 3
