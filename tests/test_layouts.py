"""Every published layout quirk, loaded into a real Neo4j with exact counts; RecBole parsing without one.

Each fixture folder reproduces one quirk in a dozen lines: CIKGRec's three-column list files with
free-text names, KGAT's quoted ids and zipped KG, CRLF line endings with repeated lines, a folder
without a KG, and RecBole atomic files with and without their own split files.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ingest import get_source
from ingest.records import DatasetRecords
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info, dataset_stats
from kg_store.errors import BadInputError
from kgrec import api

FIXTURES = Path(__file__).parent / "fixtures"
NAMED = FIXTURES / "cikgrec_named_lists"
KGAT = FIXTURES / "kgat_small"
RECBOLE = FIXTURES / "recbole_small"
PRESPLIT = FIXTURES / "recbole_presplit"
ONION = "Our Dumb Century: The Onion Presents 100 Years of Headlines from America's Finest News Source"

NAMED_COUNTS = {
    "nodes": {"User": 4, "Item": 6, "Entity": 11, "Interest": 2},
    "interactions": {"train": 11, "test": 4},
    "kg_triples": 6, "interest_edges": 5, "linked_to": 6,
}


def _counts(store: GraphStore, dataset: str) -> dict[str, Any]:
    stats = dataset_stats(store, dataset)
    nodes = {label: stats.nodes.get(label, 0) for label in ("User", "Item", "Entity", "Interest")}  # 0 if absent
    return {"nodes": nodes, "interactions": stats.interactions, "kg_triples": stats.kg_triples,
            "interest_edges": stats.interest_edges, "linked_to": stats.relationships.get("LINKED_TO", 0)}


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    return store.read_with(lambda tx: tx.run(query, params).data())


def _titles(store: GraphStore, dataset: str) -> dict[int, str | None]:
    rows = _rows(store, "MATCH (i:Item {dataset: $d}) RETURN i.id AS id, i.title AS title", d=dataset)
    return {row["id"]: row["title"] for row in rows}


def _ingest_twice(store: GraphStore, source: str, folder: Path, dataset: str) -> tuple[Any, Any]:
    first = api.ingest(store, source, folder, dataset, progress=False)
    second = api.ingest(store, source, folder, dataset, progress=False)
    assert second.nodes_created == 0 and second.relationships_created == 0
    return first, second


# -- CIKGRec's other datasets: three-column list files whose names hold spaces or nothing ----------
def test_cikgrec_named_lists(store: GraphStore, dataset_name: str) -> None:
    report = api.ingest(store, "cikg", NAMED, dataset_name, progress=False)
    assert _counts(store, dataset_name) == NAMED_COUNTS
    assert report.duplicates == {} and report.skipped == []
    titles = _titles(store, dataset_name)
    assert titles == {0: ONION, 1: None, 2: None, 3: "Beloved (Plume Contemporary Fiction)", 4: "Wild Animus",
                      5: "Timeline"}
    entities = _rows(store, "MATCH (e:Entity {dataset: $d}) WHERE e.id IN [1, 6, 10] "
                            "RETURN e.id AS id, e.name AS name, e.org_id AS org_id ORDER BY id", d=dataset_name)
    assert entities == [{"id": 1, "name": None, "org_id": "3426029553"},
                        {"id": 6, "name": "Toni Morrison", "org_id": "Q72334"},
                        {"id": 10, "name": "science fiction", "org_id": "Q24925"}]
    assert dataset_info(store, dataset_name)["relation_types"] == ["AUTHOR", "MAIN_SUBJECT", "GENRE"]


# -- KGAT: free-text entity ids with quotes, a freebase_id column, the KG only as a zip ----------
def test_kgat_quoted_ids_and_zipped_kg(store: GraphStore, dataset_name: str) -> None:
    assert not (KGAT / "kg_final.txt").exists() and (KGAT / "kg_final.txt.zip").exists()
    report, _ = _ingest_twice(store, "kgat", KGAT, dataset_name)
    assert _counts(store, dataset_name) == {
        "nodes": {"User": 3, "Item": 4, "Entity": 8, "Interest": 0},
        "interactions": {"train": 8, "test": 3},
        "kg_triples": 5, "interest_edges": 0, "linked_to": 4,
    }
    info = dataset_info(store, dataset_name)
    assert info["has_kg"] is True and info["has_interests"] is False
    assert info["relation_types"] == ["BOOK_WRITTEN_WORK_AUTHOR", "MUSIC_RECORDING_ARTIST"]
    assert [note for note in report.notes if "interest" in note] == [
        "no user_interest_clustered.txt: loaded without user interests (has_interests = false)"]
    entities = _rows(store, "MATCH (e:Entity {dataset: $d}) WHERE e.id >= 4 RETURN e.org_id AS org_id ORDER BY e.id",
                     d=dataset_name)
    assert [row["org_id"] for row in entities] == ['"""I Love You', 'Rock & Roll "Hall" of Fame', "m.0h5ww",
                                                   'The Very Best of "Weird Al" Yankovic']
    item = _rows(store, "MATCH (i:Item {dataset: $d, id: 2}) RETURN i.org_id AS org_id, i.freebase_id AS fb, "
                        "i.title AS title", d=dataset_name)
    assert item == [{"org_id": "038548254X", "fb": "m.045ff96", "title": None}]


# -- CRLF line endings and repeated lines ---------------------------------------------------------
def _crlf_copy_with_repeats(target: Path) -> Path:
    """The named-lists fixture with one repeated line in train, KG and item list, all in CRLF."""
    shutil.copytree(NAMED, target)
    repeats = {"train.txt": "1 1 2", "kg_final.txt": "5 2 10", "item_list.txt": "0971880107 4 Wild Animus"}
    for name, line in repeats.items():
        with (target / name).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    for path in target.iterdir():
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return target


def test_crlf_and_repeated_lines(store: GraphStore, dataset_name: str, tmp_path: Path) -> None:
    folder = _crlf_copy_with_repeats(tmp_path / "crlf")
    assert b"\r\n" in (folder / "entity_list.txt").read_bytes()
    first, second = _ingest_twice(store, "cikg", folder, dataset_name)
    assert _counts(store, dataset_name) == NAMED_COUNTS
    # train.txt repeats both pairs of user 1's line; each file's repeats are counted, loaded once
    assert first.duplicates == {"train.txt": 2, "kg_final.txt": 1, "item_list.txt": 1}
    assert second.duplicates == first.duplicates
    assert _titles(store, dataset_name)[0] == ONION and _titles(store, dataset_name)[4] == "Wild Animus"  # no \r
    names = _rows(store, "MATCH (e:Entity {dataset: $d}) WHERE e.name ENDS WITH '\\r' OR e.org_id ENDS WITH '\\r' "
                         "RETURN count(e) AS n", d=dataset_name)
    assert names == [{"n": 0}]


# -- a folder without kg_final --------------------------------------------------------------------
def test_folder_without_kg(store: GraphStore, dataset_name: str, tmp_path: Path) -> None:
    folder = shutil.copytree(NAMED, tmp_path / "nokg")
    (folder / "kg_final.txt").unlink()
    report = api.ingest(store, "cikg", folder, dataset_name, progress=False)
    assert [note for note in report.notes if "kg" in note] == [
        "no kg_final.txt: loaded without an item knowledge graph (has_kg = false)"]
    assert dataset_info(store, dataset_name)["has_kg"] is False
    assert _counts(store, dataset_name) == {**NAMED_COUNTS, "nodes": {**NAMED_COUNTS["nodes"], "Entity": 0},
                                            "kg_triples": 0, "linked_to": 0}


# -- RecBole atomic files -------------------------------------------------------------------------
RECBOLE_COUNTS = {
    "nodes": {"User": 4, "Item": 9, "Entity": 14, "Interest": 0},
    "interactions": {"train": 16, "test": 4},
    "kg_triples": 9, "interest_edges": 0, "linked_to": 7,
}


def test_recbole_atomic_files(store: GraphStore, dataset_name: str) -> None:
    report, _ = _ingest_twice(store, "recbole", RECBOLE, dataset_name)
    assert _counts(store, dataset_name) == RECBOLE_COUNTS
    assert report.duplicates == {"ml-tiny.inter": 1, "ml-tiny.kg": 1}
    info = dataset_info(store, dataset_name)
    assert (info["source"], info["has_kg"], info["has_interests"]) == ("recbole", True, False)
    assert info["relation_uris"] == ["film.film.directed_by", "film.film.genre"]
    assert info["relation_types"] == ["FILM_FILM_DIRECTED_BY", "FILM_FILM_GENRE"]
    # chronological split: each user's latest interaction is the test one
    tests = _rows(store, "MATCH (u:User {dataset: $d})-[:INTERACTED {split: 'test'}]->(i) "
                         "RETURN u.org_id AS user, i.org_id AS item ORDER BY u.id", d=dataset_name)
    assert [(row["user"], row["item"]) for row in tests] == [("1", "5"), ("2", "6"), ("3", "8"), ("10", "1")]


def test_recbole_properties(store: GraphStore, dataset_name: str) -> None:
    api.ingest(store, "recbole", RECBOLE, dataset_name, progress=False)
    user = _rows(store, "MATCH (u:User {dataset: $d, org_id: '10'}) RETURN u {.*} AS u", d=dataset_name)[0]["u"]
    assert user == {"dataset": dataset_name, "id": 10, "org_id": "10", "age": "53", "gender": "M",
                    "occupation": "lawyer", "zip": "90703"}  # integer tokens are the ids; zip_code -> zip
    items = _rows(store, "MATCH (i:Item {dataset: $d}) WHERE i.org_id IN ['1', '9'] "
                         "OPTIONAL MATCH (i)-[:LINKED_TO]->(e) RETURN i {.*} AS i, e.org_id AS entity ORDER BY i.id",
                  d=dataset_name)
    assert items == [
        {"i": {"dataset": dataset_name, "id": 1, "org_id": "1", "title": "Toy Story", "year": 1995,
               "genres": ["Animation", "Children's", "Comedy"]}, "entity": "m.toy"},
        {"i": {"dataset": dataset_name, "id": 9, "org_id": "9", "title": "Dead Man Walking", "genres": ["Drama"]},
         "entity": None},
    ]
    edge = _rows(store, "MATCH (:User {dataset: $d, org_id: '1'})-[r:INTERACTED]->(:Item {org_id: '5'}) "
                        "RETURN r.rating AS rating, r.ts AS ts, r.split AS split", d=dataset_name)
    assert edge == [{"rating": 3.5, "ts": 889751712, "split": "test"}]
    triple = _rows(store, "MATCH (:Entity {dataset: $d, org_id: 'm.toy'})-[r:FILM_FILM_DIRECTED_BY]->(t) "
                          "RETURN t.org_id AS tail", d=dataset_name)
    assert triple == [{"tail": "m.lasseter"}]


def _data_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1  # minus the header


def test_recbole_split_files_are_the_splits(store: GraphStore, dataset_name: str) -> None:
    report, _ = _ingest_twice(store, "recbole", PRESPLIT, dataset_name)
    expected = {split: _data_lines(PRESPLIT / f"tiny.{split}.inter") for split in ("train", "valid", "test")}
    assert expected == {"train": 8, "valid": 3, "test": 3}
    assert _counts(store, dataset_name) == {
        "nodes": {"User": 3, "Item": 5, "Entity": 0, "Interest": 0}, "interactions": expected,
        "kg_triples": 0, "interest_edges": 0, "linked_to": 0,
    }
    assert dataset_info(store, dataset_name)["has_kg"] is False
    assert "no tiny.kg: loaded without an item knowledge graph (has_kg = false)" in report.notes
    valid = _rows(store, "MATCH (u:User {dataset: $d})-[:INTERACTED {split: 'valid'}]->(i) "
                         "RETURN u.org_id + ' ' + i.org_id AS pair ORDER BY pair", d=dataset_name)
    assert [row["pair"] for row in valid] == ["alice i4", "bob i5", "carol i1"]


# -- RecBole parsing, no database -----------------------------------------------------------------
def _read(folder: Path, **options: Any) -> DatasetRecords:
    return get_source("recbole").from_options(folder, "parse", **options).read()


@pytest.fixture()
def recbole_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(RECBOLE, tmp_path / "recbole"))


@pytest.fixture()
def presplit_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PRESPLIT, tmp_path / "presplit"))


def _append(path: Path, line: str) -> int:
    """Append one line; returns its line number."""
    number = len(path.read_bytes().splitlines()) + 1
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return number


@pytest.mark.parametrize(
    ("file_name", "bad_line", "message"),
    [
        ("ml-tiny.inter", "1\t4\t3", "expected 4 columns, found 3"),
        ("ml-tiny.inter", "1\t4\tgood\t881250949", "field 'rating': 'good' is not a number"),
        ("ml-tiny.inter", "\t4\t3\t881250949", "field 'user_id': the id is empty"),
        ("ml-tiny.inter", "1\t4\t3\tnan", "field 'timestamp': 'nan' is not a finite number"),
        ("ml-tiny.kg", "m.toy\tfilm.film.genre", "expected 3 columns, found 2"),
        ("ml-tiny.link", "1\tm.golden", "field 'entity_id': item 1 is already linked to entity m.toy"),
        ("ml-tiny.item", "3\tFour Rooms\t1996\tThriller", "field 'item_id': item_id 3 is listed twice"),
    ],
)
def test_recbole_bad_line_names_file_line_and_field(recbole_copy: Path, file_name: str, bad_line: str,
                                                    message: str) -> None:
    path = recbole_copy / file_name
    number = _append(path, bad_line)
    with pytest.raises(BadInputError) as caught:
        _read(recbole_copy)
    assert (caught.value.path, caught.value.line) == (path, number)
    assert f"{path}, line {number}: {message}" in str(caught.value)


def test_recbole_pair_in_two_split_files(presplit_copy: Path) -> None:
    path = presplit_copy / "tiny.test.inter"
    number = _append(path, "alice\ti1\t3")
    with pytest.raises(BadInputError) as caught:
        _read(presplit_copy)
    assert (caught.value.path, caught.value.line, caught.value.field) == (path, number, "item_id")
    assert "pair (alice, i1) is already in the train split (tiny.train.inter)" in str(caught.value)


def test_recbole_skip_bad_lines_keeps_the_rest(recbole_copy: Path) -> None:
    clean = _read(recbole_copy)
    _append(recbole_copy / "ml-tiny.inter", "1\t4\t3")
    _append(recbole_copy / "ml-tiny.kg", "m.toy\t\tm.comedy")
    records = _read(recbole_copy, skip_bad_lines=True)
    assert [(Path(s.path).name, s.line) for s in records.skipped] == [("ml-tiny.inter", 23), ("ml-tiny.kg", 12)]
    assert records.interactions == clean.interactions and records.triples == clean.triples


def test_recbole_header_errors(recbole_copy: Path) -> None:
    inter = recbole_copy / "ml-tiny.inter"
    text = inter.read_text(encoding="utf-8").split("\n", 1)[1]
    inter.write_text("user_id\titem_id:token\trating:float\ttimestamp:float\n" + text, encoding="utf-8")
    with pytest.raises(BadInputError, match=r"line 1: field 'user_id': column 1 'user_id' is not name:type"):
        _read(recbole_copy)
    inter.write_text("uid:token\titem_id:token\trating:float\ttimestamp:float\n" + text, encoding="utf-8")
    with pytest.raises(BadInputError, match=r"line 1: field 'user_id': the header has no 'user_id' column"):
        _read(recbole_copy)


def test_recbole_header_only_interactions(recbole_copy: Path) -> None:
    inter = recbole_copy / "ml-tiny.inter"
    inter.write_text(inter.read_text(encoding="utf-8").split("\n", 1)[0] + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="no interactions in ml-tiny's interaction file"):
        _read(recbole_copy)


def test_recbole_needs_exactly_one_stem(recbole_copy: Path) -> None:
    shutil.copy(recbole_copy / "ml-tiny.inter", recbole_copy / "other.inter")
    with pytest.raises(BadInputError, match=r"found atomic files of 2 datasets \(ml-tiny, other\)"):
        _read(recbole_copy)
    for path in recbole_copy.iterdir():
        path.unlink()
    with pytest.raises(BadInputError, match="found no atomic files"):
        _read(recbole_copy)


def test_recbole_dangling_link_is_a_note_not_a_node(recbole_copy: Path) -> None:
    _append(recbole_copy / "ml-tiny.link", "99\tm.nowhere")
    records = _read(recbole_copy)
    assert ("1 line(s) of ml-tiny.link name items with neither interactions nor a line in ml-tiny.item "
            "(first: 99); those links were not loaded") in records.notes
    assert len(records.items) == 9 and len(records.item_entities) == 7
    assert "m.nowhere" not in {props["org_id"] for _, props in records.entities}


def test_recbole_user_columns_are_allow_listed(recbole_copy: Path) -> None:
    (recbole_copy / "ml-tiny.user").write_text(
        "user_id:token\tZip-Code:token\tid:token\tage:float\tfavourites:token_seq\n1\t85711\t7\t24\ta b\n",
        encoding="utf-8")
    records = _read(recbole_copy)
    assert dict(records.users)[1] == {"org_id": "1", "age": 24, "favourites": ["a", "b"]}
    assert any("column(s) Zip-Code, id not loaded" in note for note in records.notes)


def test_recbole_without_timestamps_splits_by_seed(recbole_copy: Path) -> None:
    inter = recbole_copy / "ml-tiny.inter"
    lines = inter.read_text(encoding="utf-8").splitlines()
    inter.write_text("".join(line.rsplit("\t", 1)[0] + "\n" for line in lines), encoding="utf-8")
    first, again = _read(recbole_copy), _read(recbole_copy)
    assert first.interactions == again.interactions
    assert first.summary()["interactions_test"] == 4 and all(row[4] is None for row in first.interactions)
    other_seed = _read(recbole_copy, split_seed=7)
    assert {r[:2] for r in other_seed.interactions} == {r[:2] for r in first.interactions}


def test_recbole_missing_kg_note(recbole_copy: Path) -> None:
    (recbole_copy / "ml-tiny.kg").unlink()
    records = _read(recbole_copy)
    assert "no ml-tiny.kg: loaded without an item knowledge graph (has_kg = false)" in records.notes
    assert records.triples == [] and len(records.entities) == 7 and len(records.item_entities) == 7


def test_recbole_integer_tokens_are_the_ids_other_tokens_are_numbered() -> None:
    from ingest.recbole import node_ids

    assert node_ids(["10", "2", "7"]) == {"10": 10, "2": 2, "7": 7}
    # a leading zero or a sign would not survive int() -> str(), so such token sets are numbered
    assert node_ids(["007", "8"]) == {"007": 0, "8": 1}
    assert node_ids(["m.toy", "m.up"]) == {"m.toy": 0, "m.up": 1}
