"""``kgrec explain`` on the small CIKG fixture: expected paths derived here from the fixture files."""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kg_store.cypher_files import load_query
from kg_store.errors import UnknownItemError, UnknownUserError
from kg_store.explain import explain
from kgrec import api
from kgrec.cli import CliState, KgrecGroup
from kgrec.cli import explain as cli_explain

FIXTURES = Path(__file__).parent / "fixtures" / "cikg_small"
RELATIONS = {0: "AUTHOR", 1: "LITERARY_GENRE", 2: "TYPE"}
USER, ITEM = 0, 9
TITLES = {9: "Target Book", 6: "Seen Book"}
LABELS = {24: "Test label"}   # interest 20 stays unlabelled


def _rows(path: Path) -> list[list[int]]:
    return [[int(x) for x in line.split()] for line in path.read_text().splitlines() if line.strip()]


def _fixture_titles() -> dict[int, str]:
    """Ingest titles an item after its entity's local name (item_list.txt's entity_name)."""
    titles = {}
    for line in (FIXTURES / "item_list.txt").read_text().splitlines()[1:]:
        _, remap, uri = line.split()
        if uri != "None":
            titles[int(remap)] = uri.rsplit("/", 1)[-1].replace("_", " ")
    return titles | TITLES


ALL_TITLES = _fixture_titles()


def _name(item: int) -> str:
    return f'"{ALL_TITLES[item]}"' if item in ALL_TITLES else f"item {item}"


def expected_paths() -> set[tuple[str, str, float]]:
    """Every (kind, text, score) path from USER to ITEM, by the formulas of kg_store.explain."""
    inter = {(r[0], i) for r in _rows(FIXTURES / "train.txt") + _rows(FIXTURES / "test.txt") for i in r[1:]}
    interests = {(u, n) for u, n in _rows(FIXTURES / "user_interest_clustered.txt")}
    triples = {(h, RELATIONS[r], t) for h, r, t in _rows(FIXTURES / "kg_final.txt")}
    items_of = {u: {i for v, i in inter if v == u} for u, _ in inter}
    members = {n: {u for u, m in interests if m == n} for _, n in interests}
    readers = {u for u, i in inter if i == ITEM}
    mine = items_of[USER]

    def best_items(n: int) -> str:
        counts = Counter(i for u in members[n] for i in items_of[u])
        top = sorted(counts, key=lambda i: (-counts[i], i))[:3]
        return ", ".join(_name(i) for i in top)

    out = set()
    for n in sorted({m for u, m in interests if u == USER}):
        desc = f'interest "{LABELS[n]}"' if n in LABELS else f"interest authors/{n} (members read {best_items(n)})"
        for peer in members[n] & readers - {USER}:
            out.add(("interest", f"user {USER} → {desc} → user {peer} → {_name(ITEM)}",
                     round(1.0 / math.log(2 + len(members[n])), 9)))
    # item i is entity i in this fixture; entity uris are .../Entity_<id>
    for seen in mine - {ITEM}:
        for h1, r1, t1 in triples:
            if seen not in (h1, t1):
                continue
            via = t1 if h1 == seen else h1
            for h2, r2, t2 in triples:
                if (h2, r2, t2) == (h1, r1, t1) or ITEM not in (h2, t2) or via not in (h2, t2) or h2 == t2:
                    continue
                degree = sum(1 for h, _, t in triples if via in (h, t))
                left = f"-[{r1}]->" if h1 == seen else f"<-[{r1}]-"
                right = f"-[{r2}]->" if h2 == via else f"<-[{r2}]-"
                out.add(("kg", f"user {USER} → {_name(seen)} {left} Entity {via} {right} {_name(ITEM)}",
                         round(1.0 / math.log(2 + degree), 9)))
    for seen in mine - {ITEM}:
        for peer in readers - {USER}:
            if seen in items_of[peer]:
                out.add(("collaborative", f"user {USER} → {_name(seen)} ← user {peer} → {_name(ITEM)}",
                         round(1.0 / math.log(2 + len(items_of[peer])), 9)))
    return out


@pytest.fixture(scope="module")
def graph(store) -> Iterator[tuple[object, str]]:
    dataset = f"test_{uuid.uuid4().hex[:10]}"
    api.ingest_cikg(store, FIXTURES, dataset, progress=False)
    for item, title in TITLES.items():
        store.autocommit_text("MATCH (i:Item {dataset: $d, id: $id}) SET i.title = $t", d=dataset, id=item, t=title)
    for interest, label in LABELS.items():
        store.autocommit_text("MATCH (n:Interest {dataset: $d, id: $id}) SET n.label = $l",
                              d=dataset, id=interest, l=label)
    yield store, dataset
    store.autocommit_text(load_query("store/drop_dataset"), dataset=dataset)


def test_all_paths_match_the_fixture(graph) -> None:
    store, dataset = graph
    result = explain(store, dataset, USER, ITEM, top=10_000)
    got = {(p.kind, p.text, round(p.score, 9)) for p in result.paths}
    want = expected_paths()
    assert {k for k, _, _ in want} == {"interest", "kg", "collaborative"}
    assert got == want
    assert len(result.paths) == len(want)
    scores = [p.score for p in result.paths]
    assert scores == sorted(scores, reverse=True)
    for kind in ("interest", "kg", "collaborative"):
        mine = [s for k, _, s in want if k == kind]
        assert result.summary[kind].paths == len(mine)
        assert result.summary[kind].score == pytest.approx(sum(mine), abs=1e-6)
    assert result.item_title == '"Target Book"'


def test_titles_labels_and_member_items(graph) -> None:
    store, dataset = graph
    texts = [p.text for p in explain(store, dataset, USER, ITEM, top=10_000).paths]
    assert all("item 9" not in t and "Entity 9" not in t for t in texts)
    assert any('"Seen Book"' in t for t in texts)
    assert any('interest "Test label"' in t for t in texts)
    assert any("interest authors/20 (members read " in t for t in texts)
    top = explain(store, dataset, USER, ITEM, top=3).paths
    assert len(top) == 3


def test_only_one_interest_set(graph) -> None:
    store, dataset = graph
    result = explain(store, dataset, USER, ITEM, set="authors", top=10_000)
    assert result.summary["interest"].paths == len([k for k, _, _ in expected_paths() if k == "interest"])


def test_unknown_user_and_item(graph) -> None:
    store, dataset = graph
    with pytest.raises(UnknownUserError):
        explain(store, dataset, 999, ITEM)
    with pytest.raises(UnknownItemError):
        explain(store, dataset, USER, 999)


def _cli(store) -> click.Group:
    group = KgrecGroup(name="kgrec", context_settings={"obj": CliState.with_store(store)})
    group.add_command(cli_explain.explain)
    return group


def test_cli_text_json_and_errors(graph) -> None:
    store, dataset = graph
    cli = _cli(store)
    runner = CliRunner()
    text = runner.invoke(cli, ["explain", "--dataset", dataset, "--user", str(USER), "--item", str(ITEM), "--top", "4"])
    assert text.exit_code == 0, text.output
    lines = text.output.strip().splitlines()
    assert lines[0].startswith('Why "Target Book" for user 0:') and len(lines) == 5
    assert lines[1].startswith("1. [")
    out = runner.invoke(cli, ["explain", "--dataset", dataset, "--user", str(USER), "--item", str(ITEM), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert len(data["paths"]) == 5 and set(data["summary"]) == {"interest", "kg", "collaborative"}
    assert data["paths"][0]["steps"][0] == {"node": "User", "id": USER, "name": "user 0"}
    best = max(s for _, _, s in expected_paths())
    assert data["paths"][0]["score"] == pytest.approx(best)
    bad = runner.invoke(cli, ["explain", "--dataset", dataset, "--user", "999", "--item", str(ITEM)])
    assert bad.exit_code == 2
    assert "no user 999" in bad.output
