"""The README's Neo4j Browser screenshot: one dbbook2014 user's interests and recommendations, kgrec style.

The shared local server holds dbbook2014 without recommendations and must not be written, so this
starts a private server in a temporary home, ingests the shipped dbbook2014, trains a model there
so ``RECOMMENDED`` edges exist, and drives Browser with the end-to-end test's helper
(``tests/neo4j_browser.py``): log in, ``:style`` with ``browser/kgrec.grass``, ``:param`` lines,
``cypher/browser/user_recommendations.cypher``, screenshot of the result frame.

    .venv/bin/python bench/browser_screenshot.py [--user 0] [--k 5] [--model cikgrec] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT / "tests")  # the helper; and bench/ingest.py must not shadow the ingest package

from neo4j_browser import BrowserSession, find_binaries, graph_text  # noqa: E402

from kg_store.connection import GraphStore, close_all_drivers  # noqa: E402
from kg_store.cypher_files import load_query  # noqa: E402
from kg_store.local_server import LocalNeo4j, ServerOptions, free_port  # noqa: E402
from kg_store.settings import Neo4jSettings  # noqa: E402
from kgrec import api  # noqa: E402

DATASET = "dbbook2014"
QUERY = "browser/user_recommendations"


def train(settings: Neo4jSettings, model: str, epochs: int) -> None:
    """``kgrec train`` against the private server; it writes each test user's top 20 back."""
    kgrec = shutil.which("kgrec") or str(Path(sys.executable).parent / "kgrec")
    env = {**os.environ, "NEO4J_URI": settings.uri, "NEO4J_USER": settings.user,
           "NEO4J_PASSWORD": settings.password, "NEO4J_DATABASE": settings.database}
    subprocess.run([kgrec, "train", model, "--dataset", DATASET, "--epochs", str(epochs), "--threads", "1",
                    "--device", "cpu", "--k", "20"], env=env, check=True)


def shoot(server: LocalNeo4j, settings: Neo4jSettings, args: argparse.Namespace, binaries: tuple[str, str]) -> int:
    """Browser steps of the end-to-end test on the real graph; returns the number of nodes drawn."""
    with BrowserSession(server.status().browser_url, binaries, size=(args.width, args.height)) as browser:
        browser.login(settings.uri, settings.user, settings.password)
        browser.apply_style((ROOT / "browser" / "kgrec.grass").read_text())
        browser.set_params({"dataset": DATASET, "user": args.user, "k": args.k})
        frame = browser.run(graph_text(load_query(QUERY)))
        nodes, _ = browser.wait_for_graph(frame, min_nodes=2)
        browser.screenshot(frame, args.out)
    return nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "browser-user-recommendations.png")
    parser.add_argument("--user", type=int, default=0)
    parser.add_argument("--k", type=int, default=5, help="recommendations shown")
    parser.add_argument("--model", default="cikgrec")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    binaries = find_binaries()
    if binaries is None:
        sys.exit("chromium and chromedriver are needed: apt-get install -y chromium chromium-driver")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kgrec-browser-shot-") as home:
        server = LocalNeo4j(Path(home), ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                                      heap="1g", page_cache="512m"))
        server.start()
        try:
            settings = server.connection_settings()
            api.ingest_named(GraphStore(settings), DATASET)
            train(settings, args.model, args.epochs)
            nodes = shoot(server, settings, args, binaries)
        finally:
            close_all_drivers()
            server.stop()
    print(f"{args.out}: {nodes} nodes, {args.out.stat().st_size // 1024} KB, {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
