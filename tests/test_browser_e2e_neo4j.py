"""Neo4j Browser end to end in headless Chromium, against the test server's own Browser.

It logs in, applies ``browser/kgrec.grass`` with ``:style``, runs ``cypher/browser/user_recommendations``
for one user of the small CIKG fixture (with stored recommendations), and checks that the graph
Browser draws has the nodes Bolt returns, in the style's colours, before saving a screenshot.
``KGREC_BROWSER_SCREENSHOT=path`` keeps the screenshot there.
"""

from __future__ import annotations

import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from fixture_graphs import ingest_with_two_recommenders

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.local_server import LocalNeo4j
from kg_store.settings import Neo4jSettings

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "cikg_small"
STYLE = ROOT / "browser" / "kgrec.grass"
QUERY = "browser/user_recommendations"
USER = 0

pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
from neo4j_browser import BrowserSession, find_binaries, graph_text  # noqa: E402  (needs selenium)

BINARIES = find_binaries()
pytestmark = pytest.mark.skipif(BINARIES is None, reason="chromium and chromedriver are not on PATH "
                                "(apt-get install -y chromium chromium-driver; .ci/run does it)")


def browser_url(server: LocalNeo4j | None) -> str:
    """Browser of the server the tests use: the launcher's, or NEO4J_BROWSER_URL / NEO4J_HTTP_PORT."""
    if server is not None:
        return server.status().browser_url
    if os.environ.get("NEO4J_BROWSER_URL"):
        return os.environ["NEO4J_BROWSER_URL"]
    if os.environ.get("NEO4J_HTTP_PORT"):
        return f"http://127.0.0.1:{os.environ['NEO4J_HTTP_PORT']}/browser/"
    pytest.skip("the test server's Browser address is unknown: set NEO4J_BROWSER_URL")


def expected_graph(store: GraphStore, dataset: str) -> tuple[set[str], set[str]]:
    """Element ids of the nodes and relationships the query returns over Bolt."""
    def work(tx: neo4j.ManagedTransaction) -> tuple[set[str], set[str]]:
        paths = [record["p"] for record in tx.run(load_query(QUERY), dataset=dataset, user=USER, k=10)]
        return ({n.element_id for p in paths for n in p.nodes}, {r.element_id for p in paths for r in p.relationships})
    return store.read_with(work)


def png_stats(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct bytes in the decoded (filtered) image data of a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks[kind] = chunks.get(kind, b"") + data[at + 8:at + 8 + length]
        at += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    return width, height, len(set(zlib.decompress(chunks[b"IDAT"])))


@pytest.fixture(scope="module")
def graph(store: GraphStore) -> Iterator[str]:
    """The fixture graph with two models' recommendations for user 0; dropped afterwards."""
    dataset = f"test_{uuid.uuid4().hex[:10]}"
    ingest_with_two_recommenders(store, FIXTURE, dataset)
    yield dataset
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)


def test_browser_shows_a_users_interests_and_recommendations_in_kgrec_style(
        graph: str, store: GraphStore, neo4j_settings: Neo4jSettings, local_server: LocalNeo4j | None,
        tmp_path: Path) -> None:
    nodes, rels = expected_graph(store, graph)
    assert len(nodes) >= 6 and rels  # user, two interests, four recommended items at least
    target = Path(os.environ.get("KGREC_BROWSER_SCREENSHOT") or tmp_path / "browser.png")

    with BrowserSession(browser_url(local_server), BINARIES) as browser:
        browser.login(neo4j_settings.uri, neo4j_settings.user, neo4j_settings.password)
        browser.apply_style(STYLE.read_text())
        browser.set_params({"dataset": graph, "user": USER, "k": 10})
        frame = browser.run(graph_text(load_query(QUERY)))
        drawn_nodes, drawn_rels = browser.wait_for_graph(frame, min_nodes=len(nodes))
        fills = browser.node_fills(frame)
        browser.screenshot(frame, target)

    assert drawn_nodes == len(nodes)
    assert drawn_rels >= len(rels)  # Browser also connects result nodes with the edges between them
    styled = {"#4C8EDA", "#F79767", "#57C7E3"}  # User, Item, Interest in browser/kgrec.grass
    assert styled <= fills, f"style not applied: node colours {sorted(fills)}"
    width, height, distinct = png_stats(target)
    assert width > 400 and height > 200
    assert distinct > 50  # a drawn graph: a blank frame's filtered scanlines hold a handful of byte values
