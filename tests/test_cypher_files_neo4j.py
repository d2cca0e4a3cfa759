"""Every Cypher file parses and plans on the real Neo4j, and every name product code loads exists.

EXPLAIN plans without running, so nothing is written. Files whose first statement is a schema or
admin command (CREATE/DROP CONSTRAINT|INDEX, SHOW ...) or a ``CALL db.*`` procedure, which Neo4j
refuses to EXPLAIN, are not planned; a separate test pins exactly which files those are, so a new
file cannot slip out of the check unnoticed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg_store.cypher_files import load_query, split_statements

ROOT = Path(__file__).parent.parent
FILES = sorted((ROOT / "cypher").rglob("*.cypher"))
SCHEMA = re.compile(r"^(CREATE|DROP)\s+(VECTOR\s+|FULLTEXT\s+|RANGE\s+|TEXT\s+)?(CONSTRAINT|INDEX)\b|^SHOW\b"
                    r"|^CALL\s+db\.", re.IGNORECASE)
PRODUCT = ["kgrec", "kg_store", "ingest", "recommender", "knowledge"]
LITERAL = re.compile(r'load_query\(\s*"([^"]+)"')


def _first_statement(path: Path) -> str:
    return split_statements(path.read_text(encoding="utf-8"))[0]


ADMIN = [p for p in FILES if SCHEMA.match(_first_statement(p))]
PLANNED = [p for p in FILES if p not in ADMIN]
EXPECTED_ADMIN = {"schema.cypher", "knowledge/schema.cypher", "knowledge/wiki_schema.cypher",
                  "text/create_vector_index.cypher", "text/drop_vector_index.cypher", "store/await_indexes.cypher",
                  "text/vector_index.cypher", "text/nearest.cypher"}


def test_only_schema_and_admin_files_are_left_unplanned() -> None:
    assert {str(p.relative_to(ROOT / "cypher")) for p in ADMIN} == EXPECTED_ADMIN


@pytest.mark.parametrize("path", PLANNED, ids=lambda p: str(p.relative_to(ROOT / "cypher")))
def test_file_explains(store, path: Path) -> None:
    for stmt in split_statements(path.read_text(encoding="utf-8")):
        with store.session() as session:
            session.run("EXPLAIN " + stmt).consume()


def test_loaded_names_exist() -> None:
    names = {m for pkg in PRODUCT for f in (ROOT / pkg).rglob("*.py") for m in LITERAL.findall(f.read_text())}
    assert names
    for name in sorted(names):
        load_query(name)
