"""One battery for every registered ingest source, without a server: each reads its small fixture
into consistent records, is recognised from its files, and has its ``kgrec ingest`` command with
its own options; a meta test fails when a registered source has no case."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from ingest import registry as sources
from ingest.protocol import Source, SourceOutput
from ingest.reader import BadLinePolicy
from kg_store.errors import ConfigError
from kgrec.cli.ingest import ingest as ingest_group

FIXTURES = Path(__file__).parent / "fixtures"
COMMON_PARAMS = ["path", "bulk", "as_json", "progress", "skip_bad_lines", "workers", "batch_size", "dataset"]
WRITER_PARAMS = {"bulk", "skip_bad_lines", "workers", "batch_size"}   # not offered by a source that writes no records

#: source -> (its fixture folder, or mapping file for a source that reads a file, the source that path
#: is read as, has a KG, has interests)
SOURCE_CASES: dict[str, tuple[str, str, bool, bool]] = {
    "cikg": ("cikg_small", "cikg", True, True),
    "kgat": ("kgat_small", "cikg", True, False),       # same files as CIKG's: read as CIKG unless named
    "movielens": ("ml100k_synthetic", "movielens", False, False),
    "recbole": ("recbole_small", "recbole", True, False),
    "table": ("table_small/mapping.toml", "table", True, False),
}
#: sources that read a graph already in Neo4j rather than files: their cases need the server
#: (tests/test_linked_neo4j.py, tests/test_linked_mapping_neo4j.py)
GRAPH_SOURCES = ("neo4j",)


def test_every_registered_source_has_a_case() -> None:
    assert set(sources.names()) == set(SOURCE_CASES) | set(GRAPH_SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCE_CASES))
def test_each_source_reads_its_fixture_into_consistent_records(name: str) -> None:
    folder, _, has_kg, has_interests = SOURCE_CASES[name]
    records = sources.create(name, FIXTURES / folder, "battery").read()
    users, items = {u for u, _ in records.users}, {i for i, _ in records.items}
    assert records.source.startswith(name) and users and items and records.interactions
    assert all(u in users and i in items for u, i, *_ in records.interactions)
    assert {split for _, _, split, *_ in records.interactions} <= {"train", "valid", "test"}
    assert (records.has_kg, records.has_interests) == (has_kg, has_interests)
    entities = {e for e, _ in records.entities}
    assert all(h in entities and t in entities and 0 <= r < len(records.relations) for h, r, t in records.triples)
    assert all(u in users for u, _ in records.user_interests)


@pytest.mark.parametrize("name", sorted(SOURCE_CASES))
def test_each_fixture_folder_is_recognised_by_its_files(name: str) -> None:
    folder, read_as, *_ = SOURCE_CASES[name]
    assert sources.detect(FIXTURES / folder) == read_as


@pytest.mark.parametrize("name", sorted([*SOURCE_CASES, *GRAPH_SOURCES]))
def test_each_source_has_its_ingest_command_with_its_own_options(name: str) -> None:
    source, command = sources.get(name), ingest_group.commands[name]
    assert command.help == source.description
    common = COMMON_PARAMS if source.writes_records else [p for p in COMMON_PARAMS if p not in WRITER_PARAMS]
    assert [param.name for param in command.params] == common + [o.field for o in source.cli_options]
    defaults = {f.name: f.default for f in fields(source.config_class)}
    for option in source.cli_options:
        param = next(p for p in command.params if p.name == option.field)
        assert option.flag in param.opts and param.default == option.default == defaults[option.field]


def test_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="cikg, kgat, movielens, neo4j, recbole"):
        sources.get("csv")


class _OneUser(Source):
    """A layout of one file, ``one.txt``: enough to show a source registered from outside kgrec."""

    name = "one"

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        return (folder / "one.txt").is_file()

    def generate(self, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        yield "nothing to read"


def test_a_registered_class_is_found_by_name_and_by_its_files(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("")
    sources.register("one", _OneUser)
    try:
        assert "one" in sources.names() and sources.get("one") is _OneUser
        assert sources.detect(tmp_path) == "one"
        assert sources.create("one", tmp_path, "one").read().notes == ["nothing to read"]
        instance = _OneUser.from_options(tmp_path, "one")
        assert sources.create(instance) is instance
        with pytest.raises(ConfigError, match="instance"):
            sources.create(instance, tmp_path)
    finally:
        sources.SOURCES.unregister("one")
    assert "one" not in sources.names()
