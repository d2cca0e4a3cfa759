"""A bounded local load test of `kgrec serve`: fixed requests at fixed concurrency against 127.0.0.1.

Starts `kgrec serve` on a free local port (or uses --url), waits until /health says the run is held
in memory, then runs these phases, each a fixed list of requests shared by ``--concurrency`` clients
on keep-alive HTTP/1.1 connections:

* ``cold_start_first``: one POST (the run's vectors are held already: no load on the request);
* ``reads_any_k``: a different user each time, k cycling through 1, 5, 10, 50, 100 (from memory);
* ``reads_first_touch``: top-20 (the default) of a different user each time;
* ``reads_repeat``: users drawn again (seeded) from those;
* ``cold_start``: POSTs of ``--cold-items`` random items each, top-20 from the held vectors;
* ``cold_start_interests``: the same with ``infer_interests`` (a model whose run stored interest vectors);
* ``explanations``: ``--explain-requests`` explanation paths, which are graph queries.

With ``--outage`` (bench/serve_outage.py) a last phase runs against a private Neo4j on other ports,
holding a synthetic set of DBbook2014's shape with a LightGCN run: reads of any k and cold starts
for ``--outage-seconds`` while that Neo4j is stopped and started again mid-phase.

Reports throughput, p50/p95/p99 latency, errors (anything but 200) and answers marked stale per
phase to ``--out`` (default bench/results/serve.json). The client is a small asyncio HTTP/1.1
client, so it costs little CPU beside the server on a 2-core machine.

    .venv/bin/python bench/serve.py --dataset dbbook2014 --model cikgrec --outage
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
ANY_K = (1, 5, 10, 50, 100)


@dataclass
class Phase:
    name: str
    requests: int
    concurrency: int
    errors: int
    stale: int
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
                token: str | None) -> tuple[int, bool]:
    """Status and whether the answer was marked stale."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"{request.method} {request.path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n\r\n")
    writer.write(head.encode() + request.body)
    await writer.drain()
    status_line = await reader.readline()
    length, stale = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        stale |= name.lower() == "x-kgrec-stale" and value.strip() == "true"
    await reader.readexactly(length)
    return int(status_line.split()[1]), stale


@dataclass
class Tally:
    latencies: list[float]
    errors: list[int]
    stale: int = 0


async def _client(host: str, port: int, queue: list[Request], tally: Tally, token: str | None,
                  until: asyncio.Event | None) -> None:
    """Sends requests from ``queue`` until it is empty or, with ``until``, round and round until it is set."""
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    try:
        while (queue if until is None else not until.is_set()):
            request = queue.pop() if until is None else queue[n % len(queue)]
            n += 1
            started = time.perf_counter()
            try:
                status, stale = await _send(reader, writer, host, request, token)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status, stale = 0, False
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            tally.latencies.append(time.perf_counter() - started)
            tally.stale += stale
            if status != 200:
                tally.errors.append(status)
    finally:
        writer.close()


async def run_phase(name: str, host: str, port: int, requests: list[Request], concurrency: int,
                    token: str | None, until: asyncio.Event | None = None) -> Phase:
    """One phase; with ``until``, the requests go round until it is set (each client from its own offset)."""
    tally = Tally([], [])
    started = time.perf_counter()
    if until is None:
        queue = list(reversed(requests))
        clients = [_client(host, port, queue, tally, token, None) for _ in range(concurrency)]
    else:
        clients = [_client(host, port, requests[i:] + requests[:i], tally, token, until) for i in range(concurrency)]
    await asyncio.gather(*clients)
    seconds = time.perf_counter() - started
    ms = np.asarray(tally.latencies) * 1000
    return Phase(name, len(ms), concurrency, len(tally.errors), tally.stale, round(seconds, 3),
                 round(len(ms) / seconds, 1), *(round(float(np.percentile(ms, q)), 2) for q in (50, 95, 99)),
                 round(float(ms.max()), 2))


def _ids(dataset: str) -> tuple[list[int], list[int]]:
    store = connect()
    users = [row["id"] for row in store.read("export/users", dataset=dataset)]
    items = [row["id"] for row in store.read("export/items", dataset=dataset)]
    return users, items


def get_json(url: str) -> dict:
    token = os.environ.get("KGREC_SERVE_TOKEN")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def start_server(port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "kgrec.cli", "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while True:
        try:
            get_json(f"http://127.0.0.1:{port}/health")
            return process
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("kgrec serve did not come up") from None
            time.sleep(0.3)


def wait_until_held(base: str, first_read: str, seconds: float = 300.0) -> None:
    """The first read makes the server look up the run and hold it; wait until /health counts it."""
    get_json(base + first_read)
    deadline = time.monotonic() + seconds
    while get_json(base + "/health").get("runs_in_memory", 0) < 1:
        if time.monotonic() > deadline:
            raise SystemExit(f"the run was not held in memory within {seconds:.0f} s")
        time.sleep(0.5)


def cold_body(model: str | None, items: list[int], **extra: object) -> bytes:
    return json.dumps({**({"model": model} if model else {}), "items": items, "k": 20, **extra}).encode()


def _plan(args: argparse.Namespace, users: list[int], items: list[int]) -> dict[str, list[Request]]:
    rng = random.Random(args.seed)
    data = f"/datasets/{args.dataset}"
    read = f"{data}/users/{{}}/recommendations?model={args.model}&k={{}}"
    first = rng.sample(users, min(args.requests, len(users)))
    repeat = [rng.choice(first) for _ in range(args.requests)]
    cold = [cold_body(args.model, rng.sample(items, args.cold_items)) for _ in range(args.cold_requests)]
    interests = [cold_body(args.model, rng.sample(items, args.cold_items), infer_interests=True)
                 for _ in range(args.cold_requests)]
    explain = [f"{data}/users/{rng.choice(users)}/explanations/{rng.choice(items)}?top=3"
               for _ in range(args.explain_requests)]
    plan = {"warm_up": [Request("GET", "/health")] * 100,
            "cold_start_first": [Request("POST", f"{data}/cold-start", cold[0])],
            "reads_any_k": [Request("GET", read.format(u, ANY_K[n % len(ANY_K)])) for n, u in enumerate(first)],
            "reads_first_touch": [Request("GET", read.format(u, 20)) for u in first],
            "reads_repeat": [Request("GET", read.format(u, 20)) for u in repeat],
            "cold_start": [Request("POST", f"{data}/cold-start", body) for body in cold],
            "cold_start_interests": [Request("POST", f"{data}/cold-start", body) for body in interests],
            "explanations": [Request("GET", path) for path in explain]}
    if not args.interests:
        del plan["cold_start_interests"]
    return {name: requests for name, requests in plan.items() if not args.only or name in args.only}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="dbbook2014")
    parser.add_argument("--model", default="cikgrec")
    parser.add_argument("--requests", type=int, default=5000, help="requests per read phase")
    parser.add_argument("--cold-requests", type=int, default=2000)
    parser.add_argument("--cold-items", type=int, default=5, help="items per cold-start user")
    parser.add_argument("--explain-requests", type=int, default=500)
    parser.add_argument("--no-interests", dest="interests", action="store_false",
                        help="skip cold_start_interests (a model without interest vectors)")
    parser.add_argument("--only", type=lambda text: set(text.split(",")), default=None,
                        help="run only these phases (comma-separated names)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--outage", action="store_true", help="add the phase through a private Neo4j's restart")
    parser.add_argument("--outage-seconds", type=float, default=6.0, help="how long that Neo4j stays down")
    parser.add_argument("--url", default=None, help="use a running server (http://127.0.0.1:PORT) instead")
    parser.add_argument("--note", default="", help="free text saved with the result (e.g. machine load)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    users, items = _ids(args.dataset)
    plan = _plan(args, users, items)
    port = int(args.url.rsplit(":", 1)[1]) if args.url else free_port()
    server = None if args.url else start_server(port)
    token = os.environ.get("KGREC_SERVE_TOKEN")
    try:
        wait_until_held(f"http://127.0.0.1:{port}", f"/datasets/{args.dataset}/users/{users[0]}/recommendations"
                                                   f"?model={args.model}")
        phases = [asyncio.run(run_phase(name, "127.0.0.1", port, requests,
                                        1 if name.endswith("_first") else args.concurrency, token))
                  for name, requests in plan.items()]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    if args.outage:
        from serve_outage import outage_phase

        phases.append(outage_phase(args.concurrency, args.outage_seconds, args.seed))
    _report(args, phases, len(users), len(items))


def _report(args: argparse.Namespace, phases: list[Phase], users: int, items: int) -> None:
    for phase in phases:
        print(f"{phase.name:20s} {phase.requests:6d} req  c={phase.concurrency}  {phase.throughput_rps:8.1f} req/s  "
              f"p50 {phase.p50_ms:6.2f}  p95 {phase.p95_ms:6.2f}  p99 {phase.p99_ms:6.2f} ms  errors {phase.errors}"
              f"  stale {phase.stale}")
    measured = [p for p in phases if p.concurrency == args.concurrency and p.name != "warm_up"]
    result = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "dataset": args.dataset, "model": args.model,
              "users": users, "items": items, "cpus": os.cpu_count(), "python": platform.python_version(),
              "server": "kgrec serve: one uvicorn process (httptools, uvloop), 127.0.0.1, Neo4j 5.26 on the same machine",
              "note": args.note, "phases": [asdict(p) for p in phases],
              "goal": {"p99_ms_max": 50, "concurrency": 50,
                       **{f"met_{p.name}": p.p99_ms <= 50 and p.errors == 0 and args.concurrency == 50
                          for p in measured}}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
