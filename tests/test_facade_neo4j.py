"""The whole pipeline through ``import kgrec`` alone, on the small CIKG fixture and a real Neo4j."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kgrec
from knowledge.llm.cache import delete_task
from recommender.errors import UnknownModelError
from tests.chat_server import FakeChatServer, http_backend

REPO_ROOT = Path(__file__).parent.parent
TOPICS = ["space opera, robots, time travel, aliens, starships", "romantic comedy, weddings, love, friendship",
          "cooking shows, baking, recipes, kitchens", "football, world cup history, sports, stadiums"]
K = 3


def _canned(prompt: str) -> str:
    return TOPICS[sum(map(ord, prompt)) % len(TOPICS)]


def _fixture_pairs(folder: Path, name: str) -> dict[int, set[int]]:
    """``{user: items}`` of one split file of the CIKG fixture."""
    pairs = {}
    for line in (folder / name).read_text().splitlines():
        user, *items = map(int, line.split())
        pairs[user] = set(items)
    return pairs


@pytest.fixture()
def chat(store, dataset_name: str) -> Iterator[FakeChatServer]:
    with FakeChatServer(answer=_canned) as server:
        yield server
    delete_task(store, f"interests:{dataset_name}")


def test_import_kgrec_loads_neither_torch_nor_the_web_server() -> None:
    code = "import sys, kgrec; print('torch' in sys.modules, 'fastapi' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_every_facade_function_documents_an_example() -> None:
    functions = [name for name in kgrec.__all__ if inspect.isfunction(getattr(kgrec, name))
                 and name not in {"ingest_cikg", "ingest_movielens"}]
    assert len(functions) == 50
    assert [name for name in functions if "```python" not in (getattr(kgrec, name).__doc__ or "")] == []


def test_the_pipeline_end_to_end_through_the_facade(neo4j_settings, store, dataset_name, cikg_folder, chat,
                                                    tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path / "cache"))
    assert kgrec.connect(neo4j_settings).settings == neo4j_settings   # the default from here on

    ingested = kgrec.ingest("cikg", cikg_folder, dataset=dataset_name)
    assert (ingested.dataset, ingested.has_kg, ingested.has_interests) == (dataset_name, True, True)
    assert ingested.nodes_created > 0 and json.loads(ingested.to_json()) == ingested.to_dict()

    drawn = kgrec.split(dataset_name)
    assert drawn.drawn and drawn.valid_edges > 0

    asked = kgrec.infer_interests(dataset_name, http_backend(chat), store=store)
    train_users = _fixture_pairs(cikg_folder, "train.txt")
    assert asked.users == len(train_users) and asked.llm.sent == len(chat.answered()) > 0
    assert asked.valid_split is not None and not asked.valid_split.drawn    # the split above was kept
    assert asked.to_dict()["llm"]["sent"] == asked.llm.sent and "report" not in asked.to_dict()

    interests = kgrec.cluster_interests(dataset_name, "tiny", options=kgrec.ClusterOptions(min_cluster_size=2))
    assert interests.set == "tiny" and interests.interests == len(interests.clusters) >= 1
    assert interests.edges > 0 and interests.users == asked.users - asked.empty_histories - asked.unparseable
    assert json.loads(interests.to_json()) == interests.to_dict()

    run = kgrec.train("cikgrec", dataset_name, interest_set="tiny", epochs=1, k=K, progress=False)
    assert (run.kind, run.model, run.dataset) == ("ranking", "cikgrec", dataset_name)
    assert set(run.summary) >= {"recall@20", "ndcg@20"} and run.metrics["seeds"] == run.seeds == [2024]
    assert json.loads(run.to_json()) == run.to_dict() and "outcome" not in run.to_dict()

    lists = {user: kgrec.recommend(dataset_name, user, model="cikgrec", limit=10) for user in train_users}
    assert sum(len(found.items) for found in lists.values()) == run.recommendations_written == K * len(train_users)
    test_pairs = _fixture_pairs(cikg_folder, "test.txt")
    for user, found in lists.items():
        assert [row.rank for row in found.items] == list(range(1, K + 1))
        assert {row.run_id for row in found.items} == {run.run_id}
        scores = [row.score for row in found.items]
        assert scores == sorted(scores, reverse=True)
        assert not {row.item for row in found.items} & (train_users[user] | test_pairs.get(user, set()))
    assert json.loads(lists[0].to_json()) == lists[0].to_dict()

    top = lists[0].items[0]
    why = kgrec.explain(dataset_name, 0, top.item, top=10)
    assert (why.user, why.item) == (0, top.item) and why.paths
    for path in why.paths:
        assert path.text.startswith("user 0 → ") and path.text.endswith(why.item_title)
        assert (path.steps[0]["node"], path.steps[0]["id"]) == ("User", 0)
        assert (path.steps[-1]["node"], path.steps[-1]["id"]) == ("Item", top.item)
    assert json.loads(why.to_json()) == why.to_dict() and why.to_dict()["paths"][0]["text"] == why.paths[0].text

    again = kgrec.evaluate(run)
    assert (again.run_id, again.model, again.dataset) == (run.run_id, "cikgrec", dataset_name)
    assert again.test["recall@20"] == pytest.approx(run.summary["recall@20"]["mean"], abs=1e-6)

    exported = kgrec.export(dataset_name, "cikg", tmp_path / "out")
    assert {path.name for path in exported.files} >= {"train.txt", "test.txt", "kg_final.txt"}
    assert json.loads(exported.to_json())["files"] == [str(path) for path in exported.files]


def test_train_refuses_an_instance_and_names_the_models_of_a_kind() -> None:
    with pytest.raises(TypeError, match="by name or class"):
        kgrec.train(object(), "any")
    with pytest.raises(UnknownModelError, match="ranking: .*cikgrec"):
        kgrec.train("nope", "any", kind="ranking")
