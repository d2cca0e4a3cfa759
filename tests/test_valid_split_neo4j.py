"""A validation split drawn once, stored on the graph, and kept out of interest-prompt histories."""

from __future__ import annotations

import click
from click.testing import CliRunner

from kg_store.datasets import dataset_info, dataset_stats
from kg_store.export import export_dataset
from kg_store.graph_export import SPLIT_CODES
from kg_store.histories import train_histories
from kg_store.splits import draw_valid_pairs, store_valid_split
from kgrec import api
from kgrec.cli import CliState, KgrecGroup
from kgrec.cli import split as cli_split
from recommender.data import from_export


def split_edges(store, dataset: str) -> dict[str, set[tuple[int, int]]]:
    export = export_dataset(store, dataset, use_cache=False)
    found: dict[str, set[tuple[int, int]]] = {name: set() for name in SPLIT_CODES}
    codes = {code: name for name, code in SPLIT_CODES.items()}
    for (u, i), code in zip(export.interactions, export.interaction_split, strict=True):
        found[codes[int(code)]].add((int(export.user_ids[u]), int(export.item_ids[i])))
    return found


def test_draw_is_seeded_and_keeps_a_train_item() -> None:
    pairs = [(u, i) for u in range(5) for i in range(u + 1)] + [(9, 3), (9, 1)]
    chosen = draw_valid_pairs(pairs, 1 / 8, 2024)
    assert chosen == draw_valid_pairs(list(reversed(pairs)), 1 / 8, 2024)
    assert {u for u, _ in chosen} == {1, 2, 3, 4, 9}   # user 0 has a single train item
    assert all(sum(1 for v, _ in chosen if v == u) == 1 for u in (1, 2, 3, 4, 9))


def test_valid_split_is_stored_once_and_used(store, dataset_name, cikg_folder, tmp_path) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    before = split_edges(store, dataset_name)
    version = dataset_info(store, dataset_name)["version"]

    @click.group(cls=KgrecGroup, context_settings={"obj": CliState.with_store(store)})
    def main() -> None: ...

    main.add_command(cli_split.split)
    result = CliRunner().invoke(main, ["split", "valid", "--dataset", dataset_name])
    assert result.exit_code == 0, result.output
    after = split_edges(store, dataset_name)
    assert after["valid"] and after["valid"] | after["train"] == before["train"] and after["test"] == before["test"]
    assert dataset_info(store, dataset_name)["version"] == version + 1

    again = store_valid_split(store, dataset_name, seed=7)  # idempotent: left alone
    assert not again.drawn and split_edges(store, dataset_name) == after
    forced = store_valid_split(store, dataset_name, seed=7, force=True)
    assert forced.drawn and dataset_stats(store, dataset_name).interactions["valid"] == forced.valid_edges
    assert split_edges(store, dataset_name)["valid"] | split_edges(store, dataset_name)["train"] == before["train"]

    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)  # re-loading keeps the stored split
    stored = split_edges(store, dataset_name)
    export = export_dataset(store, dataset_name, cache_dir=tmp_path)
    data = from_export(export)
    valid = {(int(export.user_ids[u]), int(export.item_ids[i])) for u, i in data.valid}
    assert valid == stored["valid"]  # the stored split, not one carved at training time

    histories = train_histories(store, dataset_name, max_items=50)
    shown = {(user, item) for user, history in histories.items() for item, _ in history}
    assert shown == stored["train"]
    assert not shown & (stored["valid"] | stored["test"])
    assert all(len(h) <= 1 for h in train_histories(store, dataset_name, max_items=1).values())
