"""``kgrec ingest table`` into a real Neo4j: CSV, TSV and Parquet tables the tests write, string ids on
the nodes, a re-run that writes nothing, bad input that writes nothing, and a killed load resumed."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_table_source import MAPPING, pairs, read, shop, write_table

import kgrec
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info, dataset_stats, list_datasets
from kg_store.errors import BadInputError, ConfigError
from kgrec import api

SHOP_COUNTS = {"nodes": {"User": 3, "Item": 6, "Entity": 9}, "interactions": {"train": 4, "test": 2, "valid": 1},
               "kg_triples": 5, "linked_to": 4}


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    return store.read_with(lambda tx: tx.run(query, params).data())


def _counts(store: GraphStore, dataset: str) -> dict[str, Any]:
    stats = dataset_stats(store, dataset)
    return {"nodes": stats.nodes, "interactions": stats.interactions, "kg_triples": stats.kg_triples,
            "linked_to": stats.relationships.get("LINKED_TO", 0)}


def _ids(store: GraphStore, dataset: str) -> list[tuple[str, int, str]]:
    return [(row["label"], row["id"], row["org_id"]) for row in _rows(
        store, "MATCH (n {dataset: $d}) WHERE n:User OR n:Item OR n:Entity "
               "RETURN labels(n)[0] AS label, n.id AS id, n.org_id AS org_id ORDER BY label, id", d=dataset)]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_each_file_type_loads_with_its_string_ids_and_a_rerun_writes_nothing(
        store: GraphStore, dataset_name: str, tmp_path: Path, fmt: str) -> None:
    mapping = shop(tmp_path, fmt)
    first = api.ingest(store, "table", mapping, dataset_name, progress=False)
    assert _counts(store, dataset_name) == SHOP_COUNTS
    info = dataset_info(store, dataset_name)
    assert (info["source"], info["has_kg"], info["has_interests"]) == ("table", True, False)
    assert info["relation_types"] == ["CATEGORY", "IS_A", "MADE_OF"]
    ids = _ids(store, dataset_name)
    assert [(i, o) for label, i, o in ids if label == "User"] == [(0, "ana"), (1, "ben"), (2, "cy")]
    edge = _rows(store, "MATCH (:User {dataset: $d, org_id: 'cy'})-[r:INTERACTED]->(i:Item {org_id: 'desk'}) "
                        "RETURN r.split AS split, r.rating AS rating, r.ts AS ts, i.title AS title", d=dataset_name)
    assert edge == [{"split": "valid", "rating": 5.0, "ts": 220, "title": "Standing desk"}]
    linked = _rows(store, "MATCH (i:Item {dataset: $d, org_id: 'kettle'})-[:LINKED_TO]->(e)-[:MADE_OF]->(t) "
                          "RETURN i.description AS text, t.org_id AS tail", d=dataset_name)
    assert linked == [{"text": "Boils fast.", "tail": "steel"}]
    assert first.duplicates == {f"ratings.{fmt}": 1, f"kg.{fmt}": 1}

    second = api.ingest(store, "table", mapping, dataset_name, progress=False)
    assert (second.nodes_created, second.relationships_created) == (0, 0)
    assert _ids(store, dataset_name) == ids and _counts(store, dataset_name) == SHOP_COUNTS
    assert dataset_stats(store, dataset_name).version == 1


def test_a_drawn_split_is_stored_and_the_same_on_a_rerun(store: GraphStore, dataset_name: str, tmp_path: Path) -> None:
    ratings = {"user": ["u"] * 10, "item": [f"i{k}" for k in range(10)], "stars": [5.0] * 10,
               "ts": list(range(10)), "split": ["train"] * 10}
    mapping = shop(tmp_path, "parquet", MAPPING.replace('split = "split"\n', ""), ratings=ratings)
    report = kgrec.ingest("table", mapping, dataset=dataset_name, store=store, progress=False)
    assert report.relationships_created > 0
    tests = _rows(store, "MATCH (:User {dataset: $d})-[:INTERACTED {split: 'test'}]->(i) RETURN i.org_id AS item "
                         "ORDER BY item", d=dataset_name)
    assert [row["item"] for row in tests] == ["i8", "i9"]   # the latest 20 %
    again = kgrec.ingest("table", mapping, dataset=dataset_name, store=store, progress=False)
    assert (again.nodes_created, again.relationships_created) == (0, 0)
    assert dataset_stats(store, dataset_name).interactions == {"train": 8, "test": 2}


def test_the_cli_and_a_mapping_file_by_itself(store: GraphStore, dataset_name: str, tmp_path: Path,
                                               cli_env: dict) -> None:
    mapping = shop(tmp_path, "csv")
    named = mapping.rename(tmp_path / f"{dataset_name}.toml")   # its stem becomes the dataset's name
    done = subprocess.run([sys.executable, "-m", "kgrec.cli", "ingest", "table", str(named), "--dataset", dataset_name,
                           "--no-progress", "--json"], env=cli_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["relationships_created"] == 7 + 5 + 4
    folder = subprocess.run([sys.executable, "-m", "kgrec.cli", "ingest", "table", str(tmp_path), "--dataset",
                             dataset_name], env=cli_env, capture_output=True, text=True)
    assert folder.returncode == 2 and "is a directory" in folder.stderr
    again = kgrec.ingest(named, store=store, progress=False)   # the .toml file alone: source and name from it
    assert (again.dataset, again.nodes_created, again.relationships_created) == (dataset_name, 0, 0)


@pytest.mark.parametrize(("edit", "error", "message"), [
    (lambda m: m.replace('item = "item"', 'itm = "item"'), ConfigError, r"\[interactions\] has no key 'itm'"),
    (lambda m: m.replace('head = "h"', 'head = "subject"'), BadInputError,
     r"kg.csv: no column 'subject' \(named by mapping.toml \[triples\] head\)"),
    (lambda m: m.replace('timestamp = "ts"', 'timestamp = "item"'), BadInputError,
     r"ratings.csv, line 2: field 'item': 'kettle' is not a timestamp .* \(mapping.toml \[interactions\] timestamp\)"),
])
def test_bad_input_writes_nothing(store: GraphStore, dataset_name: str, tmp_path: Path, edit: Any,
                                  error: type[Exception], message: str) -> None:
    mapping = shop(tmp_path, "csv")
    mapping.write_text(edit(mapping.read_text()))
    with pytest.raises(error, match=message):
        api.ingest(store, "table", mapping, dataset_name, progress=False)
    assert dataset_name not in {row["name"] for row in list_datasets(store)}
    assert _rows(store, "MATCH (n {dataset: $d}) RETURN count(n) AS n", d=dataset_name) == [{"n": 0}]


# -- a load killed midway is finished by running it again -----------------------------------------
def _large_shop(folder: Path, users: int = 5000, per_user: int = 33, items: int = 3000) -> tuple[Path, int]:
    """33 rows per user, so that a batch of 2,000 rows ends inside some user's rows."""
    rng = random.Random(5)
    chosen = [(f"user-{u}", f"sku-{i}") for u in range(users) for i in rng.sample(range(items), per_user)]
    folder.mkdir()
    write_table(folder / "ratings.parquet", {"user": [u for u, _ in chosen], "item": [i for _, i in chosen]})
    (folder / "mapping.toml").write_text('[interactions]\nfile = "ratings.parquet"\nuser = "user"\nitem = "item"\n')
    return folder / "mapping.toml", len(chosen)


def _interactions(store: GraphStore, dataset: str) -> int:
    return _rows(store, "MATCH (:User {dataset: $d})-[e:INTERACTED]->() RETURN count(e) AS n", d=dataset)[0]["n"]


def test_a_load_killed_midway_is_completed_by_a_rerun(store: GraphStore, dataset_name: str, tmp_path: Path,
                                                      cli_env: dict) -> None:
    mapping, total = _large_shop(tmp_path / "large")
    command = [sys.executable, "-m", "kgrec.cli", "ingest", "table", str(mapping), "--dataset", dataset_name,
               "--batch-size", "2000", "--no-progress"]
    process = subprocess.Popen(command, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and _interactions(store, dataset_name) == 0:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = _interactions(store, dataset_name)
    assert 0 < partial < total
    assert dataset_info(store, dataset_name)["status"] == "loading"
    ids = _ids(store, dataset_name)
    done = subprocess.run(command, env=cli_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _interactions(store, dataset_name) == total
    assert dataset_info(store, dataset_name)["status"] == "complete"
    assert set(ids) <= set(_ids(store, dataset_name))   # the rerun numbered every id as the first run did
    drawn = {pair: split for pair, (split, _, _) in pairs(read(mapping)).items()}
    stored = _rows(store, "MATCH (u:User {dataset: $d})-[r:INTERACTED]->(i) RETURN u.org_id AS u, i.org_id AS i, "
                          "r.split AS split", d=dataset_name)
    assert {(row["u"], row["i"]): row["split"] for row in stored} == drawn   # the splits of a load never killed
