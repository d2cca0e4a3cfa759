"""``kgrec ingest table`` without a server: CSV, TSV and Parquet tables the tests write themselves,
read through a TOML mapping into records; every mapping and value error names its key, file and row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from ingest import registry as sources
from ingest.records import DatasetRecords
from kg_store.errors import BadInputError, ConfigError

RATINGS = {  # a repeated row (ana, kettle) and one below the threshold (ben, tea)
    "user": ["ana", "ana", "ana", "ben", "ben", "ben", "cy", "cy", "ana"],
    "item": ["kettle", "mug", "lamp", "mug", "tea", "kettle", "lamp", "desk", "kettle"],
    "stars": [5.0, 4.0, 5.0, 3.0, 1.0, 4.0, 4.0, 5.0, 5.0],
    "ts": [100, 200, 300, 150, 250, 350, 120, 220, 100],
    "split": ["train", "train", "test", "train", "train", "test", "train", "valid", "train"],
}
PRODUCTS = {"sku": ["kettle", "mug", "lamp", "desk", "tea", "chair"],
            "name": ["Steel kettle", "Mug", "Desk lamp", "Standing desk", "Green tea", "Office chair"],
            "blurb": ["Boils fast.", "", "Warm light.", None, "Loose leaf.", "Unrated."]}
TRIPLES = {"h": ["kettle", "mug", "lamp", "desk", "steel", "kettle"],
           "r": ["made_of", "made_of", "category", "category", "is_a", "made_of"],
           "t": ["steel", "stoneware", "lighting", "furniture", "metal", "steel"]}
MAPPING = """
[interactions]
file = "ratings.{ext}"
user = "user"
item = "item"
rating = "stars"
timestamp = "ts"
split = "split"
positive_threshold = 3

[items]
file = "products.{ext}"
id = "sku"
title = "name"
text = "blurb"

[triples]
file = "kg.{ext}"
head = "h"
relation = "r"
tail = "t"
"""
EXTENSIONS = {"csv": "csv", "tsv": "tsv", "parquet": "parquet"}


def write_table(path: Path, columns: dict[str, list[Any]]) -> Path:
    """``columns`` as CSV, TSV (no quoting) or Parquet, by ``path``'s extension."""
    table = pa.table(columns)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".tsv":   # as TSV files are: tab-separated, nothing quoted
        rows = zip(*(["" if v is None else str(v) for v in values] for values in columns.values()), strict=True)
        path.write_text("\n".join("\t".join(row) for row in [list(columns), *rows]) + "\n")
    else:
        pa_csv.write_csv(table, path)
    return path


def shop(folder: Path, fmt: str = "csv", mapping: str = MAPPING, **tables: dict[str, list[Any]]) -> Path:
    """The small shop in one format; ``tables`` replace ratings, products or kg."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = EXTENSIONS[fmt]
    for name, columns in {"ratings": RATINGS, "products": PRODUCTS, "kg": TRIPLES, **tables}.items():
        write_table(folder / f"{name}.{ext}", columns)
    (folder / "mapping.toml").write_text(mapping.format(ext=ext))
    return folder / "mapping.toml"


def read(mapping: Path, **options: Any) -> DatasetRecords:
    return sources.create("table", mapping, "shop", **options).read()


def by_org_id(records: DatasetRecords, kind: str) -> dict[str, dict[str, Any]]:
    return {props["org_id"]: {"id": node, **props} for node, props in getattr(records, kind)}


def pairs(records: DatasetRecords) -> dict[tuple[str, str], tuple[str, Any, Any]]:
    users = {k: p["org_id"] for k, p in records.users}
    items = {k: p["org_id"] for k, p in records.items}
    return {(users[u], items[i]): (split, rating, ts) for u, i, split, rating, ts in records.interactions}


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_every_file_type_reads_into_the_same_records(tmp_path: Path, fmt: str) -> None:
    records = read(shop(tmp_path / fmt, fmt))
    assert records.source == "table"
    assert [p["org_id"] for _, p in records.users] == ["ana", "ben", "cy"]      # sorted: ids 0..n-1
    assert [p["org_id"] for _, p in records.items] == ["chair", "desk", "kettle", "lamp", "mug", "tea"]
    assert pairs(records) == {
        ("ana", "kettle"): ("train", 5.0, 100), ("ana", "mug"): ("train", 4.0, 200),
        ("ana", "lamp"): ("test", 5.0, 300), ("ben", "mug"): ("train", 3.0, 150),
        ("ben", "kettle"): ("test", 4.0, 350), ("cy", "lamp"): ("train", 4.0, 120), ("cy", "desk"): ("valid", 5.0, 220),
    }
    assert records.duplicates == {f"ratings.{EXTENSIONS[fmt]}": 1, f"kg.{EXTENSIONS[fmt]}": 1}
    assert f"ratings.{EXTENSIONS[fmt]}: 1 interaction(s) rated below positive_threshold 3 were not loaded" in records.notes
    items = by_org_id(records, "items")
    assert items["kettle"] == {"id": 2, "org_id": "kettle", "title": "Steel kettle", "description": "Boils fast.",
                               "description_source": "table"}
    assert items["mug"] == {"id": 4, "org_id": "mug", "title": "Mug"}   # an empty text is no description
    assert records.relations == ["category", "is_a", "made_of"]
    assert records.relation_types == ["CATEGORY", "IS_A", "MADE_OF"]
    entities = {k: p["org_id"] for k, p in records.entities}
    assert sorted(entities.values()) == sorted({*TRIPLES["h"], *TRIPLES["t"]})
    assert len(records.triples) == 5
    # without [item_entities], each item is tied to the entity of the same id
    links = {(items_by_id := {k: p["org_id"] for k, p in records.items})[i]: entities[e] for i, e in records.item_entities}
    assert links == {"kettle": "kettle", "mug": "mug", "lamp": "lamp", "desk": "desk"} and len(items_by_id) == 6


def test_a_rerun_assigns_the_same_ids_and_integer_ids_sort_as_numbers(tmp_path: Path) -> None:
    mapping = shop(tmp_path, "parquet", ratings={"user": [10, 9, 100], "item": ["b", "a", "c"], "stars": [4.0] * 3,
                                                 "ts": [1, 2, 3], "split": ["train"] * 3})
    first, second = read(mapping), read(mapping)
    assert first.users == second.users and first.items == second.items and first.triples == second.triples
    assert first.interactions == second.interactions
    assert [p["org_id"] for _, p in first.users] == ["9", "10", "100"]   # integer ids: numeric order, kept as text


def test_stored_org_ids_keep_their_ids_and_new_ones_take_the_lowest_free_in_sorted_order() -> None:
    from ingest.table_ids import lowest_free, renumber

    assert lowest_free({0, 1, 2}, 2) == [3, 4] and lowest_free({0, 2, 5}, 3) == [1, 3, 4] and lowest_free(set(), 1) == [0]
    rows = [(k, {"org_id": org}) for k, org in enumerate(["a", "b", "c", "d", "e"])]   # the source's sorted numbering
    found = renumber(rows, {"b": 0, "d": 1, "z": 2})
    assert found.ids == {1: 0, 3: 1, 0: 3, 2: 4, 4: 5} and (found.new, found.absent) == (3, 1)
    assert renumber(rows, {}).ids == {k: k for k in range(5)}   # a first load keeps the source's ids


def test_no_split_column_draws_the_split_of_the_other_sources(tmp_path: Path) -> None:
    many = {"user": ["u"] * 10 + ["v"] * 5, "item": [f"i{k}" for k in range(10)] + [f"i{k}" for k in range(5)],
            "stars": [5.0] * 15, "ts": list(range(10)) + [50, 40, 30, 20, 10], "split": ["train"] * 15}
    mapping = shop(tmp_path, "csv", MAPPING.replace('split = "split"\n', ""), ratings=many)
    records = read(mapping, test_ratio=0.2)
    tests = sorted(key for key, (split, *_) in pairs(records).items() if split == "test")
    assert tests == [("u", "i8"), ("u", "i9"), ("v", "i0")]     # each user's latest 20 %
    assert read(mapping, test_ratio=0.4).summary()["interactions_test"] == 4 + 2


def test_items_users_and_an_explicit_link_table(tmp_path: Path) -> None:
    mapping = shop(tmp_path, "parquet", MAPPING + """
[users]
file = "people.parquet"
id = "who"
attributes = ["age", "country"]

[item_entities]
file = "links.parquet"
item = "sku"
entity = "entity"
""")
    write_table(tmp_path / "people.parquet", {"who": ["ana", "ben", "dee"], "age": [34, None, 29],
                                              "country": ["PT", "DE", "ES"]})
    write_table(tmp_path / "links.parquet", {"sku": ["kettle", "mug", "mug", "ghost"],
                                             "entity": ["steel", "stoneware", "stoneware", "metal"]})
    records = read(mapping)
    users = by_org_id(records, "users")
    assert users["ana"] == {"id": 0, "org_id": "ana", "age": 34, "country": "PT"}   # Parquet types kept
    assert users["ben"] == {"id": 1, "org_id": "ben", "country": "DE"} and "dee" in users   # users without ratings too
    entities = {k: p["org_id"] for k, p in records.entities}
    items = {k: p["org_id"] for k, p in records.items}
    assert {items[i]: entities[e] for i, e in records.item_entities} == {"kettle": "steel", "mug": "stoneware"}
    assert any("1 link(s) of links.parquet name items that are in no other table (first: 'ghost')" in note
               for note in records.notes)
    assert records.duplicates["links.parquet"] == 1


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m.replace('user = "user"', 'usr = "user"'), r"\[interactions\] has no key 'usr'"),
    (lambda m: m.replace('user = "user"\n', ""), r"\[interactions\] needs the key 'user'"),
    (lambda m: m + "\n[extras]\nfile = 'x.csv'\n", r"unknown section or key 'extras'"),
    (lambda m: m.replace("positive_threshold = 3", 'positive_threshold = "high"'),
     r"\[interactions\] positive_threshold must be a finite number"),
    (lambda m: m.replace('rating = "stars"\n', ""), r"positive_threshold needs a rating column"),
    (lambda m: m.replace('file = "kg.csv"', 'file = "kg.json"'), r"\[triples\] file 'kg.json': cannot tell its format"),
    (lambda m: m.replace('text = "blurb"', "text = []"), r"\[items\] text must name at least one column"),
])
def test_mapping_errors_name_the_key(tmp_path: Path, edit: Any, message: str) -> None:
    mapping = shop(tmp_path, "csv")
    mapping.write_text(edit(mapping.read_text()))
    with pytest.raises(ConfigError, match=message) as caught:
        read(mapping)
    assert str(caught.value).startswith(str(mapping))


def test_missing_file_and_missing_column_name_the_key_file_and_column(tmp_path: Path) -> None:
    mapping = shop(tmp_path, "parquet")
    mapping.write_text(mapping.read_text().replace('title = "name"', 'title = "label"'))
    with pytest.raises(BadInputError, match=r"no column 'label' \(named by mapping.toml \[items\] title\); "
                                            r"its columns: sku, name, blurb") as caught:
        read(mapping)
    assert caught.value.path == tmp_path / "products.parquet"
    (tmp_path / "kg.parquet").unlink()
    with pytest.raises(BadInputError, match=r"file not found \(named by mapping.toml \[triples\] file\)"):
        read(mapping)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_a_bad_value_names_file_line_column_and_key(tmp_path: Path, fmt: str) -> None:
    bad = {**RATINGS, "stars": [str(v) for v in RATINGS["stars"]]}
    bad["stars"][4] = "lots"                                   # the 5th row: line 6 after the header
    mapping = shop(tmp_path, fmt, ratings=bad)
    with pytest.raises(BadInputError) as caught:
        read(mapping)
    error = caught.value
    assert (error.path.name, error.line, error.field) == (f"ratings.{fmt}", 6, "stars")
    assert "'lots' is not a number (mapping.toml [interactions] rating)" in str(error)
    skipped = read(mapping, skip_bad_lines=True)
    assert [(s.path, s.line) for s in skipped.skipped] == [(str(tmp_path / f"ratings.{fmt}"), 6)]
    assert len(skipped.interactions) == 7       # the bad row was the one below the threshold anyway


def test_a_bad_parquet_value_names_the_row(tmp_path: Path) -> None:
    bad = {**RATINGS, "ts": [str(v) for v in RATINGS["ts"]]}
    bad["ts"][2] = "yesterday"
    bad["ts"][3] = "2024-05-01T12:00:00+02:00"                 # ISO 8601 is a timestamp
    with pytest.raises(BadInputError, match=r"ratings.parquet: field 'ts': row 3: 'yesterday' is not a timestamp"):
        read(shop(tmp_path, "parquet", ratings=bad))
    bad["ts"][2] = "300"
    assert pairs(read(shop(tmp_path, "parquet", ratings=bad)))[("ben", "mug")][2] == 1714557600


def test_rows_of_the_wrong_width_undecodable_bytes_and_split_clashes(tmp_path: Path) -> None:
    mapping = shop(tmp_path, "csv")
    ratings = tmp_path / "ratings.csv"
    lines = ratings.read_bytes().splitlines()
    lines[3] = b"ana,lamp"                                     # line 4: two fields
    lines[7] = b"cy,l\xffmp,4,120,train"                       # line 8: not UTF-8
    lines.append(b"ana,mug,4,200,test")                        # line 11: (ana, mug) is in train already
    ratings.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(BadInputError, match=r"ratings.csv, line 4: expected 5 fields"):
        read(mapping)
    records = read(mapping, skip_bad_lines=True)
    assert [(s.line, s.reason.split(" (")[0]) for s in records.skipped] == [
        (4, "expected 5 fields, found another number: 'ana,lamp'"),
        (8, "'l\ufffdmp' is not valid UTF-8"),
        (11, "user 'ana' and item 'mug' are already in the train split"),
    ]
    assert pairs(records)[("ana", "mug")][0] == "train"


def test_empty_ids_and_unknown_splits_are_bad_rows(tmp_path: Path) -> None:
    bad = {**RATINGS, "user": [*RATINGS["user"][:-1], ""], "split": [*RATINGS["split"][:-2], "holdout", "train"]}
    records = read(shop(tmp_path, "tsv", ratings=bad), skip_bad_lines=True)
    assert [(s.line, s.reason) for s in records.skipped] == [
        (9, "'holdout' is not train, valid or test (mapping.toml [interactions] split)"),
        (10, "is empty (mapping.toml [interactions] user)")]


def test_a_mapping_file_is_recognised_and_a_folder_is_not_one(tmp_path: Path) -> None:
    mapping = shop(tmp_path, "csv")
    assert sources.detect(mapping) == "table"
    with pytest.raises(BadInputError, match="is a folder: give the mapping file"):
        read(tmp_path)
