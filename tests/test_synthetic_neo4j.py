"""The synthetic scale set: deterministic, DBbook2014's shape, and loaded by the ordinary CIKG
ingest; a first load CREATEs, a load resumed after a failure MERGEs without duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest import read_cikg, write_dataset
from ingest.synthetic import SyntheticConfig, write_synthetic
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_stats

SMALL = SyntheticConfig(interactions=3_000, seed=7)


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    write_synthetic(tmp_path / "a", SMALL)
    write_synthetic(tmp_path / "b", SMALL)
    write_synthetic(tmp_path / "c", SyntheticConfig(interactions=3_000, seed=8))
    assert _folder_bytes(tmp_path / "a") == _folder_bytes(tmp_path / "b")
    assert _folder_bytes(tmp_path / "a")["train.txt"] != _folder_bytes(tmp_path / "c")["train.txt"]


def test_counts_follow_dbbook2014_ratios_with_skewed_degrees(tmp_path: Path) -> None:
    made = write_synthetic(tmp_path / "s", SyntheticConfig(interactions=20_000, seed=1))
    assert made.interactions == 20_000
    assert made.users == round(5_576 * 20_000 / 65_961) and made.items == round(2_680 * 20_000 / 65_961)
    assert made.triples == round(134_223 * 20_000 / 65_961)
    assert 0.15 < made.test / made.interactions < 0.25
    records = read_cikg(made.folder, "synthetic")
    item_degree = np.bincount([item for _, item, *_ in records.interactions], minlength=made.items)
    user_degree = np.bincount([user for user, *_ in records.interactions], minlength=made.users)
    assert user_degree.min() >= 1
    # power law: the busiest item has many times the median's interactions
    assert item_degree.max() > 10 * np.median(item_degree)
    assert user_degree.max() > 10 * np.median(user_degree)


def test_ingest_reads_it_and_first_load_creates(store: GraphStore, dataset_name: str, tmp_path: Path) -> None:
    made = write_synthetic(tmp_path / "s", SMALL)
    records = read_cikg(made.folder, dataset_name)
    first = write_dataset(store, records, batch_size=500, progress=False)
    stats = dataset_stats(store, dataset_name)
    assert first.mode == "create"
    assert stats.nodes == {"User": made.users, "Item": made.items, "Entity": made.entities,
                           "Interest": made.interests}
    assert stats.interactions == {"train": made.train, "test": made.test}
    assert stats.kg_triples == made.triples and stats.interest_edges == made.user_interests
    again = write_dataset(store, records, batch_size=500, progress=False)
    assert again.mode == "merge" and again.nodes_created == 0 and again.relationships_created == 0


class _FailingStore(GraphStore):
    """A real store whose client gives up after ``batches`` write batches (a crashed load)."""

    def __init__(self, store: GraphStore, batches: int):
        super().__init__(store.settings)
        self.left = batches

    def write_batch(self, query_name: str, rows: list, **params):
        if self.left == 0:
            raise RuntimeError("load killed")
        self.left -= 1
        return super().write_batch(query_name, rows, **params)


def test_load_failed_in_create_mode_is_resumed_by_merge(store: GraphStore, dataset_name: str,
                                                        tmp_path: Path) -> None:
    made = write_synthetic(tmp_path / "s", SMALL)
    records = read_cikg(made.folder, dataset_name)
    with pytest.raises(RuntimeError):  # nodes and part of the interactions written, then the crash
        write_dataset(_FailingStore(store, 5), records, batch_size=400, progress=False)
    assert dataset_stats(store, dataset_name).status == "loading"
    resumed = write_dataset(store, records, batch_size=400, progress=False)
    stats = dataset_stats(store, dataset_name)
    assert resumed.mode == "merge" and stats.status == "complete"
    assert stats.interactions == {"train": made.train, "test": made.test}
    assert stats.kg_triples == made.triples and stats.interest_edges == made.user_interests
