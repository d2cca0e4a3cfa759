"""``kgrec export``: every format reads back through kgrec's own ingest sources to the same counts.

The round trips run on a real Neo4j (ingest a fixture, export it, ingest the export under a second
name, compare ``dataset_stats``); the refusals and the atomic folder are checked on rows held in
memory, without a server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from list_rows import ListRows

from ingest import registry as sources
from ingest.records import DatasetRecords
from kg_store.datasets import dataset_stats, drop_dataset
from kg_store.errors import ConfigError, UnknownDatasetError
from kg_store.formats import DatasetRows, FileFormat, Interaction, LayoutError, Node, Pair, Triple, get_format
from kg_store.formats.folder import write_atomically
from kg_store.formats.graph_rows import GraphRows
from kg_store.formats.registry import create, names
from kgrec import api
from kgrec.cli import CliState, KgrecGroup
from kgrec.cli.export import export
from kgrec.export_api import export_files

FIXTURES = Path(__file__).parent / "fixtures"
INTEREST_KEYS = ("interest_edges", "Interest")


# -- helpers -------------------------------------------------------------------------------------
@pytest.fixture()
def copy_name(store, dataset_name: str) -> Iterator[str]:
    """A second dataset name for the re-ingested export, dropped afterwards."""
    name = f"{dataset_name}_copy"
    try:
        yield name
    finally:
        try:
            drop_dataset(store, name)
        except UnknownDatasetError:
            pass


def counts(store, dataset: str) -> dict:
    """What a round trip must keep: nodes per label, interactions per split, KG, interests, links."""
    stats = dataset_stats(store, dataset)
    return {**{label: n for label, n in stats.nodes.items() if n}, "interactions": stats.interactions,
            "kg_triples": stats.kg_triples, "kg_relations": stats.kg_relations,
            "interest_edges": stats.interest_edges, "LINKED_TO": stats.relationships.get("LINKED_TO", 0)}


def without_interests(numbers: dict) -> dict:
    return {key: value for key, value in numbers.items() if key not in INTEREST_KEYS}


def round_trip(store, source: str, fixture: Path, fmt: str, reader: str, first: str, second: str,
               out: Path) -> tuple[dict, dict, list[Path]]:
    api.ingest(store, source, fixture, first, progress=False)
    paths = export_files(store, first, fmt, out)
    api.ingest(store, reader, out, second, progress=False)
    return counts(store, first), counts(store, second), paths


# -- round trips on Neo4j ------------------------------------------------------------------------
def test_cikg_round_trip_keeps_every_count(store, dataset_name, copy_name, cikg_folder, tmp_path) -> None:
    before, after, paths = round_trip(store, "cikg", cikg_folder, "cikg", "cikg", dataset_name, copy_name,
                                      tmp_path / "out")
    assert after == before
    assert before["interest_edges"] > 0 and before["LINKED_TO"] == 10 and before["kg_relations"] == 3
    assert {p.name for p in paths} == {"user_list.txt", "item_list.txt", "train.txt", "test.txt", "kg_final.txt",
                                       "relation_list.txt", "entity_list.txt", "user_interest_clustered.txt"}
    assert all(p.parent == tmp_path / "out" and p.is_file() for p in paths)
    relation_list = (tmp_path / "out" / "relation_list.txt").read_text().splitlines()
    assert relation_list[1] == "http://dbpedia.org/ontology/author 0"  # original ids and URIs


def test_cikg_round_trip_keeps_ids_and_names(store, dataset_name, copy_name, cikg_folder, tmp_path) -> None:
    round_trip(store, "cikg", cikg_folder, "cikg", "cikg", dataset_name, copy_name, tmp_path / "out")
    original, copy = GraphRows(store, dataset_name), GraphRows(store, copy_name)
    assert list(copy.items()) == list(original.items())
    assert list(copy.entities()) == list(original.entities())
    assert sorted(copy.triples()) == sorted(original.triples())
    assert copy.relation_types == original.relation_types


def test_kgat_round_trip_keeps_everything_but_interests(store, dataset_name, copy_name, cikg_folder,
                                                        tmp_path) -> None:
    before, after, paths = round_trip(store, "cikg", cikg_folder, "kgat", "kgat", dataset_name, copy_name,
                                      tmp_path / "out")
    assert without_interests(after) == without_interests(before)
    assert after["interest_edges"] == 0 and "user_interest_clustered.txt" not in {p.name for p in paths}
    assert (tmp_path / "out" / "entity_list.txt").read_text().splitlines()[0] == "org_id remap_id"


def test_recbole_round_trip_of_cikg(store, dataset_name, copy_name, cikg_folder, tmp_path) -> None:
    before, after, paths = round_trip(store, "cikg", cikg_folder, "recbole", "recbole", dataset_name, copy_name,
                                      tmp_path / dataset_name)
    # the fixture stores no validation: valid.inter holds the pairs kgrec's trainer carves from train
    carved = after["interactions"].pop("valid")
    after["interactions"]["train"] += carved
    assert 0 < carved < before["interactions"]["train"]
    assert without_interests(after) == without_interests(before)  # RecBole has no interest file
    assert {p.name for p in paths} == {f"{dataset_name}.{suffix}" for suffix in
                                       ("user", "item", "inter", "train.inter", "valid.inter", "test.inter",
                                        "kg", "link")}
    kg_header = (tmp_path / dataset_name / f"{dataset_name}.kg").read_text().splitlines()[0]
    assert kg_header == "head_id:token\trelation_id:token\ttail_id:token"
    assert GraphRows(store, copy_name).relation_types == GraphRows(store, dataset_name).relation_types


def test_recbole_round_trip_keeps_ratings_and_timestamps(store, dataset_name, copy_name, tmp_path) -> None:
    before, after, _ = round_trip(store, "movielens", FIXTURES / "ml100k_synthetic", "recbole", "recbole",
                                  dataset_name, copy_name, tmp_path / dataset_name)
    assert after == before
    inter = (tmp_path / dataset_name / f"{dataset_name}.inter").read_text().splitlines()
    assert inter[0] == "user_id:token\titem_id:token\trating:float\ttimestamp:float"
    original, copy = GraphRows(store, dataset_name), GraphRows(store, copy_name)
    # the reader keeps each token (= original graph id) as org_id
    users = {user.id: int(user.props["org_id"]) for user in copy.users()}
    items = {item.id: int(item.props["org_id"]) for item in copy.items()}
    expected = {(e.user, e.item): (e.split, e.rating, e.ts) for e in original.interactions()}
    found = {(users[e.user], items[e.item]): (e.split, e.rating, e.ts) for e in copy.interactions()}
    assert found == expected and all(rating is not None and ts is not None for _, rating, ts in found.values())
    titles = {item.id: item.props.get("title") for item in original.items()}
    assert {items[item.id]: item.props.get("title") for item in copy.items()} == titles


def test_pykeen_triples_load_with_the_graphs_counts(store, dataset_name, cikg_folder, tmp_path) -> None:
    from pykeen.triples import TriplesFactory

    api.ingest(store, "cikg", cikg_folder, dataset_name, progress=False)
    paths = export_files(store, dataset_name, "pykeen", tmp_path / "out")
    stats = dataset_stats(store, dataset_name)
    factory = TriplesFactory.from_path(tmp_path / "out" / "triples.tsv")
    assert factory.num_triples == stats.kg_triples and factory.num_relations == stats.kg_relations
    assert {p.name for p in paths} == {"triples.tsv", "interactions.tsv", "test_interactions.tsv"}
    both = TriplesFactory.from_path(tmp_path / "out" / "interactions.tsv")
    assert both.num_triples == stats.interactions["train"] + stats.relationships["LINKED_TO"]


def test_cli_exports_and_reports_json(store, dataset_name, cikg_folder, tmp_path) -> None:
    api.ingest(store, "cikg", cikg_folder, dataset_name, progress=False)

    @click.group(cls=KgrecGroup, context_settings={"obj": CliState.with_store(store)})
    def main() -> None:
        """A stand-in for kgrec.cli.main."""

    main.add_command(export)
    runner = CliRunner()
    out = tmp_path / "kgat"
    result = runner.invoke(main, ["export", "--dataset", dataset_name, "--format", "kgat", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "kgat" and all(Path(p).is_file() for p in report["files"])
    again = runner.invoke(main, ["export", "--dataset", dataset_name, "--format", "kgat", str(out)])
    assert again.exit_code == 1 and "is not empty" in again.output
    unknown = runner.invoke(main, ["export", "--dataset", "no_such_set", "--format", "cikg", str(tmp_path / "x")])
    assert unknown.exit_code == 1 and "is not in the graph" in unknown.output
    assert not (tmp_path / "x").exists()


# -- formats on rows in memory -------------------------------------------------------------------
class MemoryRows(ListRows):
    """Rows given as lists, for checks that need no server."""

    def __init__(self, dataset: str = "mem", relations: tuple[list[str], list[str]] | None = None, **kinds: list):
        fields = {kind: frozenset(k for node in kinds.get(kind, []) for k in node.props)
                  for kind in ("users", "items")}
        fields["interactions"] = frozenset(
            name for e in kinds.get("interactions", []) for name, v in (("rating", e.rating), ("ts", e.ts)) if v)
        super().__init__(kinds, dataset, relations or (["http://x/ontology/author"], ["AUTHOR"]), fields)


def small_rows(**overrides: list) -> MemoryRows:
    kinds = dict(
        users=[Node(0, {}), Node(1, {"org_id": "u one"})],
        items=[Node(0, {"title": "A Title"}), Node(1, {})],
        entities=[Node(0, {"uri": "http://x/A"}), Node(1, {}), Node(2, {"org_id": "e\t2"})],
        interactions=[Interaction(0, 0, "train"), Interaction(0, 1, "valid"), Interaction(1, 1, "test")],
        triples=[Triple(0, "AUTHOR", 2), Triple(1, "GENRE", 2)],
        item_entities=[Pair(0, 0), Pair(1, 1)],
    )
    return MemoryRows(**{**kinds, **overrides})


def test_cikg_puts_valid_edges_in_train_and_appends_unlisted_relations(tmp_path) -> None:
    get_format("cikg").write(small_rows(), tmp_path)
    assert (tmp_path / "train.txt").read_text() == "0 0 1\n"
    assert (tmp_path / "test.txt").read_text() == "1 1\n"
    assert (tmp_path / "kg_final.txt").read_text() == "0 0 2\n1 1 2\n"
    assert (tmp_path / "relation_list.txt").read_text() == "org_id remap_id\nhttp://x/ontology/author 0\nGENRE 1\n"
    assert (tmp_path / "item_list.txt").read_text() == "org_id remap_id item_name\n0 0 A Title\n1 1 None\n"
    assert (tmp_path / "entity_list.txt").read_text() == "org_id remap_id\nhttp://x/A 0\n1 1\ne 2 2\n"
    assert (tmp_path / "user_list.txt").read_text() == "org_id remap_id\n0 0\nu one 1\n"


def test_cikg_refuses_an_item_linked_to_another_entity(tmp_path) -> None:
    with pytest.raises(LayoutError, match=r"item 1 is linked to entity 2.*--format recbole"):
        get_format("cikg").write(small_rows(item_entities=[Pair(0, 0), Pair(1, 2)]), tmp_path)


def test_cikg_refuses_an_unlinked_item_that_shares_an_entity_id(tmp_path) -> None:
    with pytest.raises(LayoutError, match=r"item 1 has no entity.*recbole"):
        get_format("kgat").write(small_rows(item_entities=[Pair(0, 0)]), tmp_path)


def test_recbole_writes_every_split_file_and_the_graphs_links(tmp_path) -> None:
    rows = small_rows(interactions=[Interaction(0, 0, "train", 4, 100), Interaction(1, 1, "test", 3.5, None)],
                      item_entities=[Pair(0, 2)])
    get_format("recbole").write(rows, tmp_path)
    assert (tmp_path / "mem.inter").read_text() == (
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n0\t0\t4\t100\n1\t1\t3.5\t\n")
    assert (tmp_path / "mem.valid.inter").read_text().count("\n") == 1  # one train pair per user: none to carve
    # item 1 has no entity: RecBole keeps it only with a linked entity that .kg names
    assert (tmp_path / "mem.link").read_text() == "item_id:token\tentity_id:token\n0\t2\n1\tkgrec:item:1\n"
    assert (tmp_path / "mem.item").read_text() == "item_id:token\ttitle:token\n0\tA Title\n1\t\n"
    assert (tmp_path / "mem.kg").read_text().splitlines()[1:] == [
        "0\thttp://x/ontology/author\t2", "1\tGENRE\t2", "kgrec:item:1\tkgrec:self\tkgrec:item:1"]


def test_pykeen_labels_are_distinct_and_tsv_safe(tmp_path) -> None:
    rows = small_rows(entities=[Node(0, {"uri": "http://x/A"}), Node(1, {"org_id": "http://x/A"}),
                                Node(2, {"org_id": '"quoted'})])
    get_format("pykeen").write(rows, tmp_path)
    assert (tmp_path / "triples.tsv").read_text() == "http://x/A\tAUTHOR\tentity:2\nentity:1\tGENRE\tentity:2\n"


class _Failing(FileFormat):
    name = "failing"

    def write(self, dataset_rows: DatasetRows, out_dir: Path) -> list[Path]:
        (out_dir / "half.txt").write_text("half")
        raise LayoutError("stop half way")


def test_a_failed_export_leaves_nothing(tmp_path) -> None:
    out = tmp_path / "out"
    with pytest.raises(LayoutError):
        write_atomically(out, lambda folder: _Failing().write(small_rows(), folder))
    assert list(tmp_path.iterdir()) == []


def test_out_must_be_empty_or_absent(tmp_path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("old")
    with pytest.raises(ConfigError, match="is not empty"):
        write_atomically(tmp_path / "full", lambda folder: [])
    (tmp_path / "empty").mkdir()
    written = write_atomically(tmp_path / "empty", lambda folder: get_format("cikg").write(small_rows(), folder))
    assert {p.name for p in written} >= {"train.txt", "kg_final.txt"} and all(p.is_file() for p in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="cikg, kgat, pykeen, recbole"):
        get_format("csv")


def test_formats_import_nothing_above_kg_store() -> None:
    import subprocess
    import sys

    code = ("import sys, kg_store.formats.files; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ingest', 'recommender', 'kgrec', 'pykeen'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- every registered format, on the cikg_small fixture held in memory ----------------------------
CIKG_FILES = {"user_list.txt", "item_list.txt", "train.txt", "test.txt", "kg_final.txt", "relation_list.txt",
              "entity_list.txt"}
#: format -> (the files it writes for cikg_small, the source that reads them back; None: another tool's)
FORMAT_CASES: dict[str, tuple[set[str], str | None]] = {
    "cikg": (CIKG_FILES | {"user_interest_clustered.txt"}, "cikg"),
    "kgat": (CIKG_FILES, "kgat"),
    "recbole": ({f"cikg_small.{suffix}" for suffix in ("user", "item", "inter", "train.inter", "valid.inter",
                                                         "test.inter", "kg", "link")}, "recbole"),
    "pykeen": ({"triples.tsv", "interactions.tsv", "test_interactions.tsv"}, None),
}
KEPT_WITHOUT_INTERESTS = ("users", "items", "entities", "relations", "triples", "item_entities",
                          "interactions_train", "interactions_test")


def fixture_rows(records: DatasetRecords) -> MemoryRows:
    """A source's records as the row streams a format reads (what the graph would hold after ingest)."""
    types = records.relation_types
    return MemoryRows(
        records.name, (records.relations, types),
        users=[Node(i, props) for i, props in records.users], items=[Node(i, props) for i, props in records.items],
        entities=[Node(i, props) for i, props in records.entities],
        interactions=[Interaction(*row) for row in records.interactions],
        triples=[Triple(h, types[r], t) for h, r, t in records.triples],
        item_entities=[Pair(*pair) for pair in records.item_entities],
        user_interests=[Pair(*pair) for pair in records.user_interests])


def test_every_registered_format_has_a_case() -> None:
    assert set(names()) == set(FORMAT_CASES)


@pytest.mark.parametrize("fmt", sorted(FORMAT_CASES))
def test_each_format_writes_cikg_small_and_reads_back(fmt: str, tmp_path) -> None:
    expected_files, reader = FORMAT_CASES[fmt]
    records = sources.create("cikg", FIXTURES / "cikg_small", "cikg_small").read()
    out = tmp_path / "cikg_small"
    written = write_atomically(out, lambda folder: create(fmt).write(fixture_rows(records), folder))
    assert {path.name for path in written} == expected_files == {path.name for path in out.iterdir()}
    if reader is None:
        lines = (out / "triples.tsv").read_text().splitlines()
        assert len(lines) == len(records.triples) and all(len(line.split("\t")) == 3 for line in lines)
        return
    again = sources.create(reader, out, "again").read().summary()
    if fmt == "recbole":  # cikg_small stores no validation: valid.inter holds the carved pairs, taken from train
        carved = again.pop("interactions_valid")
        assert 0 < carved < records.summary()["interactions_train"]
        again["interactions_train"] += carved
    kept = records.summary() if fmt == "cikg" else {k: records.summary()[k] for k in KEPT_WITHOUT_INTERESTS}
    assert {key: again.get(key, 0) for key in kept} == kept


def test_formats_are_created_from_a_name_a_class_or_an_instance() -> None:
    cls = type(create("kgat"))
    instance = cls()
    assert type(create(cls)) is cls and create(instance) is instance
    with pytest.raises(ConfigError, match="instance"):
        create(instance, extra=1)
