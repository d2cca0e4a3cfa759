"""Linking a graph with a bad mapping writes nothing; mapping queries only read; write-back survives a crash.

Each refusal names the mapping key at fault and leaves the server as it was: no Dataset node, no
kgrec node of the dataset, and the graph untouched (a writing query's CREATE did not happen).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import linked_graph
import numpy as np
import pytest
from click.testing import CliRunner
from linked_graph import ForeignGraph, recommendations, snapshot

import kgrec
from kg_store.connection import GraphStore
from kg_store.errors import ConfigError, UnsafeNameError
from kg_store.export import export_dataset
from kg_store.linked.mapping import MappingError, load_mapping
from kg_store.linked.state import load_state
from kg_store.run_ids import new_run_id
from kg_store.writeback import write_recommendations
from kgrec.cli import main

QUERIES = '''
[queries]
interactions = """
MATCH (u:{user})-[r:RATED]->(m:{movie}) WHERE r.rating >= $min_rating
RETURN u.userId AS user, m.movieId AS item, r.timestamp AS timestamp"""
kg = """
MATCH (m:{movie})<-[:DIRECTED]-(p:{person})
RETURN m.movieId AS item, 'DIRECTED_BY' AS relation, p.name AS entity, 'Director' AS entity_label"""
[queries.params]
min_rating = 4.5
'''


@pytest.fixture(scope="module")
def foreign(store: GraphStore) -> Iterator[ForeignGraph]:
    graph = linked_graph.build(store, users=12, movies=10)
    yield graph
    linked_graph.remove(store, graph)


@pytest.fixture()
def name(store: GraphStore) -> Iterator[str]:
    dataset = f"linked_{uuid.uuid4().hex[:10]}"
    yield dataset
    if any(row["name"] == dataset for row in kgrec.list_datasets(store=store)):
        kgrec.drop_dataset(dataset, store=store)


def _nothing_written(store: GraphStore, dataset: str) -> bool:
    rows = store.read_with(lambda tx: tx.run(
        "MATCH (n) WHERE (n:Dataset AND n.name = $d) OR ((n:KgrecIdMap OR n:KgrecSplits) AND n.dataset = $d) "
        "RETURN count(n) AS n", d=dataset).single()["n"])
    return rows == 0


def _refused(store: GraphStore, foreign: ForeignGraph, path: Path, dataset: str, key: str) -> str:
    """Link with the mapping at ``path``: it must fail naming ``key`` and write nothing."""
    before = snapshot(store, foreign)
    with pytest.raises(ConfigError) as failure:
        kgrec.ingest("neo4j", path, dataset=dataset, store=store)
    assert key in str(failure.value) and str(path) in str(failure.value)
    assert _nothing_written(store, dataset) and snapshot(store, foreign) == before
    return str(failure.value)


@pytest.mark.parametrize(("old", "new", "key"), [
    ('label = "User_', 'label = "Nobody_', "users.label"),
    ('type = "RATED"', 'type = "RATED_NEVER"', "interactions.type"),
    ('title = "title"', 'title = "headline"', "items.title"),
    ('timestamp = "timestamp"', 'timestamp = "when"', "interactions.timestamp"),
    ('direction = "out"', 'direction = "in"', "kg[0].type"),      # (Genre)-[:IN_GENRE]->(Movie) does not occur
    ('key = "name"', 'key = "title"', "kg[0].key"),
])
def test_a_name_the_graph_lacks_is_refused_naming_its_key(store, foreign, name, tmp_path, old, new, key) -> None:
    path = foreign.mapping(tmp_path / "graph.toml")
    path.write_text(path.read_text().replace(old, new, 1))
    _refused(store, foreign, path, name, key)


def test_the_file_is_read_strictly(foreign, tmp_path) -> None:
    path = foreign.mapping(tmp_path / "graph.toml", extra='[users2]\nlabel = "X"\n')
    with pytest.raises(MappingError, match="unknown section.*users2"):
        load_mapping(path)
    path.write_text(path.read_text().replace('[users2]\nlabel = "X"\n', "").replace('key = "userId"', 'kee = "userId"'))
    with pytest.raises(MappingError, match=r"\[users\]: unknown key\(s\) kee"):
        load_mapping(path)
    path = foreign.mapping(tmp_path / "graph.toml", drop="items")
    with pytest.raises(MappingError, match=r"missing section\(s\) \[items\]"):
        load_mapping(path)
    path = foreign.mapping(tmp_path / "graph.toml", interactions='[interactions]\nrating = "rating"\n')
    with pytest.raises(MappingError, match=r"\[interactions\]: missing key\(s\) type"):
        load_mapping(path)
    path = foreign.mapping(tmp_path / "graph.toml", extra='[writeback]\n')
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping(path)
    path = foreign.mapping(tmp_path / "graph.toml")
    path.write_text(path.read_text().replace('type = "KGREC_RECOMMENDS"', 'type = "IN_GENRE"'))
    with pytest.raises(MappingError, match="writeback.type 'IN_GENRE' is a type the mapping reads"):
        load_mapping(path)
    path.write_text(path.read_text().replace('userId', 'user`) DETACH DELETE (n'))
    with pytest.raises(UnsafeNameError, match="users.key"):
        load_mapping(path)


def test_a_writing_query_fails_and_writes_nothing(store, foreign, name, tmp_path) -> None:
    probe = f"Probe_{foreign.suffix}"
    query = f'[queries]\ninteractions = "CREATE (:{probe}) RETURN \'u0\' AS user, \'m0\' AS item"\n'
    path = foreign.mapping(tmp_path / "graph.toml", interactions="", extra=query)
    assert "may only read" in _refused(store, foreign, path, name, "queries.interactions")
    assert store.read_with(lambda tx: tx.run(f"MATCH (n:{probe}) RETURN count(n) AS n").single()["n"]) == 0


def test_a_query_with_wrong_columns_is_refused(store, foreign, name, tmp_path) -> None:
    query = f'[queries]\nkg = "MATCH (m:{foreign.label("Movie")}) RETURN m.movieId AS item, m.year AS year"\n'
    message = _refused(store, foreign, foreign.mapping(tmp_path / "graph.toml", extra=query), name, "queries.kg")
    assert "item, year" in message and "item, relation, entity" in message


def test_a_database_that_does_not_answer_is_refused(store, foreign, name, tmp_path) -> None:
    path = foreign.mapping(tmp_path / "graph.toml", extra='[source]\ndatabase = "nosuchdatabase"\n')
    _refused(store, foreign, path, name, "source.database")


def test_queries_read_interactions_and_item_graph_with_parameters(store, foreign, name, tmp_path) -> None:
    query = QUERIES.format(user=foreign.label("User"), movie=foreign.label("Movie"), person=foreign.label("Person"))
    linked = kgrec.ingest("neo4j", foreign.mapping(tmp_path / "graph.toml", interactions="", extra=query),
                          dataset=name, store=store)
    assert linked.changes["interactions"] == len(linked_graph.rated(store, foreign, 4.5))
    export = export_dataset(store, name, use_cache=False)
    assert export.relation_types == ["IN_GENRE", "ACTED_IN", "DIRECTED", "DIRECTED_BY"]
    directed = export.triples[export.triples[:, 1] == 3]
    assert len(directed) == 10 and set(directed[:, 0]) <= set(export.item_entities[:, 1])   # item -> director
    liked = linked_graph.rated(store, foreign, 4.5)           # the query's interactions: rated 4.5 or more
    items = {user: {m for u, m in liked if u == user} for user, _ in liked}
    user = next(u for u in sorted(items) if len(items[u]) >= 2)
    target = next(m for m in sorted({m for _, m in liked}) if m not in items[user]
                  and any(m in held and held & items[user] for held in items.values()))
    why = kgrec.explain(name, user, target, store=store)
    expected = sum(len((items[user] & held) - {target}) for peer, held in items.items() if peer != user and target in held)
    assert expected > 0 and why.summary["collaborative"].paths == expected
    assert why.summary["interest"].paths == 0 and why.item == target


def test_a_loaded_dataset_name_and_a_changed_key_are_refused(store, foreign, name, tmp_path, cikg_folder) -> None:
    path = foreign.mapping(tmp_path / "graph.toml")
    kgrec.ingest("neo4j", path, dataset=name, store=store)
    path.write_text(path.read_text().replace('key = "movieId"', 'key = "title"'))
    with pytest.raises(MappingError, match="items.key is 'title', but dataset"):
        kgrec.ingest("neo4j", path, dataset=name, store=store)
    loaded = f"loaded_{uuid.uuid4().hex[:8]}"
    kgrec.ingest("cikg", cikg_folder, dataset=loaded, store=store)
    try:
        with pytest.raises(ConfigError, match="not linked to a graph"):
            kgrec.ingest("neo4j", foreign.mapping(tmp_path / "graph.toml"), dataset=loaded, store=store)
    finally:
        kgrec.drop_dataset(loaded, store=store)


def _lists(rows: list[dict]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["user"], set()).add(row["props"]["run_id"])
    return found


def test_a_write_back_killed_part_way_leaves_each_user_one_whole_list(store, foreign, name, tmp_path) -> None:
    kgrec.ingest("neo4j", foreign.mapping(tmp_path / "graph.toml"), dataset=name, store=store)
    users, items = np.arange(12), np.arange(10)
    top = np.tile(np.arange(3), (12, 1))
    scores = np.tile(np.array([0.9, 0.5, 0.1]), (12, 1))
    first, second = new_run_id("lightgcn"), new_run_id("cikgrec")
    assert write_recommendations(store, name, "lightgcn", first, users, items, top, scores) == 36
    assert set(map(frozenset, _lists(recommendations(store, foreign)).values())) == {frozenset({first})}
    broken = top.copy()
    broken[7, 1] = 99        # no item 99: the batch of users 5-9 fails after users 0-4 were written
    with pytest.raises(IndexError):
        write_recommendations(store, name, "cikgrec", second, users, items, broken, scores, batch_users=5)
    runs = _lists(recommendations(store, foreign))
    assert all(len(found) == 1 for found in runs.values()) and len(runs) == 12     # no user holds a mix
    first_batch = set(load_state(store, name).keys("user")[:5])
    assert {user for user, found in runs.items() if found == {second}} == first_batch
    assert len(recommendations(store, foreign)) == 36
    write_recommendations(store, name, "cikgrec", second, users, items, top, scores, batch_users=5)
    assert set(map(frozenset, _lists(recommendations(store, foreign)).values())) == {frozenset({second})}
    assert len(recommendations(store, foreign)) == 36


@pytest.mark.parametrize(("prop", "since"), [("when", "{day}T00:00:00Z"), ("when", "{day}"), ("day", "{day}")])
def test_since_compares_with_datetime_and_date_timestamps(store, name, tmp_path, prop, since) -> None:
    graph = linked_graph.build(store, users=4, movies=6)
    try:
        linked_graph.stamp_temporal(store, graph)
        path = graph.mapping(tmp_path / "graph.toml")
        path.write_text(path.read_text().replace('timestamp = "timestamp"', f'timestamp = "{prop}"'))
        kgrec.ingest("neo4j", path, dataset=name, store=store)
        linked_graph.add_movie(store, graph, "m_new", "Drama")
        linked_graph.add_ratings(store, graph, [("u0", "m_new", 5.0), ("u1", "m_new", 5.0)])
        linked_graph.stamp_temporal(store, graph)
        day = date(2024, 1, 1) + timedelta(days=(graph.clock - 1_000_000) // 60)   # the second new rating's
        found = kgrec.ingest("neo4j", path, dataset=name, store=store, since=since.format(day=day.isoformat()))
        assert (found.changes["items"], found.changes["interactions"]) == (1, 1)
        state = load_state(store, name)
        new = state.items["m_new"]
        assert (state.users["u1"], new) in state.splits and (state.users["u0"], new) not in state.splits
        with pytest.raises(MappingError, match="interactions.timestamp: --since 'yesterday' is neither ISO 8601"):
            kgrec.ingest("neo4j", path, dataset=name, store=store, since="yesterday")
    finally:
        linked_graph.remove(store, graph)


def test_since_of_the_wrong_kind_is_refused(store, foreign, name, tmp_path) -> None:
    path = foreign.mapping(tmp_path / "graph.toml")
    kgrec.ingest("neo4j", path, dataset=name, store=store)
    with pytest.raises(MappingError, match="holds numbers.*2024-01-01"):
        kgrec.ingest("neo4j", path, dataset=name, store=store, since="2024-01-01")


def test_the_record_writer_options_are_refused(store, foreign, name, tmp_path, cli_env) -> None:
    path = foreign.mapping(tmp_path / "graph.toml")
    for option in ({"bulk": True}, {"workers": 2}, {"batch_size": 10}, {"skip_bad_lines": True}):
        with pytest.raises(ConfigError, match=f"do not apply \\(given: {next(iter(option))}="):
            kgrec.ingest("neo4j", path, dataset=name, store=store, **option)
    assert _nothing_written(store, name)
    for flag in ("--bulk", "--workers=2", "--batch-size=10", "--skip-bad-lines"):
        result = CliRunner().invoke(main, ["ingest", "neo4j", str(path), "--dataset", name, flag], env=cli_env)
        assert result.exit_code == 2 and "No such option" in result.output
    assert _nothing_written(store, name)
