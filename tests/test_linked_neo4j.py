"""A graph in its owner's schema, linked without copying: train, write back onto its nodes, re-sync.

The graph is the recommendations-example schema made up by :mod:`tests.linked_graph` (40 users, 30
movies with plots, genres, cast and directors). kgrec trains LightGCN and CIKGRec on it (CIKGRec's
interests: each user's favourite genres clustered with k-means), writes ``KGREC_RECOMMENDS`` onto
the graph's own user and movie nodes, and picks up new ratings, a new user and a new movie on a
re-sync; every node, property and relationship of the graph other than ``KGREC_RECOMMENDS`` stays
exactly as it was throughout.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import linked_graph
import pytest
from click.testing import CliRunner
from linked_graph import ForeignGraph, add_movie, add_ratings, add_user, rated, recommendations, snapshot

import kgrec
from kg_store.connection import GraphStore
from kg_store.export import export_dataset
from kg_store.linked.state import load_state
from kgrec.cli import main

K = 4
THRESHOLD = 3.5


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


def test_link_train_write_back_and_resync_leave_the_graph_as_it_was(
        store: GraphStore, foreign: ForeignGraph, linked_name: str, cli_env: dict, tmp_path, monkeypatch) -> None:
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

    state = load_state(store, linked_name)
    genres = linked_graph.user_genres(store, foreign)
    interests = kgrec.cluster_interests(linked_name, "genres", store=store, method="kmeans", k=6, max_user_share=1.0,
                                        phrases={state.users[user]: found for user, found in genres.items()})
    assert interests.interests >= 2 and interests.edges > 0 and interests.edges_skipped == 0
    [listed] = kgrec.interest_sets(linked_name, store=store)
    assert (listed.set, listed.clusters, listed.edges) == ("genres", interests.interests, interests.edges)
    cikgrec = kgrec.train("cikgrec", linked_name, store=store, interest_set="genres", epochs=2, k=K, progress=False)
    assert export_dataset(store, linked_name, interest_set="genres").user_interests.shape == (interests.edges, 2)
    _check_lists(store, foreign, cikgrec, 40)      # the LightGCN lists are gone: replaced, not added to
    assert snapshot(store, foreign) == before

    add_user(store, foreign, "u_new")
    add_movie(store, foreign, "m_new", "Horror")
    add_ratings(store, foreign, [("u_new", "m1", 5.0), ("u_new", "m2", 4.0), ("u_new", "m_new", 5.0),
                                 ("u_new", "m3", 2.0), ("u0", "m_new", 5.0), ("u1", "m_new", 1.0)])
    grown = snapshot(store, foreign)
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
    assert all(after.splits[pair] == code for pair, code in state.splits.items())
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
