"""Relationship types from data: normalised, then allowed only when safe."""

from __future__ import annotations

import pytest

from kg_store.errors import UnsafeNameError
from kg_store.graph_model import (
    RelationAllowList,
    check_relation_type,
    relation_type_name,
    relation_types_for,
)


@pytest.mark.parametrize(
    ("relation", "expected"),
    [
        ("http://dbpedia.org/ontology/wikiPageWikiLink", "WIKI_PAGE_WIKI_LINK"),
        ("http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "TYPE"),
        ("http://www.w3.org/2000/01/rdf-schema#seeAlso", "SEE_ALSO"),
        ("http://purl.org/linguistics/gold/hypernym", "HYPERNYM"),
        ("film.film.directed_by", "FILM_FILM_DIRECTED_BY"),
        ("http://x.org/2ndEdition", "R_2ND_EDITION"),
        ("http://evil/a]->(b) DETACH DELETE b //", "A_B_DETACH_DELETE_B"),
    ],
)
def test_relation_type_name(relation: str, expected: str) -> None:
    assert relation_type_name(relation) == expected


@pytest.mark.parametrize("name", ["A`B", "lower", "HAS SPACE", "", "X" * 101, "INTERACTED", "HAS_INTEREST"])
def test_unsafe_or_reserved_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        check_relation_type(name)


def test_clashing_relations_get_distinct_names() -> None:
    names = relation_types_for(["http://dbpedia.org/ontology/language", "http://dbpedia.org/property/language"])
    assert names == ["LANGUAGE", "LANGUAGE_1"]


def test_allow_list_accepts_only_its_own_types() -> None:
    allow = RelationAllowList(["AUTHOR", "GENRE"])
    assert allow.check("GENRE") == "GENRE"
    with pytest.raises(UnsafeNameError):
        allow.check("TYPE")


@pytest.mark.parametrize("name", ["../x", "a/b", "", "x" * 65, "..", ".hidden", "a b", "a..b"])
def test_unsafe_dataset_names_are_refused_at_every_boundary(name: str, tmp_path) -> None:
    from ingest.cikg import CikgSource
    from kg_store.errors import InvalidDatasetNameError
    from kg_store.export import cache_path
    from kg_store.graph_model import check_dataset_name

    with pytest.raises(InvalidDatasetNameError):
        check_dataset_name(name)
    with pytest.raises(InvalidDatasetNameError):
        CikgSource.from_options(tmp_path, name)

    class _Store:  # cache_path only reads the settings' uri and database
        class settings:
            uri, database = "bolt://x", "neo4j"

    with pytest.raises(InvalidDatasetNameError):
        cache_path(_Store(), name, "key", tmp_path)
