"""Write-back on a real Neo4j: one TOP_K list per (user, run), the optional RECOMMENDED view, replacing
runs, re-running a run id, a crash part way through, lists of any length, clean-up with the dataset,
and the upgrade of a dataset written before lists."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest

import kg_store.writeback as writeback
from kg_store.datasets import dataset_stats, drop_dataset
from kg_store.errors import ConfigError
from kg_store.writeback import (
    lists_from_edges,
    read_recommendations,
    save_training_run,
    training_runs,
    write_recommendations,
)
from kgrec import api

USERS, ITEMS = np.arange(12), np.arange(10) + 100     # item ids differ from their indices on purpose


def _ingest(store, dataset_name, cikg_folder) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    # shift the item ids, so a list that stored indices instead of ids would show
    store.write_with(lambda tx: tx.run("MATCH (i:Item {dataset: $d}) SET i.id = i.id + 100", d=dataset_name).consume())


def _ranked(seed: int, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    top = np.stack([rng.choice(len(ITEMS), k, replace=False) for _ in USERS])
    return top, np.sort(rng.random(top.shape), axis=1)[:, ::-1]


def _lists(store, dataset: str, model: str | None = None) -> list[dict]:
    return store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d})-[t:TOP_K]->(r:TrainingRun) WHERE $m IS NULL OR r.model = $m "
        "RETURN u.id AS user, r.run_id AS run, r.model AS model, t.items AS items, t.scores AS scores "
        "ORDER BY user, run", d=dataset, m=model).data())


def _edges(store, dataset: str, model: str) -> list[tuple[int, int, int, str]]:
    return sorted((r["u"], r["rank"], r["i"], r["run"]) for r in store.read_with(lambda tx: tx.run(
        "MATCH (u:User {dataset: $d})-[r:RECOMMENDED {model: $m}]->(i:Item) "
        "RETURN u.id AS u, r.rank AS rank, i.id AS i, r.run_id AS run", d=dataset, m=model).data()))


def _expected(top: np.ndarray, run: str, users=USERS) -> list[tuple[int, int, int, str]]:
    return sorted((int(u), rank, int(ITEMS[i]), run) for u, row in zip(users, top, strict=True)
                  for rank, i in enumerate(row, 1))


def test_lists_hold_each_users_items_best_first_with_the_edge_view(store, dataset_name, cikg_folder) -> None:
    _ingest(store, dataset_name, cikg_folder)
    top, scores = _ranked(0)
    assert write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, top, scores,
                                 progress=False, batch_users=5) == top.size
    lists = _lists(store, dataset_name)
    assert [r["user"] for r in lists] == USERS.tolist() and {r["run"] for r in lists} == {"run-a"}
    for row, expected, expected_scores in zip(lists, top, scores, strict=True):
        assert row["items"] == ITEMS[expected].tolist()
        assert row["scores"] == pytest.approx(expected_scores.tolist())
    assert _edges(store, dataset_name, "lightgcn") == _expected(top, "run-a")   # auto: a small run gets edges
    rows = read_recommendations(store, dataset_name, 3, model="lightgcn")
    assert [(r["rank"], r["item"], r["model"], r["run_id"]) for r in rows] == \
        [(n, int(ITEMS[i]), "lightgcn", "run-a") for n, i in enumerate(top[3], 1)]
    assert [r["score"] for r in rows] == pytest.approx(scores[3].tolist())
    assert all("title" in r for r in rows)
    run = store.read_with(lambda tx: tx.run("MATCH (r:TrainingRun {run_id: 'run-a'})-[:TRAINED_ON]->(d:Dataset) "
                                            "RETURN r.model AS model, r.created IS NOT NULL AS created, d.name AS d")
                          .single().data())
    assert run == {"model": "lightgcn", "created": True, "d": dataset_name}


def test_rerunning_a_run_replaces_its_lists_without_duplicates(store, dataset_name, cikg_folder) -> None:
    _ingest(store, dataset_name, cikg_folder)
    first, scores = _ranked(1)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, first, scores, progress=False)
    second, _ = _ranked(2)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, second, scores, progress=False)
    lists = _lists(store, dataset_name)
    assert len(lists) == len(USERS)
    assert [r["items"] for r in lists] == ITEMS[second].tolist()
    assert _edges(store, dataset_name, "lightgcn") == _expected(second, "run-a")


def test_a_newer_run_deletes_the_older_runs_lists_of_its_model_only(store, dataset_name, cikg_folder) -> None:
    _ingest(store, dataset_name, cikg_folder)
    old, scores = _ranked(3)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, old, scores, progress=False)
    write_recommendations(store, dataset_name, "bprmf", "run-b", USERS, ITEMS, old, scores, progress=False)
    new, _ = _ranked(4)
    write_recommendations(store, dataset_name, "lightgcn", "run-c", USERS[:6], ITEMS, new[:6], scores[:6],
                          progress=False)
    lists = _lists(store, dataset_name, "lightgcn")
    assert [(r["user"], r["run"]) for r in lists] == [(u, "run-c") for u in range(6)]   # users 6..11: no list now
    assert {r["run"] for r in _lists(store, dataset_name, "bprmf")} == {"run-b"}
    assert len(_lists(store, dataset_name, "bprmf")) == len(USERS)
    assert _edges(store, dataset_name, "lightgcn") == _expected(new[:6], "run-c", USERS[:6])
    assert len(read_recommendations(store, dataset_name, 8)) == old.shape[1]     # bprmf's only
    assert training_runs(store, dataset_name) == []           # no run finished yet: none listed with metrics
    save_training_run(store, dataset_name, "lightgcn", "run-c", {"lr": 0.1}, {"recall@50": 0.5}, datetime.now(UTC))
    assert len(_lists(store, dataset_name, "lightgcn")) == 6      # completing the run node keeps its lists
    assert [r["run_id"] for r in training_runs(store, dataset_name)] == ["run-c"]


def test_a_crash_part_way_leaves_every_user_one_whole_list(store, dataset_name, cikg_folder, monkeypatch) -> None:
    _ingest(store, dataset_name, cikg_folder)
    old, scores = _ranked(5)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, old, scores, progress=False)
    new, _ = _ranked(6, k=3)

    @contextlib.contextmanager
    def crash_after_first_batch(*args, **kwargs):
        def advance(n: int) -> None:
            raise RuntimeError("killed")
        yield advance

    with monkeypatch.context() as patch:
        patch.setattr(writeback, "stage", crash_after_first_batch)
        with pytest.raises(RuntimeError, match="killed"):
            write_recommendations(store, dataset_name, "lightgcn", "run-b", USERS, ITEMS, new, scores[:, :3],
                                  progress=False, batch_users=5)
    for user in USERS.tolist():
        rows = read_recommendations(store, dataset_name, user, model="lightgcn")
        written = user < 5                     # the first batch committed, the rest never ran
        ranked = new[user] if written else old[user]
        assert [(r["rank"], r["item"], r["run_id"]) for r in rows] == \
            [(n, int(ITEMS[i]), "run-b" if written else "run-a") for n, i in enumerate(ranked, 1)]
    # one list per user: the first batch's transaction replaced its users' lists as a whole
    assert [(r["user"], r["run"]) for r in _lists(store, dataset_name)] == \
        [(u, "run-b" if u < 5 else "run-a") for u in USERS.tolist()]
    # the run written again from the start completes and leaves one list per user
    write_recommendations(store, dataset_name, "lightgcn", "run-b", USERS, ITEMS, new, scores[:, :3], progress=False)
    assert [(r["user"], r["run"]) for r in _lists(store, dataset_name)] == [(u, "run-b") for u in USERS.tolist()]


def test_edges_auto_always_never(store, dataset_name, cikg_folder, monkeypatch, caplog) -> None:
    _ingest(store, dataset_name, cikg_folder)
    top, scores = _ranked(7)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, top, scores, progress=False,
                          edges="never")
    assert _edges(store, dataset_name, "lightgcn") == [] and len(_lists(store, dataset_name)) == len(USERS)
    monkeypatch.setattr(writeback, "EDGES_AUTO_MAX_ROWS", top.size - 1)
    write_recommendations(store, dataset_name, "lightgcn", "run-b", USERS, ITEMS, top, scores, progress=False,
                          edges="always")
    assert _edges(store, dataset_name, "lightgcn") == _expected(top, "run-b")
    with caplog.at_level(logging.WARNING, logger="kgrec.writeback"):
        write_recommendations(store, dataset_name, "lightgcn", "run-c", USERS, ITEMS, top, scores, progress=False)
    assert len(caplog.records) == 1 and "skipped the RECOMMENDED edges" in caplog.text and "always" in caplog.text
    assert _edges(store, dataset_name, "lightgcn") == []     # run-b's view went with run-b's lists
    assert {r["run"] for r in _lists(store, dataset_name)} == {"run-c"}
    monkeypatch.setattr(writeback, "EDGES_AUTO_MAX_ROWS", top.size)
    write_recommendations(store, dataset_name, "lightgcn", "run-d", USERS, ITEMS, top, scores, progress=False)
    assert _edges(store, dataset_name, "lightgcn") == _expected(top, "run-d")
    with pytest.raises(ConfigError, match="edges"):
        write_recommendations(store, dataset_name, "lightgcn", "run-e", USERS, ITEMS, top, scores, edges="some")


def test_lists_of_any_length(store, dataset_name, cikg_folder) -> None:
    _ingest(store, dataset_name, cikg_folder)
    lengths = [n % 4 for n in range(len(USERS))]             # 0, 1, 2, 3 items
    tops = [np.arange(n)[::-1] for n in lengths]
    scores = [np.linspace(1.0, 0.5, n) for n in lengths]
    assert write_recommendations(store, dataset_name, "din", "run-a", USERS, ITEMS, tops, scores, progress=False,
                                 batch_users=5) == sum(lengths)
    lists = _lists(store, dataset_name)
    assert [r["items"] for r in lists] == [ITEMS[t].tolist() for t in tops]
    assert _edges(store, dataset_name, "din") == _expected(tops, "run-a")
    assert [r["item"] for r in read_recommendations(store, dataset_name, 3)] == ITEMS[[2, 1, 0]].tolist()
    assert read_recommendations(store, dataset_name, 4) == []


def test_a_run_id_of_another_model_is_refused(store, dataset_name, cikg_folder) -> None:
    _ingest(store, dataset_name, cikg_folder)
    top, scores = _ranked(8)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, top, scores, progress=False)
    with pytest.raises(ConfigError, match="belongs to model 'lightgcn'"):
        write_recommendations(store, dataset_name, "bprmf", "run-a", USERS, ITEMS, top, scores, progress=False)


def test_dropping_the_dataset_removes_runs_and_lists(store, dataset_name, cikg_folder) -> None:
    _ingest(store, dataset_name, cikg_folder)
    top, scores = _ranked(9)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", USERS, ITEMS, top, scores, progress=False)
    # TOP_K is not counted as a KG relation
    assert dataset_stats(store, dataset_name).kg_triples == store.read_with(lambda tx: tx.run(
        "MATCH (e:Entity {dataset: $d})-[r]->(:Entity) RETURN count(r) AS n", d=dataset_name).single()["n"])
    drop_dataset(store, dataset_name)
    left = store.read_with(lambda tx: tx.run(
        "OPTIONAL MATCH ()-[t:TOP_K]->(r:TrainingRun {dataset: $d}) RETURN count(r) AS runs, count(t) AS lists",
        d=dataset_name).single().data())
    assert left == {"runs": 0, "lists": 0}


def test_a_dataset_written_before_lists_is_upgraded_from_its_edges(store, dataset_name, cikg_folder, cli_env) -> None:
    _ingest(store, dataset_name, cikg_folder)
    old, scores = _ranked(10)
    write_recommendations(store, dataset_name, "lightgcn", "run-old", USERS, ITEMS, old, scores, progress=False,
                          edges="always")
    save_training_run(store, dataset_name, "lightgcn", "run-old", {}, {}, datetime.now(UTC))
    store.write_with(lambda tx: tx.run(       # as the write-back before lists left it: edges, no lists
        "MATCH (r:TrainingRun {run_id: 'run-old'}) REMOVE r.created WITH r MATCH ()-[t:TOP_K]->(r) DELETE t").consume())
    assert read_recommendations(store, dataset_name, 1) == []
    result = subprocess.run([sys.executable, "-m", "kgrec.cli", "db", "lists-from-edges", "--dataset", dataset_name],
                            env=cli_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"run run-old (lightgcn): {len(USERS)} lists" in result.stdout
    assert lists_from_edges(store, dataset_name) == []        # again: nothing left to upgrade
    for user in (1, 7):
        rows = read_recommendations(store, dataset_name, user)
        assert [(r["rank"], r["item"], r["run_id"]) for r in rows] == \
            [(n, int(ITEMS[i]), "run-old") for n, i in enumerate(old[user], 1)]
        assert [r["score"] for r in rows] == pytest.approx(scores[user].tolist())
    new, _ = _ranked(11)                       # a later run replaces the upgraded lists as usual
    write_recommendations(store, dataset_name, "lightgcn", "run-new", USERS, ITEMS, new, scores, progress=False)
    assert {r["run"] for r in _lists(store, dataset_name)} == {"run-new"}
