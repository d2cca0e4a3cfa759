"""``kgrec db check`` on the small CIKG fixture with planted defects, on a real Neo4j.

The clean fixture trips only the single-member-interest check (derived from its file here);
each other check must count exactly the defects the test plants and name them in its examples.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg_store.checks import CHECKS, check_header, run_checks
from kg_store.cypher_files import load_query
from kgrec import api, cli
from kgrec.cli import CliState

FIXTURES = Path(__file__).parent / "fixtures" / "cikg_small"

# Test-only writes that plant one kind of defect each.
PLANT = """
MERGE (lonely:Item {dataset: $dataset, id: 1000}) SET lonely.title = 'Lonely'
MERGE (a:Item {dataset: $dataset, id: 1001}) MERGE (b:Item {dataset: $dataset, id: 1002})
MERGE (shared:Entity {dataset: $dataset, id: 2000})
MERGE (a)-[:LINKED_TO]->(shared) MERGE (b)-[:LINKED_TO]->(shared)
MERGE (c:Item {dataset: $dataset, id: 1003})-[:LINKED_TO]->(ec:Entity {dataset: $dataset, id: 2003})
MERGE (d:Item {dataset: $dataset, id: 1004})-[:LINKED_TO]->(ed:Entity {dataset: $dataset, id: 2004})
MERGE (ed)-[:AUTHOR]->(ec)
MERGE (:Entity {dataset: $dataset, id: 2005})
MERGE (foreign:Entity {dataset: $other, id: 0})
WITH foreign
MATCH (e1:Entity {dataset: $dataset, id: 1})
MERGE (e1)-[:AUTHOR]->(foreign)
WITH 1 AS one
MATCH (i0:Item {dataset: $dataset, id: 0})
MERGE (cold:User {dataset: $dataset, id: 1000})-[:INTERACTED {split: 'test'}]->(i0)
WITH 1 AS one
MATCH (u0:User {dataset: $dataset, id: 0}), (u1:User {dataset: $dataset, id: 1})
CREATE (solo:Interest {dataset: $dataset, set: 'planted', id: 0})
CREATE (pair:Interest {dataset: $dataset, set: 'planted', id: 1})
CREATE (u0)-[:HAS_INTEREST {set: 'planted', weight: 1.0}]->(solo)
CREATE (u0)-[:HAS_INTEREST {set: 'planted', weight: 1.0}]->(pair)
CREATE (u1)-[:HAS_INTEREST {set: 'planted', weight: 1.0}]->(pair)
"""
DROP_OTHER = "MATCH (n:Entity {dataset: $other}) DETACH DELETE n"


def _fixture_single_member_interests() -> set[int]:
    members: dict[int, set[int]] = defaultdict(set)
    for line in (FIXTURES / "user_interest_clustered.txt").read_text().splitlines():
        if line.strip():
            user, interest = (int(x) for x in line.split())
            members[interest].add(user)
    return {n for n, users in members.items() if len(users) == 1}


@pytest.fixture(scope="module")
def graph(store) -> Iterator[tuple[object, str, str]]:
    dataset = f"test_{uuid.uuid4().hex[:10]}"
    other = f"{dataset}_other"
    api.ingest_cikg(store, FIXTURES, dataset, progress=False)
    yield store, dataset, other
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)
    store.autocommit_text(DROP_OTHER, other=other)


def _by_name(results) -> dict:
    return {r.name: r for r in results}


def test_every_check_file_declares_a_severity() -> None:
    for name in CHECKS:
        severity, description = check_header(name)
        assert severity in ("error", "warning", "info") and description


@pytest.fixture
def use_store(store, monkeypatch: pytest.MonkeyPatch):
    """The CLI talks to the test server, not the user's default one."""
    monkeypatch.setitem(cli.main.context_settings, "obj", CliState.with_store(store))
    return store


def test_clean_fixture_then_planted_defects(graph, use_store) -> None:
    store, dataset, other = graph
    single = _fixture_single_member_interests()
    clean = _by_name(run_checks(store, dataset, examples=100))
    for name in CHECKS[:-1]:
        assert clean[name].count == 0 and clean[name].examples == [], name
    assert clean["single_member_interests[authors]"].count == len(single)
    assert {e["interest"] for e in clean["single_member_interests[authors]"].examples} == single

    # no error yet: --strict exits 0
    runner = CliRunner()
    ok = runner.invoke(cli.main, ["db", "check", "--dataset", dataset, "--strict"])
    assert ok.exit_code == 0, ok.output

    store.autocommit_text(PLANT, dataset=dataset, other=other)
    found = _by_name(run_checks(store, dataset, examples=100))

    assert found["items_without_entity"].count == 1
    assert found["items_without_entity"].examples == [{"item": 1000, "title": "Lonely"}]

    assert found["shared_entities"].count == 1
    assert found["shared_entities"].severity == "error"
    [shared] = found["shared_entities"].examples
    assert shared["entity"] == 2000 and shared["items"] == [1001, 1002] and shared["linked_items"] == 2
    # a higher threshold forgives it
    relaxed = _by_name(run_checks(store, dataset, max_items=2))
    assert relaxed["shared_entities"].count == 0

    assert found["item_entity_in_other_kg"].count == 2
    assert found["item_entity_in_other_kg"].examples == [
        {"item": 1003, "entity": 2003, "other_item": 1004, "relation": "AUTHOR"},
        {"item": 1004, "entity": 2004, "other_item": 1003, "relation": "AUTHOR"},
    ]

    assert found["orphan_entities"].count == 1
    assert found["orphan_entities"].examples == [{"entity": 2005, "uri": None}]

    assert found["dangling_triples"].count == 1
    [dangling] = found["dangling_triples"].examples
    assert (dangling["head"], dangling["relation"], dangling["tail"]) == (1, "AUTHOR", 0)
    assert dangling["other_dataset"] == other and dangling["other_labels"] == ["Entity"]

    assert found["users_without_train"].count == 1
    assert found["users_without_train"].examples == [{"user": 1000, "interactions": 1}]

    assert found["single_member_interests[authors]"].count == len(single)
    assert found["single_member_interests[planted]"].count == 1
    assert found["single_member_interests[planted]"].examples == [{"interest": 0, "label": None, "user": 0}]

    # examples are bounded
    bounded = _by_name(run_checks(store, dataset, examples=1))
    assert bounded["item_entity_in_other_kg"].count == 2
    assert len(bounded["item_entity_in_other_kg"].examples) == 1

    # CLI: errors exit 1 only with --strict; --json carries every check
    plain = runner.invoke(cli.main, ["db", "check", "--dataset", dataset])
    assert plain.exit_code == 0, plain.output
    assert "shared_entities: 1" in plain.output and "ERROR" in plain.output
    strict = runner.invoke(cli.main, ["db", "check", "--dataset", dataset, "--strict"])
    assert strict.exit_code == 1
    as_json = runner.invoke(cli.main, ["db", "check", "--dataset", dataset, "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["dataset"] == dataset
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["dangling_triples"]["count"] == 1 and checks["dangling_triples"]["severity"] == "error"
    assert checks["orphan_entities"]["examples"] == [{"entity": 2005, "uri": None}]
    assert set(checks) >= set(CHECKS[:-1])


def test_unknown_dataset_is_one_line(use_store) -> None:
    result = CliRunner().invoke(cli.main, ["db", "check", "--dataset", f"missing_{uuid.uuid4().hex[:8]}"])
    assert result.exit_code != 0
    assert "is not in the graph" in result.output
