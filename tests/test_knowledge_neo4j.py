"""LLM knowledge end to end on a real Neo4j, against a local OpenAI-compatible test server:
interest inference sees train items only and never sends a prompt twice (also after a failed
run), phrases cluster into an interest set, and grounded descriptions record their source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import FakeChatServer, http_backend

from ingest.wikipedia import ingest_wikipedia
from kg_store.connection import GraphStore
from kg_store.errors import LLMUnavailableError
from kgrec import api
from knowledge.descriptions import DescribeConfig, describe_items, describe_users
from knowledge.interests.infer import InferConfig, infer_interests, inferred_phrases, prompted_item_splits
from knowledge.linking import link_dataset
from knowledge.llm.cache import delete_task

FIXTURES = Path(__file__).parent / "fixtures"
TOPICS = ["space opera, robots, time travel", "romantic comedy, weddings", "1. cooking shows\n2. baking",
          "- football\n- world cup history"]


def _canned(prompt: str) -> str:
    """A deterministic answer per prompt, so phrases fall into a few topics."""
    return TOPICS[sum(map(ord, prompt)) % len(TOPICS)]


@pytest.fixture()
def tasks(store: GraphStore, dataset_name: str) -> Iterator[None]:
    yield
    for task in ("interests", "describe-items", "describe-items-ungrounded", "describe-users"):
        delete_task(store, f"{task}:{dataset_name}")


def _train_edges(store: GraphStore, dataset: str) -> set[tuple[int, int]]:
    rows = store.read_with(lambda tx: [r.values() for r in tx.run(
        "MATCH (u:User {dataset: $d})-[e:INTERACTED {split: 'train'}]->(i) RETURN u.id, i.id", d=dataset)])
    return {(u, i) for u, i in rows}


def test_interests_see_train_only_and_no_prompt_is_sent_twice(store, dataset_name, tasks) -> None:
    api.ingest(store, "cikg", FIXTURES / "cikg_small", dataset_name, progress=False)
    config = InferConfig(batch_size=2)
    with FakeChatServer(fail_after=5, answer=_canned) as failing:
        with pytest.raises(LLMUnavailableError):
            infer_interests(store, dataset_name, http_backend(failing, max_attempts=2), config, progress=False)
    answered_before = set(failing.answered())
    with FakeChatServer(answer=_canned) as server:
        report = infer_interests(store, dataset_name, http_backend(server), config, progress=False)
        again = infer_interests(store, dataset_name, http_backend(server), config, progress=False)
    assert report.valid_split is not None and report.valid_split.valid_edges > 0   # drawn before any prompt
    # all 5 answered before the failure survive, also the one whose batch partner failed;
    # users with the same history share one prompt
    assert len(answered_before) == 5 and report.run.cached == 5
    assert report.run.sent == report.run.prompts - 5 and report.run.prompts <= report.users
    assert not answered_before & set(server.answered())                            # none sent twice
    assert again.run.sent == 0 and again.run.cached == report.run.prompts
    audit = prompted_item_splits(store, dataset_name)
    assert len(audit) > 0 and {row["split"] for row in audit} == {"train"}
    assert {(row["user"], row["item"]) for row in audit} <= _train_edges(store, dataset_name)
    phrases = inferred_phrases(store, dataset_name)
    assert len(phrases) == report.users
    assert set().union(*phrases.values()) <= {p.strip() for t in TOPICS for p in
                                              t.replace("1. ", "").replace("2. ", "").replace("- ", "")
                                              .replace("\n", ",").split(",")}


def test_dry_run_shows_prompts_and_sends_nothing(store, dataset_name, tasks) -> None:
    api.ingest(store, "cikg", FIXTURES / "cikg_small", dataset_name, progress=False)
    with FakeChatServer(answer=_canned) as server:
        report = infer_interests(store, dataset_name, http_backend(server), dry_run=True, progress=False)
    assert server.log == [] and report.run.would_send == report.run.prompts == len(report.run.pending) > 0
    assert "enjoyed these items" in report.run.pending[0][2].messages_list()[-1]["content"]


def test_descriptions_are_grounded_in_pages_or_facts(store, dataset_name, wiki_source, tasks) -> None:
    api.ingest(store, "movielens", FIXTURES / "ml100k_synthetic", dataset_name, progress=False)
    ingest_wikipedia(store, FIXTURES / "wiki" / "pages.xml", wiki_source, progress=False)
    link_dataset(store, dataset_name, source=wiki_source, progress=False)
    with FakeChatServer(answer=lambda prompt: f"A description of {len(prompt)} characters.") as server:
        items = describe_items(store, dataset_name, http_backend(server), progress=False)
        first_run = len(server.answered())
        describe_items(store, dataset_name, http_backend(server), progress=False)
        assert len(server.answered()) == first_run                        # all from the cache
        users = describe_users(store, dataset_name, http_backend(server), progress=False)
    assert items.sources.get("wiki") == 2 and items.sources.get("facts", 0) >= 1   # items 2 and 3 are linked
    rows = store.read_with(lambda tx: [r.data() for r in tx.run(
        "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.description AS text, i.description_source AS source, "
        "i.description_ungrounded AS plain ORDER BY id", d=dataset_name)])
    assert all(row["text"] and row["plain"] for row in rows)
    with FakeChatServer() as grounded_only:  # a run that leaves title-only texts out keeps the stored ones
        describe_items(store, dataset_name, http_backend(grounded_only), DescribeConfig(grounded_only=True),
                       progress=False)
    kept = store.read_with(lambda tx: tx.run("MATCH (i:Item {dataset: $d}) WHERE i.description_ungrounded IS NOT NULL "
                                             "RETURN count(i) AS n", d=dataset_name).single()["n"])
    assert kept == len(rows)
    assert {row["id"] for row in rows if row["source"] == "wiki"} == {2, 3}
    wiki_prompts = [p for p in server.answered() if "Wikipedia article" in p]
    assert len(wiki_prompts) == 2 and any("Night Train" in p for p in wiki_prompts)
    assert users.runs[0].sent == users.subjects
    described = store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d}) WHERE u.description IS NOT NULL RETURN count(u) AS n", d=dataset_name).single()["n"])
    assert described == users.subjects
