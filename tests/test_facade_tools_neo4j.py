"""The facade calls behind ``kgrec db|query|interests list|data|wiki|link|llm|neo4j``, on a real Neo4j.

The commands' own tests pin what they print; these pin what the calls return to a program: the
typed results, their ``to_dict()`` / ``to_json()``, and that the ``store`` argument is honoured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kgrec
from kg_store.checks import CHECKS
from kg_store.errors import UnknownDatasetError
from kg_store.interest_sets import AUTHORS_SET
from knowledge.llm.cache import delete_task
from tests.chat_server import FakeChatServer, http_backend

FIXTURES = Path(__file__).parent / "fixtures"


def test_graph_calls_count_check_query_and_drop(store, dataset_name: str, cikg_folder: Path) -> None:
    kgrec.ingest("cikg", cikg_folder, dataset=dataset_name, store=store, progress=False)
    assert dataset_name in {row["name"] for row in kgrec.list_datasets(store=store)}
    counts = kgrec.dataset_stats(dataset_name, store=store)
    assert (counts.nodes["User"], counts.kg_triples) == (12, 40)
    assert json.loads(counts.to_json()) == counts.as_dict()
    checks = kgrec.check_dataset(dataset_name, examples=1, store=store)
    assert [c.name.split("[")[0] for c in checks.checks][:len(CHECKS) - 1] == list(CHECKS[:-1])
    assert checks.to_dict()["dataset"] == dataset_name and isinstance(checks.has_errors, bool)
    overview = kgrec.run_query("dataset_overview", dataset=dataset_name, store=store)
    assert overview.columns == ["kind", "name", "count"]
    assert {(r["kind"], r["name"]): r["count"] for r in overview.rows}[("node", "User")] == 12
    held = kgrec.run_query("user_interests", {"user": "0"}, dataset=dataset_name, store=store)   # typed by the header
    assert held.rows and {row["set"] for row in held.rows} == {AUTHORS_SET}
    assert [s.set for s in kgrec.interest_sets(dataset_name, store=store)] == [AUTHORS_SET]
    assert kgrec.lists_from_edges(dataset_name, store=store) == []
    kgrec.drop_dataset(dataset_name, store=store)
    with pytest.raises(UnknownDatasetError):
        kgrec.dataset_stats(dataset_name, store=store)


def test_named_queries_are_listed_from_their_headers() -> None:
    names = [info.name for info in kgrec.named_queries()]
    assert names == sorted(names) and "user_interests" in names
    assert [p.name for p in kgrec.named_query("user_interests").params] == ["dataset", "user", "set", "limit"]


def test_knowledge_calls_load_pages_link_items_and_set_details(store, dataset_name: str, wiki_source: str) -> None:
    kgrec.ingest("movielens", FIXTURES / "ml100k_synthetic", dataset=dataset_name, store=store, progress=False)
    loaded = kgrec.ingest_wikipedia(FIXTURES / "wiki" / "pages.xml", source=wiki_source, progress=False, store=store)
    assert (loaded.source, loaded.redirects) == (wiki_source, 1) and loaded.pages == loaded.pages_created
    assert json.loads(loaded.to_json())["pages"] == loaded.pages
    row = next(r for r in kgrec.wikipedia_stats(store=store) if r["source"] == wiki_source)
    assert (row["status"], row["pages_in_graph"]) == ("complete", loaded.pages)
    links = kgrec.link_items(dataset_name, source=wiki_source, progress=False, store=store)
    assert links.linked == 2 and links.threshold == 0.85
    assert kgrec.link_items(dataset_name, source=wiki_source, kind_hint="novel", progress=False, store=store).linked == 2
    details = kgrec.import_imdb_details(FIXTURES / "wiki" / "imdb_details.json", dataset_name, progress=False,
                                        store=store)
    assert details.to_dict() == {"dataset": dataset_name, "records": 3, "matched": 2}


def test_llm_calls_answer_once_and_move_the_cache(store, tmp_path: Path) -> None:
    task = f"try_{tmp_path.name[-12:]}"
    with FakeChatServer() as server:
        chat = http_backend(server, model=f"model-{task}")
        first = kgrec.ask("hello there", chat, max_new_tokens=8, task=task, store=store)
        again = kgrec.ask("hello there", chat, max_new_tokens=8, task=task, store=store)
    try:
        assert first.text.startswith("echo: hello there") and not first.cached and again.cached
        assert again.text == first.text and again.model == chat.model_id and len(server.log) == 1
        assert first.to_dict()["llm"]["sent"] == 1
        assert any(row["task"] == task for row in kgrec.llm_cache_stats(store=store))
        path = tmp_path / "answers.jsonl"
        assert kgrec.export_llm_cache(path, task=task, store=store) == 1
        delete_task(store, task)
        done = kgrec.import_llm_cache(path, store=store)
        assert (done.responses, done.created) == (1, 1) and json.loads(done.to_json())["file"] == str(path)
    finally:
        delete_task(store, task)


def test_data_calls_list_locate_and_synthesise(tmp_path: Path) -> None:
    listed = {entry.name: entry for entry in kgrec.catalog()}
    assert listed["dbbook2014"].location is not None and listed["dbbook2014"].layout == "cikg"
    places = kgrec.dataset_locations("dbbook2014", tmp_path / "absent")
    assert places[0].to_dict() == {"label": "explicit", "path": str(tmp_path / "absent"), "exists": False}
    assert kgrec.locate_dataset("dbbook2014") == next(p.path for p in places if p.exists)
    made = kgrec.write_synthetic(tmp_path / "synth", interactions=400, seed=3)
    assert made.interactions == 400 and (made.folder / "train.txt").is_file()
    assert kgrec.write_synthetic(tmp_path / "again", interactions=400, seed=3).to_dict()["users"] == made.users


def test_local_server_calls_read_a_home_without_starting_it(tmp_path: Path, monkeypatch) -> None:
    status = kgrec.neo4j_status(tmp_path / "never-started")
    assert not status.running and status.bolt_uri == "bolt://127.0.0.1:7687"
    assert json.loads(status.to_json())["home"] == str((tmp_path / "never-started").resolve())
    assert kgrec.stop_neo4j(tmp_path / "never-started") is False
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    monkeypatch.setenv("NEO4J_PASSWORD", "not-used")   # a URI without a password is a ConfigError
    assert kgrec.neo4j_uri_set()
    monkeypatch.delenv("NEO4J_URI")
    assert not kgrec.neo4j_uri_set()


def test_no_exported_call_shares_a_name_with_a_submodule() -> None:
    """Importing ``kgrec.<name>`` would replace the package attribute, so ``kgrec.<name>(...)`` would break."""
    import pkgutil

    submodules = {module.name for module in pkgutil.iter_modules(kgrec.__path__)}
    assert not submodules & set(kgrec.__all__)
