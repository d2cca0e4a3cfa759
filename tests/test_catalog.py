"""The dataset catalog, dataset names, the lookup order and ``kgrec data list | path``. No Neo4j."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ingest import locate
from ingest.catalog import CATALOG, ArchiveMember, RemoteFile, get_entry, github_raw
from ingest.download import verify_folder
from ingest.locate import data_home, describe_locations, locate_dataset, shipped_data_dir, shipped_response_cache
from kg_store.errors import DatasetNotFoundError, InvalidDatasetNameError
from kg_store.graph_model import check_dataset_name

REPO_ROOT = Path(__file__).resolve().parent.parent


# -- names --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["ml-1m", "dbbook2014", "amazon_book.v2", "a", "x" * 64])
def test_dataset_names_accepted(name: str) -> None:
    assert check_dataset_name(name) == name


@pytest.mark.parametrize("name", ["../x", "a/b", "", "x" * 65, "..", "a..b", ".hidden", "-x", "a b",
                                  "a\\b", "ml-1m\n"])
def test_dataset_names_rejected(name: str) -> None:
    with pytest.raises(InvalidDatasetNameError):
        check_dataset_name(name)


def test_invalid_name_exit_code_is_2() -> None:
    assert InvalidDatasetNameError.exit_code == 2


# -- the catalog ----------------------------------------------------------------------------------------
def test_catalog_has_the_expected_entries() -> None:
    assert {name: e.layout for name, e in CATALOG.items()} == {
        "dbbook2014": "cikg", "book-crossing": "cikg", "ml1m": "cikg",
        "amazon-book": "kgat", "last-fm": "kgat", "yelp2018": "kgat",
        "ml-100k": "movielens", "ml-1m": "movielens",
    }
    for name in CATALOG:
        check_dataset_name(name)


def test_catalog_urls_are_https_and_github_ones_pinned_to_commits() -> None:
    for entry in CATALOG.values():
        for remote in entry.files:
            assert remote.url.startswith("https://")
            if "github" in remote.url:
                assert re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{7,40}/", remote.url)


def test_kgat_entries_unzip_the_kg() -> None:
    files = {f.path: f for f in get_entry("amazon-book").files}
    assert set(files) == {"train.txt", "test.txt", "entity_list.txt", "item_list.txt", "relation_list.txt",
                          "user_list.txt", "kg_final.txt.zip"}
    assert files["kg_final.txt.zip"].unzip and files["kg_final.txt.zip"].members == (ArchiveMember("kg_final.txt"),)


def test_movielens_entries_are_verified_releases() -> None:
    for name, size in (("ml-100k", 4924029), ("ml-1m", 5917549)):
        (archive,) = get_entry(name).files
        assert archive.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert archive.unzip and archive.verified and archive.size == size
        assert get_entry(name).archive_root == name
    assert "ratings.dat" in [m.path for m in get_entry("ml-1m").files[0].members]


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        get_entry("netflix")
    for name in CATALOG:
        assert name in str(caught.value)


def test_branch_urls_and_unsafe_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="commit"):
        github_raw("o", "r", "master", "data/x.txt")
    with pytest.raises(ValueError):
        RemoteFile("../x.txt", "https://example.org/x.txt", None)
    with pytest.raises(ValueError):
        RemoteFile("x.zip", "https://example.org/x.zip", None, unzip=True)  # a zip needs members


def test_shipped_dbbook2014_matches_the_catalog() -> None:
    entry = get_entry("dbbook2014")
    folder = shipped_data_dir() / "dbbook2014"
    assert entry.verified
    for remote in entry.files:
        data = (folder / remote.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == remote.sha256, remote.path
        assert len(data) == remote.size
    assert verify_folder(entry, folder) == folder


def test_shipped_files_live_in_the_kgrec_package() -> None:
    """Package data of ``kgrec``, so a wheel carries them; only dbbook2014's interest answers ship."""
    package = REPO_ROOT / "kgrec"
    assert shipped_data_dir() == package / "shipped" / "datasets"
    cache = shipped_response_cache("dbbook2014", "interests")
    assert cache == package / "shipped" / "llm_cache" / "dbbook2014-interests.jsonl"
    first = json.loads(cache.read_text().splitlines()[0])
    assert {"key", "model", "prompt"} <= first.keys()
    assert shipped_response_cache("ml-100k", "interests") is None
    assert shipped_response_cache("dbbook2014", "descriptions") is None
    with pytest.raises(ValueError):
        shipped_response_cache("dbbook2014", "../interests")
    with pytest.raises(InvalidDatasetNameError):
        shipped_response_cache("../dbbook2014", "interests")


# -- lookup order -------------------------------------------------------------------------------------------
@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An env data dir, an XDG data home and a fake shipped datasets folder, all empty."""
    dirs = {"env": tmp_path / "env", "xdg": tmp_path / "xdg", "shipped": tmp_path / "shipped" / "datasets"}
    for path in dirs.values():
        path.mkdir(parents=True)
    monkeypatch.setenv("KGREC_DATA_DIR", str(dirs["env"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(dirs["xdg"]))
    monkeypatch.setattr(locate, "shipped_root", lambda: tmp_path / "shipped")
    return dirs


def test_data_home_and_shipped_dir(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    assert data_home() == places["xdg"] / "kgrec" / "datasets"
    assert shipped_data_dir() == places["shipped"]
    monkeypatch.delenv("XDG_DATA_HOME")
    assert data_home() == Path.home() / ".local" / "share" / "kgrec" / "datasets"


def test_lookup_order(places: dict[str, Path], tmp_path: Path) -> None:
    name = "ml-100k"
    shipped = places["shipped"] / name
    fetched = places["xdg"] / "kgrec" / "datasets" / name
    env = places["env"] / name
    explicit = tmp_path / "mine"
    for folder in (shipped, fetched, env, explicit):
        folder.mkdir(parents=True)

    assert locate_dataset(name, explicit) == explicit
    assert locate_dataset(name) == env
    env.rmdir()
    assert locate_dataset(name) == fetched
    fetched.rmdir()
    assert locate_dataset(name) == shipped
    assert [p.label for p in describe_locations(name)] == ["KGREC_DATA_DIR", "data home", "shipped"]


def test_missing_explicit_path_is_an_error(places: dict[str, Path], tmp_path: Path) -> None:
    (places["shipped"] / "dbbook2014").mkdir()
    with pytest.raises(DatasetNotFoundError, match="not a folder"):
        locate_dataset("dbbook2014", tmp_path / "nowhere")


def test_not_found_lists_where_it_looked(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        locate_dataset("ml-1m")
    message = str(caught.value)
    assert str(places["env"] / "ml-1m") in message and str(places["shipped"] / "ml-1m") in message
    assert "kgrec data fetch ml-1m" in message
    with pytest.raises(DatasetNotFoundError) as caught:
        locate_dataset("my-own")
    assert "kgrec data fetch" not in str(caught.value) and "not in the catalog" in str(caught.value)
    monkeypatch.delenv("KGREC_DATA_DIR")
    assert [p.label for p in describe_locations("ml-1m")] == ["data home", "shipped"]


def test_lookup_checks_the_name(places: dict[str, Path]) -> None:
    with pytest.raises(InvalidDatasetNameError):
        locate_dataset("../etc")


def test_product_lookup_never_mentions_shared() -> None:
    for module in ("catalog.py", "download.py", "locate.py"):
        assert "shared" not in (REPO_ROOT / "ingest" / module).read_text().replace("shares", "")


# -- kgrec data list | path ---------------------------------------------------------------------------------
def _cli() -> click.Group:
    """kgrec's own main group, with its one-line errors and exit codes."""
    from kgrec.cli import main

    return main


def test_cli_list_and_path(places: dict[str, Path]) -> None:
    (places["shipped"] / "dbbook2014").mkdir()
    runner = CliRunner()
    rows = json.loads(runner.invoke(_cli(), ["data", "list", "--json"]).stdout)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == set(CATALOG)
    assert by_name["dbbook2014"]["found_in"] == "shipped" and by_name["ml-1m"]["location"] is None
    assert "no redistribution" in by_name["ml-1m"]["licence"]

    text = runner.invoke(_cli(), ["data", "list"]).stdout
    assert "absent" in text and "dbbook2014" in text

    result = runner.invoke(_cli(), ["data", "path", "dbbook2014"])
    assert result.exit_code == 0 and result.stdout.strip() == str(places["shipped"] / "dbbook2014")
    result = runner.invoke(_cli(), ["data", "path", "ml-1m"])
    assert result.exit_code == 2 and "kgrec data fetch ml-1m" in result.output
    result = runner.invoke(_cli(), ["data", "path", "../x"])
    assert result.exit_code == 2 and "not valid" in result.output
