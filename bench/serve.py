"""A bounded local load test of `kgrec serve`: fixed requests at fixed concurrency against 127.0.0.1.

Starts `kgrec serve` on a free local port (or uses --url), then runs three phases, each a fixed
list of requests shared by ``--concurrency`` clients on keep-alive HTTP/1.1 connections:

* ``cold_start_first``: one POST, which loads the run's item vectors (once per process and run);
* ``reads_neo4j``: top-10 of a different user each time: k=10 is not preloaded, so every one reads Neo4j;
* ``reads_first_touch``: top-20 (the default) of a different user each time, first request for that user;
  the server preloaded every user's top-20 when it first saw the run (the warm-up waits for that);
* ``reads_repeat``: users drawn again (seeded) from those;
* ``cold_start``: POSTs of ``--cold-items`` random items each, top-20 from the stored vectors.

Reports throughput and p50/p95/p99 latency per phase, and errors (anything but 200), to
bench/results/serve.json. The client is a small asyncio HTTP/1.1 client, so it costs little CPU
beside the server on a 2-core machine.

    .venv/bin/python bench/serve.py --dataset dbbook2014 --model lightgcn
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the repository's packages before bench/ (bench/ingest.py shadows ingest)

from kg_store.local_server import free_port  # noqa: E402
from kgrec.api import connect  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "serve.json"


@dataclass
class Phase:
    name: str
    requests: int
    concurrency: int
    errors: int
    seconds: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""


async def _send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, request: Request,
                token: str | None) -> int:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"{request.method} {request.path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n\r\n")
    writer.write(head.encode() + request.body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _client(host: str, port: int, queue: list[Request], latencies: list[float], errors: list[int],
                  token: str | None) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            try:
                status = await _send(reader, writer, host, request, token)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status = 0
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def _run(name: str, host: str, port: int, requests: list[Request], concurrency: int,
               token: str | None) -> Phase:
    queue = list(reversed(requests))
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(host, port, queue, latencies, errors, token) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return Phase(name, len(requests), concurrency, len(errors), round(seconds, 3), round(len(requests) / seconds, 1),
                 *(round(float(np.percentile(ms, q)), 2) for q in (50, 95, 99)), round(float(ms.max()), 2))


def _ids(dataset: str) -> tuple[list[int], list[int]]:
    store = connect()
    users = [row["id"] for row in store.read("export/users", dataset=dataset)]
    items = [row["id"] for row in store.read("export/items", dataset=dataset)]
    return users, items


def _get(url: str) -> None:
    token = os.environ.get("KGREC_SERVE_TOKEN")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def _start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("kgrec serve did not come up") from None
            time.sleep(0.3)


def _plan(args: argparse.Namespace, users: list[int], items: list[int]) -> dict[str, list[Request]]:
    rng = random.Random(args.seed)
    read = f"/datasets/{args.dataset}/users/{{}}/recommendations?model={args.model}&k=20"
    first = rng.sample(users, min(args.requests, len(users)))
    repeat = [rng.choice(first) for _ in range(args.requests)]
    cold = [json.dumps({"model": args.model, "items": rng.sample(items, args.cold_items), "k": 20}).encode()
            for _ in range(args.cold_requests)]
    neo4j = f"/datasets/{args.dataset}/users/{{}}/recommendations?model={args.model}&k=10"
    return {"warm_up": [Request("GET", "/health")] * 100,
            "cold_start_first": [Request("POST", f"/datasets/{args.dataset}/cold-start", cold[0])],
            "reads_neo4j": [Request("GET", neo4j.format(u)) for u in first],
            "reads_first_touch": [Request("GET", read.format(u)) for u in first],
            "reads_repeat": [Request("GET", read.format(u)) for u in repeat],
            "cold_start": [Request("POST", f"/datasets/{args.dataset}/cold-start", body) for body in cold]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="dbbook2014")
    parser.add_argument("--model", default="lightgcn")
    parser.add_argument("--requests", type=int, default=5000, help="requests per read phase")
    parser.add_argument("--cold-requests", type=int, default=2000)
    parser.add_argument("--cold-items", type=int, default=5, help="items per cold-start user")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preload-wait", type=float, default=5.0, help="seconds to let the server preload")
    parser.add_argument("--url", default=None, help="use a running server (http://127.0.0.1:PORT) instead")
    parser.add_argument("--note", default="", help="free text saved with the result (e.g. machine load)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    users, items = _ids(args.dataset)
    plan = _plan(args, users, items)
    port = int(args.url.rsplit(":", 1)[1]) if args.url else free_port()
    server = None if args.url else _start_server(port)
    token = os.environ.get("KGREC_SERVE_TOKEN")
    try:
        _get(f"http://127.0.0.1:{port}/datasets/{args.dataset}/users/{users[0]}/recommendations?model={args.model}")
        time.sleep(args.preload_wait)  # the first read starts the server's preload of every user's top-20
        phases = [asyncio.run(_run(name, "127.0.0.1", port, requests, 1 if name.endswith("_first") else args.concurrency,
                                   token)) for name, requests in plan.items()]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    for phase in phases:
        print(f"{phase.name:18s} {phase.requests:6d} req  c={phase.concurrency}  {phase.throughput_rps:8.1f} req/s  "
              f"p50 {phase.p50_ms:6.2f}  p95 {phase.p95_ms:6.2f}  p99 {phase.p99_ms:6.2f} ms  errors {phase.errors}")
    reads = {p.name: p for p in phases}
    result = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "dataset": args.dataset, "model": args.model,
              "users": len(users), "items": len(items), "cpus": os.cpu_count(), "python": platform.python_version(),
              "server": "kgrec serve: one uvicorn process (httptools, uvloop), 127.0.0.1, Neo4j 5.26 on the same machine",
              "note": args.note, "phases": [asdict(p) for p in phases],
              "goal": {"reads_p99_ms_max": 50, "concurrency": 50,
                       **{f"met_{name}": reads[name].p99_ms <= 50 and reads[name].errors == 0 and args.concurrency == 50
                          for name in ("reads_neo4j", "reads_first_touch", "reads_repeat")}}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
