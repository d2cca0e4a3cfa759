"""The `kgrec serve` bench's phase through a Neo4j restart, on a private Neo4j (never the shared one).

Starts a Neo4j of its own on free ports in a temporary folder, writes a synthetic set of DBbook2014's
shape (``kgrec.write_synthetic``), ingests it, trains a one-epoch LightGCN (its lists and vectors are
what is served), starts `kgrec serve` over that Neo4j and waits until the run is held in memory. Then
50 clients send reads of any k and cold starts round and round while Neo4j is stopped, kept down for
``down_seconds`` and started again; the phase ends two seconds after /health says Neo4j is up.
Every answer must be a 200, those during the outage marked stale.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

from serve import ANY_K, Phase, Request, cold_body, get_json, run_phase, start_server, wait_until_held

from kg_store.connection import GraphStore
from kg_store.local_server import LocalNeo4j, ServerOptions, free_port

DATASET = "serve_outage"


def _prepare(folder: Path) -> tuple[LocalNeo4j, list[int], list[int]]:
    """The private server with the synthetic set and its run; the set's user and item ids."""
    import kgrec
    from kgrec.api import ingest_cikg
    from kgrec.training import train_and_write

    server = LocalNeo4j(folder / "neo4j", ServerOptions(bolt_port=free_port(), http_port=free_port(), heap="1g",
                                                        page_cache="256m"))
    server.start()
    store = GraphStore(server.connection_settings())
    os.environ["KGREC_CACHE_DIR"] = str(folder / "cache")
    kgrec.write_synthetic(folder / "data", seed=1)
    ingest_cikg(store, folder / "data", DATASET)
    train_and_write(store, DATASET, "lightgcn", seeds=[1], k=20, progress=False, epochs=1)
    users = [row["id"] for row in store.read("export/users", dataset=DATASET)]
    items = [row["id"] for row in store.read("export/items", dataset=DATASET)]
    store.driver.close()
    return server, users, items


async def _through_restart(port: int, requests: list[Request], concurrency: int, neo4j: LocalNeo4j,
                           down_seconds: float) -> Phase:
    until = asyncio.Event()

    async def restart() -> None:
        await asyncio.sleep(2.0)
        await asyncio.to_thread(neo4j.stop)
        await asyncio.sleep(down_seconds)
        await asyncio.to_thread(neo4j.start)
        while (await asyncio.to_thread(get_json, f"http://127.0.0.1:{port}/health"))["neo4j"] != "up":
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        until.set()

    phase, _ = await asyncio.gather(run_phase("through_neo4j_restart", "127.0.0.1", port, requests, concurrency,
                                              None, until), restart())
    return phase


def outage_phase(concurrency: int, down_seconds: float, seed: int) -> Phase:
    """Prepare, serve, measure through the restart, and clean up everything it started."""
    with tempfile.TemporaryDirectory(prefix="kgrec-serve-outage-") as folder:
        neo4j, users, items = _prepare(Path(folder))
        settings = neo4j.connection_settings()
        env = {**{k: v for k, v in os.environ.items() if k != "KGREC_SERVE_TOKEN"}, "NEO4J_URI": settings.uri,
               "NEO4J_USER": settings.user, "NEO4J_PASSWORD": settings.password}
        port = free_port()
        server = start_server(port, env)
        try:
            wait_until_held(f"http://127.0.0.1:{port}", f"/datasets/{DATASET}/users/{users[0]}/recommendations")
            rng = random.Random(seed)
            reads = [Request("GET", f"/datasets/{DATASET}/users/{u}/recommendations?k={ANY_K[n % len(ANY_K)]}")
                     for n, u in enumerate(rng.sample(users, min(5000, len(users))))]
            colds = [Request("POST", f"/datasets/{DATASET}/cold-start", cold_body(None, rng.sample(items, 5)))
                     for _ in range(len(reads) // 4)]
            mixed = [r for pair in zip(reads[::4], colds, strict=False) for r in pair] + reads
            started = time.monotonic()
            phase = asyncio.run(_through_restart(port, mixed, concurrency, neo4j, down_seconds))
            print(f"through_neo4j_restart: {time.monotonic() - started:.1f} s with Neo4j down ~{down_seconds:.0f} s "
                  "plus its stop and start")
            return phase
        finally:
            server.terminate()
            server.wait(timeout=30)
            neo4j.stop()
