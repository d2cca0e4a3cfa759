"""The main job end to end on a tiny CIKG layout: every stage runs, prints its counts, and a re-run asks nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg_store.connection import GraphStore
from kg_store.errors import KgrecError
from kg_store.interest_sets import list_interest_sets
from kg_store.writeback import read_recommendations, training_runs
from kgrec.demo import DEMO_SET, DemoOptions, run_stages
from knowledge.interests.cluster import ClusterOptions
from knowledge.llm.cache import delete_task
from tests.chat_server import FakeChatServer, http_backend

FIXTURES = Path(__file__).parent / "fixtures"
TOPICS = ["space opera, robots, time travel, aliens, starships", "romantic comedy, weddings, love, friendship",
          "cooking shows, baking, recipes, kitchens", "football, world cup history, sports, stadiums"]


def _canned(prompt: str) -> str:
    return TOPICS[sum(map(ord, prompt)) % len(TOPICS)]


@pytest.fixture()
def server(store: GraphStore, dataset_name: str) -> Iterator[FakeChatServer]:
    with FakeChatServer(answer=_canned) as chat:
        yield chat
    delete_task(store, f"interests:{dataset_name}")


def test_demo_runs_every_stage_and_a_rerun_asks_nothing_again(store, dataset_name, server, capsys) -> None:
    options = DemoOptions(dataset="ml1m", path=FIXTURES / "cikg_small", graph_name=dataset_name, epochs=1,
                          progress=False, verify=False, backend=http_backend(server),
                          cluster=ClusterOptions(min_cluster_size=2),
                          train_overrides={"embedding_dim": 8, "batch_size": 16})  # the size every test's vector index has
    run_stages(store, options, FIXTURES / "cikg_small", browser_url="http://127.0.0.1:7474/browser/")
    log = capsys.readouterr().out.splitlines()
    asked = len(server.answered())
    assert asked > 0 and len(log) <= 60
    assert [line[:5] for line in log if line.startswith("[")] == [f"[{n}/6]" for n in range(1, 7)]
    assert any(f"0 answered from the cache, {asked} asked live" in line for line in log)

    sets = {info.set: info for info in list_interest_sets(store, dataset_name)}
    assert sets[DEMO_SET].clusters >= 1 and sets[DEMO_SET].users > 0
    [run] = [r for r in training_runs(store, dataset_name) if r["model"] == "cikgrec"]
    top = read_recommendations(store, dataset_name, 0, model="cikgrec", limit=5)
    shown = [line.strip() for line in log if line.strip()[:2] in {f"{n}." for n in range(1, 6)}]
    assert [line.split(" (")[0] for line in shown] == [f"{r['rank']}. {r['title'] or 'item ' + str(r['item'])}"
                                                     for r in top]
    assert sum("why: user 0 →" in line for line in log) == len(top) == 5
    assert f":params {{dataset: '{dataset_name}', user: 0, k: 5}}" in "\n".join(log)
    assert run["run_id"] == top[0]["run_id"]

    run_stages(store, options, FIXTURES / "cikg_small")
    again = capsys.readouterr().out
    assert len(server.answered()) == asked                      # every answer came from the graph's cache
    assert f"{asked} answered from the cache, 0 asked live" in again
    assert "(0 new relationships)" in again and "Neo4j Browser" not in again


def test_demo_stops_with_a_clear_error_when_clustering_finds_no_interest(store, dataset_name, server) -> None:
    options = DemoOptions(dataset="ml1m", path=FIXTURES / "cikg_small", graph_name=dataset_name, epochs=1,
                          progress=False, verify=False, backend=http_backend(server),
                          cluster=ClusterOptions(min_cluster_size=500))
    with pytest.raises(KgrecError, match="found no interest"):
        run_stages(store, options, FIXTURES / "cikg_small")
    assert DEMO_SET not in {info.set for info in list_interest_sets(store, dataset_name)}
