"""Interest sets side by side on a real Neo4j: authors' set from ingest, a clustered set beside it."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ingest import read_cikg
from kg_store.export import export_dataset
from kg_store.formats.files import export_files
from kg_store.interest_sets import (
    AUTHORS_SET,
    InvalidInterestSetError,
    check_interest_set_name,
    list_interest_sets,
    write_interest_set,
)
from kgrec import api
from kgrec.cli import CliState, KgrecGroup
from kgrec.cli import interests as cli_interests
from kgrec.training import train_and_write
from knowledge.interests.cluster import Cluster, Clustering

TOPICS = {"space": ["space opera", "space battles", "space travel"], "cooking": ["italian cooking", "vegan cooking",
                                                                                 "cooking pasta"]}


def phrases_file(tmp_path: Path) -> Path:
    """Users 0-5 like space, 6-11 cooking (the cikg_small users)."""
    path = tmp_path / "phrases.jsonl"
    path.write_text("".join(json.dumps({"user": u, "phrases": TOPICS["space" if u < 6 else "cooking"]}) + "\n"
                            for u in range(12)))
    return path


def cli(store) -> click.Group:
    @click.group(cls=KgrecGroup, context_settings={"obj": CliState.with_store(store)})
    def main() -> None: ...

    main.add_command(cli_interests.interests)
    return main


def edges(export) -> set[tuple[int, int]]:
    return {(int(export.user_ids[u]), int(export.interest_ids[j])) for u, j in export.user_interests}


def test_two_sets_side_by_side(store, dataset_name, cikg_folder, tmp_path) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    authors = set(read_cikg(cikg_folder, dataset_name).user_interests)
    result = CliRunner().invoke(cli(store), ["interests", "cluster", "--dataset", dataset_name, "--set", "llm",
                                             "--phrases", str(phrases_file(tmp_path)), "--method", "kmeans",
                                             "--k", "2", "--max-user-share", "0.9"])
    assert result.exit_code == 0, result.output
    sets = {s.set: s for s in list_interest_sets(store, dataset_name)}
    assert set(sets) == {AUTHORS_SET, "llm"}
    assert (sets["llm"].clusters, sets["llm"].users, sets["llm"].edges) == (2, 12, 12)
    assert sets[AUTHORS_SET].edges == len(authors)
    listed = CliRunner().invoke(cli(store), ["interests", "list", "--dataset", dataset_name])
    assert "authors" in listed.output and "llm" in listed.output

    assert edges(export_dataset(store, dataset_name, cache_dir=tmp_path)) == authors
    llm = export_dataset(store, dataset_name, cache_dir=tmp_path, interest_set="llm")
    by_user = dict(edges(llm))
    assert len(llm.interest_ids) == 2 and len({by_user[u] for u in range(6)}) == 1
    assert by_user[0] != by_user[6]

    out = tmp_path / "files"
    export_files(store, dataset_name, "cikg", out, interest_set="llm")
    lines = (out / "user_interest_clustered.txt").read_text().split()
    assert len(lines) == 24  # 12 users x (user, interest)


def test_replacing_a_set_leaves_the_other_untouched(store, dataset_name, cikg_folder, tmp_path) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    before = edges(export_dataset(store, dataset_name, use_cache=False))
    first = Clustering("manual", [Cluster(0, "a", 1, ["a"]), Cluster(1, "b", 1, ["b"])],
                       {0: {0: 0.5, 1: 0.5}, 1: {1: 1.0}, 999: {0: 1.0}})
    report = write_interest_set(store, dataset_name, "mine", first)
    assert (report["interests"], report["edges"], report["edges_skipped"]) == (2, 3, 1)
    write_interest_set(store, dataset_name, "mine", Clustering("manual", [Cluster(0, "c", 1, ["c"])], {2: {0: 1.0}}))
    sets = {s.set: s for s in list_interest_sets(store, dataset_name)}
    assert (sets["mine"].clusters, sets["mine"].users, sets["mine"].edges) == (1, 1, 1)
    assert edges(export_dataset(store, dataset_name, use_cache=False)) == before
    assert edges(export_dataset(store, dataset_name, use_cache=False, interest_set="mine")) == {(2, 0)}


def test_train_with_an_unknown_set_names_the_sets(store, dataset_name, cikg_folder) -> None:
    api.ingest_cikg(store, cikg_folder, dataset_name, progress=False)
    with pytest.raises(InvalidInterestSetError, match=r"no interest set 'nope' \(its sets: authors\)"):
        train_and_write(store, dataset_name, "cikgrec", interest_set="nope", write_back=False)


@pytest.mark.parametrize("name", ["", "../x", "a b", ".hidden", "x" * 65])
def test_unsafe_set_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInterestSetError):
        check_interest_set_name(name)
