"""Every Cypher file parses and plans on the real Neo4j, every name product code loads exists, and
product code keeps no Cypher in Python strings.

EXPLAIN plans without running, so nothing is written. Files whose first statement is a schema or
admin command (CREATE/DROP CONSTRAINT|INDEX, SHOW ...) or a ``CALL db.*`` procedure, which Neo4j
refuses to EXPLAIN, are not planned; a separate test pins exactly which files those are, so a new
file cannot slip out of the check unnoticed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg_store.cypher_files import load_query, split_statements

ROOT = Path(__file__).parent.parent
FILES = sorted((ROOT / "cypher").rglob("*.cypher"))
SCHEMA = re.compile(r"^(CREATE|DROP)\s+(VECTOR\s+|FULLTEXT\s+|RANGE\s+|TEXT\s+)?(CONSTRAINT|INDEX)\b|^SHOW\b"
                    r"|^CALL\s+db\.", re.IGNORECASE)
PRODUCT = ["kgrec", "kg_store", "ingest", "recommender", "knowledge", "serving"]
# what marks a string as Cypher: a clause opening a pattern, UNWIND over a parameter, DETACH DELETE, ...
CYPHER_TEXT = re.compile(r"\b(OPTIONAL MATCH|MATCH|MERGE)\s*\(|\bUNWIND\s+\$|\bDETACH\s+DELETE\b"
                         r"|\bRETURN\s+\w+(\.\w+)?\s+AS\b|\bCALL\s+db\.")
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


def _string_literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string constant in a module except docstrings, f-string parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_cypher_in_python_strings_of_product_code() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}" for pkg in PRODUCT for path in sorted((ROOT / pkg).rglob("*.py"))
             for line, text in _string_literals(path) if CYPHER_TEXT.search(text)]
    assert found == []


def test_the_cypher_detector_finds_cypher(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text('"""MATCH (n) in a docstring is prose."""\nQ = "MATCH (u:User {id: $id}) RETURN u.id AS id"\n'
                      'R = f"UNWIND $rows AS row SET n.{name} = row"\nS = "a match (of sorts)"\n')
    assert [line for line, text in _string_literals(module) if CYPHER_TEXT.search(text)] == [2, 3]
