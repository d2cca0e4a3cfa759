"""A graph in its owner's schema, linked without copying: enrich, infer interests, train, explain, query,
serve, write back onto its nodes, re-sync.

The graph is the recommendations-example schema made up by :mod:`tests.linked_graph` (40 users, 30
movies with plots, genres, cast and directors). An LLM (the test's chat server, answering from the
prompt's words) describes the movies, grounded in their plots, their genres and cast and, for one
movie, a Wikipedia page; it then names each user's interests from the titles of their train movies,
which are clustered into an interest set. kgrec trains LightGCN and CIKGRec (on those interests),
writes ``KGREC_RECOMMENDS`` onto the graph's own user and movie nodes, explains a recommendation,
answers the named queries, ``kgrec recommend``, ``kgrec db stats`` and the HTTP API for a user key,
and picks up new ratings, a new user and a new movie on a re-sync. Every node, property and
relationship of the graph other than ``KGREC_RECOMMENDS`` stays exactly as it was throughout.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import linked_graph
import pytest
from chat_server import FakeChatServer, http_backend
from click.testing import CliRunner
from fastapi.testclient import TestClient
from linked_graph import ForeignGraph, add_movie, add_ratings, add_user, rated, recommendations, snapshot

import kgrec
from kg_store.connection import GraphStore
from kg_store.export import export_dataset
from kg_store.linked.state import load_state
from kg_store.queries import QueryError
from kgrec.cli import main
from kgrec.pipeline import interest_phrases
from knowledge.interests.infer import prompted_item_splits
from serving import ServeConfig, create_app

K = 4
THRESHOLD = 3.5
#: what the chat server answers for a title word (linked_graph.WORDS): the user's "interests"
THEMES = {"harbour": "seafaring life", "winter": "snowy landscapes", "robot": "science fiction",
          "letter": "epistolary romance", "garden": "quiet nature", "storm": "disaster survival",
          "violin": "music drama", "desert": "desert adventure", "island": "island adventure",
          "train": "railway journeys"}
PAGE = "The Robot 2 is a 1962 film in which a robot learns to write letters to the harbour master."


@pytest.fixture()
def foreign(store: GraphStore) -> Iterator[ForeignGraph]:
    graph = linked_graph.build(store)
    yield graph
    linked_graph.remove(store, graph)


@pytest.fixture()
def linked_name(store: GraphStore) -> Iterator[str]:
    name = f"linked_{uuid.uuid4().hex[:10]}"
    yield name
    if any(row["name"] == name for row in kgrec.list_datasets(store=store)):
        kgrec.drop_dataset(name, store=store)
    for task in ("interests", "describe-items", "describe-items-ungrounded", "describe-users"):
        store.autocommit_text("MATCH (r:LLMResponse {task: $t}) DETACH DELETE r", t=f"{task}:{name}")


def _answer(prompt: str) -> str:
    """Interest prompts: the themes of the listed titles' words; description prompts: a sentence."""
    if "enjoyed these" not in prompt:
        return f"A film described from {len(prompt)} characters of knowledge."
    words = [word for line in prompt.splitlines() if line.startswith("- ") for word in line.lower().split()]
    return ", ".join(dict.fromkeys(THEMES[word] for word in words if word in THEMES))


def _read(store: GraphStore, query: str, **params) -> list[dict]:
    return store.read_with(lambda tx: [r.data() for r in tx.run(query, params)])


def _check_lists(store: GraphStore, graph: ForeignGraph, run: kgrec.results.TrainingResult, users: int) -> None:
    """Every user holds exactly the run's K recommendations, ranked, scored best first, none already liked."""
    found = recommendations(store, graph)
    assert len(found) == run.recommendations_written == K * users
    liked = rated(store, graph, THRESHOLD)
    by_user: dict[str, list[dict]] = {}
    for row in found:
        by_user.setdefault(row["user"], []).append(row)
        assert (row["user"], row["movie"]) not in liked
        assert (row["props"]["run_id"], row["props"]["model"]) == (run.run_id, run.model)
    assert len(by_user) == users
    for rows in by_user.values():
        assert [row["props"]["rank"] for row in rows] == list(range(1, K + 1))
        scores = [row["props"]["score"] for row in rows]
        assert scores == sorted(scores, reverse=True)


def _enrich(store: GraphStore, graph: ForeignGraph, dataset: str, wiki_source: str, tmp_path: Path) -> None:
    """Item descriptions grounded in plots, the item graph and one linked page; user descriptions after them."""
    pages = tmp_path / "pages.jsonl"
    pages.write_text(json.dumps({"title": "The Robot 2", "text": PAGE}) + "\n")
    kgrec.ingest_wikipedia(pages, source=wiki_source, store=store)
    assert kgrec.link_items(dataset, source=wiki_source, store=store).linked == 1
    with FakeChatServer(answer=_answer) as chat:
        items = kgrec.describe_items(dataset, http_backend(chat), store=store, domain="movie", progress=False)
        users = kgrec.describe_users(dataset, http_backend(chat), store=store, domain="movie", progress=False)
    assert items.subjects == 30 and items.sources == {"wiki": 1, "facts": 29}
    grounded = [p for p in chat.answered() if "Known facts" in p]
    assert any("Plot: A story about a robot" in p and "IN_GENRE: " in p and "ACTED_IN: Actor" in p for p in grounded)
    assert sum("Wikipedia article" in p and "harbour master" in p for p in chat.answered()) == 1
    texts = _read(store, "MATCH (t:KgrecItemText {dataset: $d}) RETURN t.key AS key, t.description AS text, "
                         "t.description_source AS source, t.description_ungrounded AS plain", d=dataset)
    assert len(texts) == 30 and all(row["text"].startswith("A film") and row["plain"] for row in texts)
    assert {row["key"] for row in texts if row["source"] == "wiki"} == {"m2"}
    assert users.subjects == 40 and users.llm[0].sent == 40
    people = _read(store, "MATCH (t:KgrecUserText {dataset: $d}) WHERE t.description IS NOT NULL "
                          "RETURN count(t) AS n", d=dataset)
    assert people[0]["n"] == 40
    assert any("The Robot 2: A film described" in p for p in chat.answered() if "taste in movies" in p)


def _infer(store: GraphStore, dataset: str) -> kgrec.results.InterestSet:
    """Interests from train titles only (the validation split is drawn first), clustered into set ``llm``."""
    with FakeChatServer(answer=_answer) as chat:
        asked = kgrec.infer_interests(dataset, http_backend(chat), store=store, domain="movies", progress=False)
    assert asked.valid_split.drawn and asked.valid_split.valid_edges > 0
    assert asked.users == 40 and asked.llm.sent == len(chat.answered()) > 0 and asked.unparseable == 0
    audit = prompted_item_splits(store, dataset)
    assert audit and {row["split"] for row in audit} == {"train"}
    prompts = _read(store, "MATCH (p:KgrecPrompt {dataset: $d}) RETURN count(p) AS n", d=dataset)
    assert prompts[0]["n"] == 40
    phrases = interest_phrases(dataset, store=store)
    assert len(phrases) == 40 and set().union(*phrases.values()) <= set(THEMES.values())
    found = kgrec.cluster_interests(dataset, "llm", store=store, method="kmeans", k=5, max_user_share=1.0)
    assert found.interests >= 2 and found.edges > 0 and found.edges_skipped == 0
    return found


def _expected_paths(store: GraphStore, graph: ForeignGraph, dataset: str, user: str, movie: str) -> dict[str, int]:
    """Each kind's path count, counted here from the graph and the stored member lists."""
    liked = rated(store, graph, THRESHOLD)
    items = {u: {m for v, m in liked if v == u} for u, _ in liked}
    collaborative = sum(1 for peer, held in items.items() if peer != user and movie in held
                        for _ in (items[user] & held) - {movie})
    kg = _read(store, f"""MATCH (seen:{graph.label('Movie')})-[r1]-(via)-[r2]-(t:{graph.label('Movie')} {{movieId: $m}})
        WHERE seen.movieId IN $seen AND seen <> t AND (via:{graph.label('Genre')} OR via:{graph.label('Person')})
        RETURN count(DISTINCT [elementId(seen), elementId(r1), elementId(via), elementId(r2)]) AS n""",
               m=movie, seen=sorted(items[user] - {movie}))[0]["n"]
    ids = load_state(store, dataset, splits=False).users
    raters = {ids[u] for u, held in items.items() if movie in held} - {ids[user]}
    members = _read(store, "MATCH (n:Interest {dataset: $d}) RETURN n.users AS users", d=dataset)
    interest = sum(len(set(row["users"]) & raters) for row in members if ids[user] in row["users"])
    return {"collaborative": collaborative, "kg": kg, "interest": interest}


def _explain(store: GraphStore, graph: ForeignGraph, dataset: str, cli_env: dict) -> str:
    """Why u0's first recommendation: the paths counted independently, named by keys and titles."""
    top = next(row["movie"] for row in recommendations(store, graph) if row["user"] == "u0")
    why = kgrec.explain(dataset, "u0", top, top=3, store=store)
    assert (why.user, why.item) == ("u0", top) and why.item_title.startswith('"The ')
    expected = _expected_paths(store, graph, dataset, "u0", top)
    assert {kind: summary.paths for kind, summary in why.summary.items()} == expected
    assert expected["kg"] > 0 and len(why.paths) == 3
    assert all(path.text.startswith("user u0 → ") and path.text.endswith(why.item_title) for path in why.paths)
    result = CliRunner().invoke(main, ["explain", "--dataset", dataset, "--user", "u0", "--item", top, "--json"],
                                env=cli_env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["kg"]["paths"] == expected["kg"]
    return top


def _query_and_serve(store: GraphStore, graph: ForeignGraph, dataset: str, cli_env: dict, top: str,
                     run: kgrec.results.TrainingResult) -> None:
    """u0's list through kgrec.recommend, the named queries, the command line and the HTTP API."""
    mine = [row for row in recommendations(store, graph) if row["user"] == "u0"]
    listed = kgrec.recommend(dataset, "u0", store=store).items
    assert [(r.item, r.rank, r.model, r.run_id) for r in listed] == [
        (row["movie"], row["props"]["rank"], run.model, run.run_id) for row in mine]
    result = CliRunner().invoke(main, ["recommend", "--dataset", dataset, "--user", "u0", "--json"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert [row["item"] for row in json.loads(result.output)] == [row["movie"] for row in mine]
    rows = kgrec.run_query("user_recommendations", {"user": "u0", "limit": 2}, dataset=dataset, store=store).rows
    assert [row["item"] for row in rows] == [row["movie"] for row in mine[:2]]
    history = kgrec.run_query("user_history", {"user": "u0"}, dataset=dataset, store=store).rows
    liked = {m for u, m in rated(store, graph, THRESHOLD) if u == "u0"}
    assert len(history) == 9 and {row["item"] for row in history if row["split"]} == liked
    stamps = [row["timestamp"] for row in history]
    assert stamps == sorted(stamps, reverse=True)
    assert kgrec.run_query("user_interests", {"user": "u0"}, dataset=dataset, store=store).rows
    with pytest.raises(QueryError, match="linked dataset"):
        kgrec.run_query("item_neighbourhood", {"item": 0}, dataset=dataset, store=store)
    client = TestClient(create_app(store, ServeConfig(reload_check_seconds=0.0, preload=False)),
                        raise_server_exceptions=False)
    answer = client.get(f"/datasets/{dataset}/users/u0/recommendations?k=3")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["user"], body["model"], body["run_id"]) == ("u0", run.model, run.run_id)
    assert [item["item"] for item in body["items"]] == [row["movie"] for row in mine[:3]]
    assert client.get(f"/datasets/{dataset}/users/u0/recommendations?k=3").json() == body      # the cached copy
    older = client.get(f"/datasets/{dataset}/users/u0/recommendations?model=lightgcn")
    assert (older.status_code, older.json()["error"]["code"]) == (404, "no_training_run")
    assert client.get(f"/datasets/{dataset}/users/nobody/recommendations").json()["error"]["code"] == "unknown_user"
    why = client.get(f"/datasets/{dataset}/users/u0/explanations/{top}")
    assert why.status_code == 200 and why.json()["paths"]
    cold = client.post(f"/datasets/{dataset}/cold-start", json={"items": [0]})
    assert (cold.status_code, cold.json()["error"]["code"]) == (409, "no_embeddings")


def _stats(store: GraphStore, dataset: str, interests: kgrec.results.InterestSet, liked: int, cli_env: dict) -> None:
    stats = kgrec.dataset_stats(dataset, store=store)
    assert stats.nodes == {"User": 40, "Item": 30, "Entity": 53, "Interest": interests.interests}
    assert sum(stats.interactions.values()) == liked and set(stats.interactions) == {"train", "valid", "test"}
    assert stats.kg_triples == len(export_dataset(store, dataset).triples) and stats.kg_relations == 3
    assert stats.interest_edges == interests.edges and stats.relationships == {"KGREC_RECOMMENDS": K * 40}
    result = CliRunner().invoke(main, ["db", "stats", "--dataset", dataset], env=cli_env)
    assert result.exit_code == 0 and ":User" in result.output and f"{stats.interactions['valid']:>10,}" in result.output


def test_link_enrich_infer_train_explain_serve_and_resync_leave_the_graph_as_it_was(
        store: GraphStore, foreign: ForeignGraph, linked_name: str, cli_env: dict, wiki_source: str, tmp_path,
        monkeypatch) -> None:
    monkeypatch.setenv("KGREC_CACHE_DIR", str(tmp_path / "cache"))
    mapping = foreign.mapping(tmp_path / "graph.toml")
    before = snapshot(store, foreign)
    liked = rated(store, foreign, THRESHOLD)

    linked = kgrec.ingest("neo4j", mapping, dataset=linked_name, store=store)
    assert (linked.mode, linked.has_kg) == ("link", True)
    assert {k: linked.changes[k] for k in ("users", "items", "interactions", "below_threshold", "outside")} == {
        "users": 40, "items": 30, "interactions": len(liked), "below_threshold": foreign.ratings - len(liked),
        "outside": 0}
    assert 0 < linked.changes["test"] < len(liked)

    export = export_dataset(store, linked_name)
    assert (export.n_users, export.n_items, export.relation_types) == (40, 30, ["IN_GENRE", "ACTED_IN", "DIRECTED"])
    assert len(export.entity_ids) == linked.changes["entities"] == 30 + 6 + 17     # movies, genres, people
    assert len(export.interactions) == len(liked) and len(export.item_entities) == 30
    assert len(export.triples) == 30 * 2 - sum(1 for k in range(30) if k % 6 == (k * 5 + 1) % 6) + 30 * 3 + 30

    lightgcn = kgrec.train("lightgcn", linked_name, store=store, epochs=2, k=K, progress=False)
    _check_lists(store, foreign, lightgcn, 40)
    assert any("linked graph" in note for note in lightgcn.notes)
    assert snapshot(store, foreign) == before

    _enrich(store, foreign, linked_name, wiki_source, tmp_path)
    interests = _infer(store, linked_name)
    [listed] = kgrec.interest_sets(linked_name, store=store)
    assert (listed.set, listed.clusters, listed.edges) == ("llm", interests.interests, interests.edges)
    cikgrec = kgrec.train("cikgrec", linked_name, store=store, interest_set="llm", epochs=2, k=K, progress=False)
    export = export_dataset(store, linked_name, interest_set="llm")
    assert export.user_interests.shape == (interests.edges, 2) and len(export.split("valid")) > 0
    _check_lists(store, foreign, cikgrec, 40)      # the LightGCN lists are gone: replaced, not added to
    assert snapshot(store, foreign) == before

    top = _explain(store, foreign, linked_name, cli_env)
    _query_and_serve(store, foreign, linked_name, cli_env, top, cikgrec)
    _stats(store, linked_name, interests, len(liked), cli_env)
    assert snapshot(store, foreign) == before

    state = load_state(store, linked_name)
    add_user(store, foreign, "u_new")
    add_movie(store, foreign, "m_new", "Horror")
    add_ratings(store, foreign, [("u_new", "m1", 5.0), ("u_new", "m2", 4.0), ("u_new", "m_new", 5.0),
                                 ("u_new", "m3", 2.0), ("u0", "m_new", 5.0), ("u1", "m_new", 1.0)])
    result = CliRunner().invoke(main, ["ingest", "neo4j", str(mapping), "--dataset", linked_name, "--json"],
                                env=cli_env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["mode"] == "resync" and report["version"] > linked.version
    assert {k: report["changes"][k] for k in ("users", "items", "entities", "interactions")} == {
        "users": 1, "items": 1, "entities": 1, "interactions": 4}
    after = load_state(store, linked_name)
    assert all(after.users[key] == index for key, index in state.users.items())
    assert all(after.entities[key] == index for key, index in state.entities.items())
    assert all(after.splits[pair] == code for pair, code in state.splits.items())   # stored valid pairs stay valid
    assert (after.users["u_new"], after.items["m_new"]) == (40, 30)

    again = export_dataset(store, linked_name)
    assert not again.stats.get("cached") and (again.n_users, again.n_items) == (41, 31)
    assert len(again.interactions) == len(liked) + 4

    add_ratings(store, foreign, [("u2", "m_new", 5.0), ("u3", "m_new", 4.5)])
    grown = snapshot(store, foreign)
    stamp = foreign.clock           # the stamp of the second of the two: only it is read
    since = kgrec.ingest("neo4j", mapping, dataset=linked_name, store=store, since=str(stamp))
    assert {k: since.changes[k] for k in ("users", "items", "interactions")} == {"users": 0, "items": 0,
                                                                                "interactions": 1}
    synced = load_state(store, linked_name).splits
    ids = after.users
    assert (ids["u3"], 30) in synced and (ids["u2"], 30) not in synced    # u2's rating is older than `since`

    result = CliRunner().invoke(main, ["train", "lightgcn", "--dataset", linked_name, "--epochs", "1", "--k", str(K),
                                       "--no-progress", "--json"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert {row["props"]["model"] for row in recommendations(store, foreign)} == {"lightgcn"}
    assert len(recommendations(store, foreign)) == K * 41
    assert snapshot(store, foreign) == grown

    kgrec.drop_dataset(linked_name, store=store)
    assert recommendations(store, foreign) == [] and snapshot(store, foreign) == grown
    left = _read(store, "MATCH (n) WHERE (n:KgrecItemText OR n:KgrecUserText OR n:KgrecPrompt OR n:Interest) "
                        "AND n.dataset = $d RETURN count(n) AS n", d=linked_name)
    assert left[0]["n"] == 0
