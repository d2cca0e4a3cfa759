"""Export round trip against a real Neo4j, the version-keyed cache, and the write-back."""

from __future__ import annotations

from datetime import UTC

import numpy as np

from ingest import read_cikg
from kg_store.export import export_dataset
from kg_store.writeback import read_recommendations, save_training_run, write_recommendations
from kgrec import api


def test_export_round_trip_equals_the_files(store, dataset_name, cikg_folder, tmp_path) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    records = read_cikg(cikg_folder, dataset_name)
    export = export_dataset(store, dataset_name, cache_dir=tmp_path)
    assert export.stats["cached"] is False
    assert export.user_ids.tolist() == [u for u, _ in records.users]
    assert export.item_ids.tolist() == [i for i, _ in records.items]
    pairs = {(int(export.user_ids[u]), int(export.item_ids[i]), int(s))
             for (u, i), s in zip(export.interactions, export.interaction_split, strict=True)}
    codes = {"train": 0, "test": 2}
    assert pairs == {(u, i, codes[s]) for u, i, s, _, _ in records.interactions}
    triples = {(int(export.entity_ids[h]), export.relation_types[r], int(export.entity_ids[t]))
               for h, r, t in export.triples}
    assert triples == {(h, records.relation_types[r], t) for h, r, t in records.triples}
    assert export.relation_types == records.relation_types  # relation ids survive the round trip
    interests = {(int(export.user_ids[u]), int(export.interest_ids[j])) for u, j in export.user_interests}
    assert interests == set(records.user_interests)
    assert {(int(export.item_ids[i]), int(export.entity_ids[e])) for i, e in export.item_entities} == \
        set(records.item_entities)


def test_cache_hit_and_invalidation(store, dataset_name, cikg_copy, tmp_path) -> None:
    api.ingest_cikg(store, cikg_copy, dataset_name, progress=False)
    first = export_dataset(store, dataset_name, cache_dir=tmp_path)
    second = export_dataset(store, dataset_name, cache_dir=tmp_path)
    assert second.stats["cached"] is True
    assert np.array_equal(first.interactions, second.interactions)
    api.ingest_cikg(store, cikg_copy, dataset_name, progress=False)  # unchanged graph: still cached
    assert export_dataset(store, dataset_name, cache_dir=tmp_path).stats["cached"] is True
    with (cikg_copy / "train.txt").open("a") as handle:
        handle.write("11 9 8\n")
    api.ingest_cikg(store, cikg_copy, dataset_name, progress=False)  # changed graph: new version
    third = export_dataset(store, dataset_name, cache_dir=tmp_path)
    assert third.stats["cached"] is False
    assert len(third.interactions) >= len(first.interactions) + 1


def test_write_back_replaces_previous_edges(store, dataset_name, cikg_folder) -> None:
    from datetime import datetime

    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    users, items = np.arange(12), np.arange(10)
    top = np.array([[0, 1, 2]] * 12)
    scores = np.array([[3.0, 2.0, 1.0]] * 12)
    write_recommendations(store, dataset_name, "lightgcn", "run-a", users, items, top, scores, progress=False)
    write_recommendations(store, dataset_name, "bprmf", "run-b", users, items, top, scores, progress=False)
    write_recommendations(store, dataset_name, "lightgcn", "run-c", users, items, top[:, ::-1], scores,
                          progress=False)
    rows = read_recommendations(store, dataset_name, 4, model="lightgcn")
    assert [(r["rank"], r["item"], r["run_id"]) for r in rows] == [(1, 2, "run-c"), (2, 1, "run-c"), (3, 0, "run-c")]
    assert len(read_recommendations(store, dataset_name, 4)) == 6  # bprmf's edges are untouched
    save_training_run(store, dataset_name, "lightgcn", "run-c", {"lr": 0.1}, {"recall@50": 0.5},
                      datetime.now(UTC))
    run = store.read_with(lambda tx: tx.run(
        "MATCH (r:TrainingRun {run_id: 'run-c'})-[:TRAINED_ON]->(d:Dataset) RETURN r.metrics AS m, d.name AS d").single())
    assert run["d"] == dataset_name and '"recall@50": 0.5' in run["m"]
    store.write_with(lambda tx: tx.run("MATCH (r:TrainingRun {run_id: 'run-c'}) DETACH DELETE r").consume())


def test_recbole_valid_inter_is_the_validation_kgrecs_trainer_carves(store, dataset_name, cikg_folder,
                                                                      tmp_path) -> None:
    """RecBole's early stopping watches the pairs kgrec's does: the graph's stream, carved by the writer,
    against the training export's arrays, carved by the trainer."""
    from kgrec.export_api import export_files
    from recommender.config import TrainConfig
    from recommender.data import from_export

    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    export_files(store, dataset_name, "recbole", tmp_path / dataset_name)
    lines = (tmp_path / dataset_name / f"{dataset_name}.valid.inter").read_text().splitlines()[1:]
    written = {tuple(int(x) for x in line.split("\t")[:2]) for line in lines}
    export = export_dataset(store, dataset_name, cache_dir=tmp_path / "cache")
    data = from_export(export, valid_ratio=TrainConfig.valid_ratio, seed=TrainConfig.seed)
    assert written == {(int(export.user_ids[u]), int(export.item_ids[i])) for u, i in data.valid}
    assert len(written) == len(lines) == len(data.valid) > 0
