"""Parsing and validation of the ingest sources, without a database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest import get_source
from ingest.cikg import read_cikg
from ingest.movielens import read_movielens
from ingest.splits import SplitConfig, assign_splits
from kg_store.errors import BadInputError

FIXTURES = Path(__file__).parent / "fixtures"


def _count_pairs(path: Path) -> int:
    return sum(len(line.split()) - 1 for line in path.read_text().splitlines() if line.strip())


def test_cikg_counts_match_the_files(cikg_folder: Path) -> None:
    records = read_cikg(cikg_folder, "small")
    summary = records.summary()
    assert summary["users"] == 12
    assert summary["items"] == 10
    assert summary["entities"] == 20
    assert summary["interactions_train"] == _count_pairs(cikg_folder / "train.txt")
    assert summary["interactions_test"] == _count_pairs(cikg_folder / "test.txt")
    assert summary["triples"] == 40
    raw_interest_lines = (cikg_folder / "user_interest_clustered.txt").read_text().splitlines()
    assert summary["user_interests"] == len(set(raw_interest_lines)) < len(raw_interest_lines)
    assert records.relation_types == ["AUTHOR", "LITERARY_GENRE", "TYPE"]
    assert records.item_entities == [(i, i) for i in range(10)]


def test_cikg_item_and_entity_properties(cikg_folder: Path) -> None:
    records = read_cikg(cikg_folder, "small")
    items = dict(records.items)
    assert items[0] == {"org_id": "100", "uri": "http://dbpedia.org/resource/Entity_0", "title": "Entity 0"}
    assert items[3] == {"org_id": "103"}  # 'None' entity name: no uri, no title
    entities = dict(records.entities)
    assert entities[3] == {"org_id": "103"}
    assert entities[5]["uri"].endswith("Entity_5")


@pytest.mark.parametrize(
    ("file_name", "bad_line", "message"),
    [
        ("kg_final.txt", "1 2\n", "expected 3 columns, found 2"),
        ("kg_final.txt", "1 x 3\n", "field 'relation': 'x' is not an integer"),
        ("kg_final.txt", "1 7 12\n", "relation 7 is not in relation_list.txt"),
        ("kg_final.txt", "1 0 999\n", "entity 999 is not in entity_list.txt"),
        ("train.txt", "3 4 77\n", "item 77 is not in item_list.txt"),
        ("train.txt", "55 1\n", "user 55 is not in user_list.txt"),
        ("user_interest_clustered.txt", "2 -4\n", "-4 is negative"),
        ("train.txt", "3 \xff\n", "not valid utf-8"),
    ],
)
def test_cikg_bad_line_names_file_and_line(cikg_copy: Path, file_name: str, bad_line: str, message: str) -> None:
    path = cikg_copy / file_name
    original_lines = len(path.read_bytes().splitlines())
    with path.open("ab") as handle:
        handle.write(bad_line.encode("latin-1"))
    with pytest.raises(BadInputError) as caught:
        read_cikg(cikg_copy, "small")
    assert caught.value.path == path
    assert caught.value.line == original_lines + 1
    assert message in str(caught.value)
    assert f"{path}, line {original_lines + 1}" in str(caught.value)


def test_cikg_skip_bad_lines_reports_and_keeps_the_rest(cikg_copy: Path) -> None:
    clean = read_cikg(cikg_copy, "small")
    with (cikg_copy / "kg_final.txt").open("ab") as handle:
        handle.write(b"1 2\n1 9 3\n\xfe\xff 1 2\n")
    records = read_cikg(cikg_copy, "small", skip_bad_lines=True)
    assert len(records.skipped) == 3
    assert [s.line for s in records.skipped] == [41, 42, 43]
    assert records.triples == clean.triples


def test_pair_in_train_and_test_is_rejected(cikg_copy: Path) -> None:
    first_train = (cikg_copy / "train.txt").read_text().splitlines()[0].split()
    with (cikg_copy / "test.txt").open("a") as handle:
        handle.write(f"{first_train[0]} {first_train[1]}\n")
    with pytest.raises(BadInputError, match="already in the train split"):
        read_cikg(cikg_copy, "small")


def test_empty_and_missing_files(cikg_copy: Path) -> None:
    (cikg_copy / "kg_final.txt").write_text("")
    with pytest.raises(BadInputError, match="file is empty") as caught:
        read_cikg(cikg_copy, "small", skip_bad_lines=True)  # an empty file is never skippable
    assert caught.value.line is None
    (cikg_copy / "train.txt").unlink()
    with pytest.raises(BadInputError, match="file not found"):
        read_cikg(cikg_copy, "small")


def test_cikg_without_kg_or_interests(cikg_copy: Path) -> None:
    for name in ("kg_final.txt", "user_interest_clustered.txt", "entity_list.txt", "relation_list.txt"):
        (cikg_copy / name).unlink()
    records = read_cikg(cikg_copy, "small")
    assert records.triples == [] and records.entities == [] and records.interests == []
    assert records.summary()["interactions_train"] > 0


@pytest.mark.parametrize(("source", "layout"), [("kgat", "kgat_small"), ("cikg", "cikgrec_named_lists")])
def test_empty_org_id_in_every_list_file_reads_as_empty(tmp_path: Path, source: str, layout: str) -> None:
    """KGAT's amazon-book entity_list.txt has the line ' 30181': an id whose org_id is empty."""
    folder = shutil.copytree(FIXTURES / layout, tmp_path / layout)
    lists = ("user", "item", "entity", "relation")
    ids = {name: len((folder / f"{name}_list.txt").read_text().splitlines()) - 1 for name in lists}
    for name in lists:
        with (folder / f"{name}_list.txt").open("a") as handle:
            handle.write(f" {ids[name]}\n")
    records = get_source(source).from_options(folder, "lists").read()
    assert dict(records.users)[ids["user"]] == {"org_id": ""}
    assert dict(records.items)[ids["item"]] == {"org_id": ""}
    assert dict(records.entities)[ids["entity"]] == {"org_id": ""}
    assert records.relations[ids["relation"]] == "" and records.relation_types[ids["relation"]] == "RELATED"
    assert records.skipped == []


def test_empty_org_id_keeps_the_name_of_a_three_column_list(cikg_copy: Path) -> None:
    with (cikg_copy / "item_list.txt").open("a") as handle:
        handle.write(" 10 A Title With Spaces\n 11 None\n")
    items = dict(read_cikg(cikg_copy, "small").items)
    assert items[10] == {"org_id": "", "title": "A Title With Spaces"} and items[11] == {"org_id": ""}


def test_movielens_100k_latin1_and_splits() -> None:
    records = read_movielens(FIXTURES / "ml100k_synthetic", "ml")
    assert records.source == "movielens-100k"
    items = dict(records.items)
    assert items[1]["title"] == "Café Stories (1996)"
    assert items[1]["year"] == 1996 and len(items[1]["genres"]) == 2
    assert items[4] == {"title": "unknown", "imdb_url": "http://example.org/4", "genres": items[4]["genres"]}
    assert len(records.users) == 5 and len(records.interactions) == 25
    # chronological split: each user's single latest interaction (20 % of 5) is the test one
    for user in range(1, 6):
        rows = sorted((r for r in records.interactions if r[0] == user), key=lambda r: r[4])
        assert [r[2] for r in rows] == ["train"] * 4 + ["test"]


def test_movielens_1m_with_and_without_timestamps(tmp_path: Path) -> None:
    with_ts = read_movielens(FIXTURES / "ml1m_synthetic", "ml1m")
    assert with_ts.source == "movielens-1m" and len(with_ts.interactions) == 30
    assert all(r[4] is not None for r in with_ts.interactions)
    folder = tmp_path / "ml1m"
    folder.mkdir()
    for name in ("movies.dat", "users.dat"):
        (folder / name).write_bytes((FIXTURES / "ml1m_synthetic" / name).read_bytes())
    lines = (FIXTURES / "ml1m_synthetic" / "ratings.dat").read_text().splitlines()
    (folder / "ratings_without_timestamps.dat").write_text("".join(row.rsplit("::", 1)[0] + "\n" for row in lines))
    without_ts = read_movielens(folder, "ml1m")
    assert {r[:2] for r in without_ts.interactions} == {r[:2] for r in with_ts.interactions}
    assert all(r[4] is None for r in without_ts.interactions)
    again = read_movielens(folder, "ml1m")
    assert without_ts.interactions == again.interactions  # the seeded split is deterministic


def test_movielens_bad_rating_names_field(tmp_path: Path) -> None:
    folder = tmp_path / "ml"
    folder.mkdir()
    for src in (FIXTURES / "ml100k_synthetic").iterdir():
        (folder / src.name).write_bytes(src.read_bytes())
    with (folder / "u.data").open("a") as handle:
        handle.write("1\t2\t9\t880000001\n")
    with pytest.raises(BadInputError, match=r"u.data, line 26: field 'rating': rating 9 is outside 1..5"):
        read_movielens(folder, "ml")


def test_assign_splits_keeps_a_train_item_per_user() -> None:
    rows = [(1, 10, "train", None, None), (2, 11, "train", None, None), (2, 12, "train", None, None)]
    split = assign_splits(rows, SplitConfig(test_ratio=0.5, seed=1))
    assert [r[2] for r in split if r[0] == 1] == ["train"]
    assert sorted(r[2] for r in split if r[0] == 2) == ["test", "train"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"1 2 3\n4 5 6\n", [(1, 2, 3), (4, 5, 6)]),
        (b"1\t2 3\r\n\n  \n40  50 60", [(1, 2, 3), (40, 50, 60)]),   # tabs, CRLF, blank lines, no final newline
        (b"1 2\n3 4 5 6\n", None),            # 2 + 4 columns: as many numbers as 2 rows, but not 3 per line
        (b"1 2 3\n1 -2 3\n", None),           # a negative number
        (b"1 2 3\n1 x 3\n", None),            # not a number
        (b"1 2 3\n1 2 3.5\n", None),
        (b"1 2 3\n" + b"9" * 19 + b" 1 1\n", None),   # may not fit in 64 bits
    ],
)
def test_int_table_reads_well_formed_files_and_leaves_the_rest_to_the_line_reader(
        tmp_path: Path, text: bytes, expected: list | None) -> None:
    from ingest.reader import LineReader

    path = tmp_path / "kg_final.txt"
    path.write_bytes(text)
    table = LineReader(path).int_table(3)
    assert (None if table is None else [tuple(row) for row in table.tolist()]) == expected
    if expected is not None:   # the fast path gives exactly what the line reader gives
        assert [tuple(map(int, line.fields)) for line in LineReader(path).lines()] == expected
