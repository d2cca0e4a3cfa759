"""The named queries of ``cypher/queries/`` against the small CIKG fixture on a real Neo4j.

Expected rows are derived from the fixture's text files here, independently of the graph.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from fixture_graphs import ingest_with_two_recommenders

from kg_store.cypher_files import load_query
from kg_store.queries import QueryError, list_queries, run_named_query
from kgrec.cli import CliState, KgrecGroup
from kgrec.cli import query as cli_query

FIXTURES = Path(__file__).parent / "fixtures" / "cikg_small"
QUERY_DIR = Path(__file__).parent.parent / "cypher" / "queries"
RELATIONS = {0: "AUTHOR", 1: "LITERARY_GENRE", 2: "TYPE"}
TESTED: set[str] = set()


def _rows(path: Path) -> list[list[int]]:
    return [[int(x) for x in line.split()] for line in path.read_text().splitlines() if line.strip()]


class Fixture:
    """The cikg_small facts the queries should report."""

    def __init__(self, folder: Path):
        self.interactions = {(r[0], i) for r in _rows(folder / "train.txt") + _rows(folder / "test.txt")
                             for i in r[1:]}
        self.interests = {(u, n) for u, n in _rows(folder / "user_interest_clustered.txt")}
        self.triples = {(h, RELATIONS[r], t) for h, r, t in _rows(folder / "kg_final.txt")}
        # the fixture's item i is entity i (item 3's entity is known by org_id only)
        self.entity_of = {int(line.split()[1]): int(line.split()[1])
                          for line in (folder / "item_list.txt").read_text().splitlines()[1:]}
        self.entities = len((folder / "entity_list.txt").read_text().splitlines()) - 1

    def items_of(self, user: int) -> set[int]:
        return {i for u, i in self.interactions if u == user}

    def members(self, interest: int) -> set[int]:
        return {u for u, n in self.interests if n == interest}

    def interests_of(self, user: int) -> set[int]:
        return {n for u, n in self.interests if u == user}

    def neighbours(self, entity: int) -> list[tuple[str, int, str]]:
        return [(rel, t, "out") for h, rel, t in self.triples if h == entity] + \
               [(rel, h, "in") for h, rel, t in self.triples if t == entity]


@pytest.fixture(scope="module")
def graph(store) -> Iterator[tuple[object, str, Fixture]]:
    """Ingested once per module (the queries only read), dropped afterwards."""
    dataset_name = f"test_{uuid.uuid4().hex[:10]}"
    ingest_with_two_recommenders(store, FIXTURES, dataset_name)
    yield store, dataset_name, Fixture(FIXTURES)
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset_name)


def run(graph, name: str, **params) -> list[dict]:
    store, dataset, _ = graph
    TESTED.add(name)
    return run_named_query(store, name, {"dataset": dataset, **params})


def test_user_interests_and_peers(graph) -> None:
    _, _, fx = graph
    rows = run(graph, "user_interests", user="0", set="authors")
    assert [(r["set"], r["id"], r["weight"]) for r in rows] == [("authors", n, 1.0) for n in sorted(fx.interests_of(0))]
    peers = Counter(p for n in fx.interests_of(0) for p in fx.members(n) - {0})
    rows = run(graph, "interest_peers", user=0)
    assert {r["peer"]: r["shared"] for r in rows} == dict(peers)
    assert [r["shared"] for r in rows] == sorted(peers.values(), reverse=True)


def test_interest_items_and_sizes(graph) -> None:
    _, _, fx = graph
    interest = min(n for _, n in fx.interests)
    readers = Counter(i for u in fx.members(interest) for i in fx.items_of(u))
    rows = run(graph, "interest_items", set="authors", interest=str(interest), limit="100")
    assert {r["item"]: r["readers"] for r in rows} == dict(readers)
    sizes = Counter(len(fx.members(n)) for n in {n for _, n in fx.interests})
    rows = run(graph, "interest_sizes", set="authors")
    assert {r["size"]: r["interests"] for r in rows} == dict(sizes)
    covered = len({u for u, _ in fx.interests})
    assert {(r["users_covered"], r["users_total"]) for r in rows} == {(covered, 12)}


def test_dataset_overview(graph) -> None:
    _, _, fx = graph
    counts = {(r["kind"], r["name"]): r["count"] for r in run(graph, "dataset_overview")}
    expected = {("node", "User"): 12, ("node", "Item"): 10, ("node", "Entity"): fx.entities,
                ("node", "Interest"): len({n for _, n in fx.interests}),
                ("relationship", "INTERACTED"): len(fx.interactions),
                ("relationship", "HAS_INTEREST"): len(fx.interests),
                ("relationship", "LINKED_TO"): len(fx.entity_of),
                ("relationship", "RECOMMENDED"): 5, ("relationship", "TOP_K"): 2,   # two runs' lists for user 0
                **{("relationship", rel): n for rel, n in Counter(r for _, r, _ in fx.triples).items()}}
    assert counts == expected


def test_item_neighbourhood(graph) -> None:
    _, _, fx = graph
    rows = run(graph, "item_neighbourhood", item=1)
    assert sorted((r["relation"], r["entity"], r["direction"]) for r in rows) == sorted(fx.neighbours(1))


def test_explain_paths(graph) -> None:
    _, _, fx = graph
    user, item = 0, 5
    interest = sum(1 for n in fx.interests_of(user) for p in fx.members(n) - {user} if item in fx.items_of(p))
    collab = sum(1 for s in fx.items_of(user) - {item} for p in range(12)
                 if p != user and {s, item} <= fx.items_of(p))
    target = fx.entity_of[item]
    kg = sum(1 for s in fx.items_of(user) - {item} if s in fx.entity_of
             for _, via, _ in fx.neighbours(fx.entity_of[s])
             for _, end, _ in fx.neighbours(via) if end == target)
    rows = run(graph, "explain_paths", user=user, item=item)
    assert {r["kind"]: r["paths"] for r in rows} == {"interest": interest, "kg": kg, "collaborative": collab}


def test_compare_recommendations(graph) -> None:
    rows = run(graph, "compare_recommendations", user=0, model_a="model_a", model_b="model_b", k=3)
    assert [(r["rank"], r["item_a"], r["item_b"], r["a_in_b"], r["b_in_a"], r["overlap"]) for r in rows] == [
        (1, 1, 2, False, True, 1), (2, 2, 4, True, False, 1), (3, 3, None, False, None, 1)]


def test_user_recommendations_and_history(graph) -> None:
    _, _, fx = graph
    rows = run(graph, "user_recommendations", user=0)
    assert [(r["model"], r["rank"], r["item"], r["run_id"]) for r in rows] == [
        ("model_a", 1, 1, "run_a"), ("model_a", 2, 2, "run_a"), ("model_a", 3, 3, "run_a"),
        ("model_b", 1, 2, "run_b"), ("model_b", 2, 4, "run_b")]
    assert [r["item"] for r in run(graph, "user_recommendations", user=0, model="model_b", limit=1)] == [2]
    test = {(r[0], i) for r in _rows(FIXTURES / "test.txt") for i in r[1:]}
    rows = run(graph, "user_history", user=0)
    assert {r["item"]: r["split"] for r in rows} == {i: "test" if (0, i) in test else "train" for i in fx.items_of(0)}
    assert [r["item"] for r in run(graph, "user_history", user=0, split="test")] == sorted(
        i for u, i in test if u == 0)


def test_every_query_file_is_tested() -> None:
    """Runs last in this module (pytest keeps file order): every file needs a test above."""
    files = {p.stem for p in QUERY_DIR.glob("*.cypher")}
    assert {q.name for q in list_queries()} == files
    assert TESTED == files


def test_unknown_or_injected_names_are_refused(graph) -> None:
    store, dataset, _ = graph
    before = run_named_query(store, "dataset_overview", {"dataset": dataset})
    for name in ["user_interests; MATCH (n) DETACH DELETE n", "nope", "../store/drop_dataset", "User_Interests"]:
        with pytest.raises(QueryError):
            run_named_query(store, name, {"dataset": dataset})
    with pytest.raises(QueryError):
        run_named_query(store, "user_interests", {"dataset": dataset, "user": "0 OR 1=1"})
    with pytest.raises(QueryError):
        run_named_query(store, "user_interests", {"dataset": dataset, "user": 0, "limit": 10**9})
    assert run_named_query(store, "dataset_overview", {"dataset": dataset}) == before


def cli(store) -> click.Group:
    @click.group(cls=KgrecGroup, context_settings={"obj": CliState.with_store(store)})
    def main() -> None: ...

    main.add_command(cli_query.query)
    return main


def test_cli_list_and_json(graph) -> None:
    store, dataset, fx = graph
    listed = CliRunner().invoke(cli(store), ["query", "--list"])
    assert listed.exit_code == 0 and all(q.name in listed.output for q in list_queries())
    result = CliRunner().invoke(cli(store), ["query", "user_interests", "--dataset", dataset, "--param", "user=0",
                                             "--format", "json"])
    assert result.exit_code == 0, result.output
    assert sorted(r["id"] for r in json.loads(result.output)) == sorted(fx.interests_of(0))
    bad = CliRunner().invoke(cli(store), ["query", "user_interests; MATCH (n) DETACH DELETE n", "--dataset", dataset])
    assert bad.exit_code == 2 and "No named query" in bad.output
