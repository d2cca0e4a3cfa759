"""kgrec through a routing URI (``neo4j://``), as a cluster or Aura is reached.

With ``neo4j://`` the driver asks the server for a routing table and sends each managed
transaction to a server of its kind: reads to readers, writes to the writer. A single Community
server is every role at once, so it cannot show where a query went, but it does enforce the
access mode: a write inside a read transaction is refused. The pipeline below therefore fails if
any write runs in a read transaction (which a cluster would send to a follower), or if any path
needs a direct ``bolt://`` connection.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

import kgrec
import kgrec.pipeline
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.settings import Neo4jSettings


@pytest.fixture()
def routing(neo4j_settings: Neo4jSettings) -> Neo4jSettings:
    scheme, _, rest = neo4j_settings.uri.partition("://")
    assert scheme in {"bolt", "neo4j"}, f"the test server is reached by {scheme}://"
    return replace(neo4j_settings, uri=f"neo4j://{rest}", source="routing test")


def test_the_server_refuses_a_write_in_a_read_transaction(routing: Neo4jSettings, dataset_name: str) -> None:
    """What makes the pipeline test below meaningful on one server."""
    store = GraphStore(routing)
    with pytest.raises(Exception, match="(?i)write|access mode"):
        store.read_with(lambda tx: tx.run(load_query("store/drop_dataset"), {"dataset": dataset_name}).consume())


def test_ingest_train_write_back_and_read_through_a_routing_uri(routing: Neo4jSettings, dataset_name: str,
                                                                cikg_folder, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(kgrec.pipeline, "_default_store", None)   # restored after the test
    assert kgrec.connect(routing).settings.uri.startswith("neo4j://")
    ingested = kgrec.ingest("cikg", cikg_folder, dataset=dataset_name)
    assert ingested.nodes_created > 0
    assert kgrec.split(dataset_name).valid_edges > 0
    run = kgrec.train("lightgcn", dataset_name, epochs=1, embedding_dim=8, k=3, progress=False)  # the serving tests' size
    assert run.recommendations_written > 0
    found = kgrec.recommend(dataset_name, 0, model="lightgcn", limit=3)
    assert [row.rank for row in found.items] == [1, 2, 3] and {row.run_id for row in found.items} == {run.run_id}
    why = kgrec.explain(dataset_name, 0, found.items[0].item, top=5)
    assert (why.user, why.item) == (0, found.items[0].item)
    rows = kgrec.run_query("user_recommendations", {"user": 0, "limit": 3}, dataset=dataset_name).rows
    assert [row["item"] for row in rows] == [row.item for row in found.items]
    before = kgrec.dataset_stats(dataset_name)
    kgrec.ingest("cikg", cikg_folder, dataset=dataset_name)   # a re-run through routing duplicates nothing
    assert kgrec.dataset_stats(dataset_name) == before and before.nodes["User"] == 12
