"""Import boundaries: ``recommender`` and the pure parts of ``knowledge`` never load the Neo4j driver;
settings never load the launcher.

Each check runs in a fresh interpreter, because this test process has long imported everything.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import recommender
from kg_store.graph_export import GraphExport

REPO_ROOT = Path(__file__).parent.parent
# knowledge modules that work on text and arrays only; the rest of knowledge reads and writes the graph
PURE_KNOWLEDGE = ("knowledge.interests.parse", "knowledge.interests.cluster", "knowledge.interests.phrases",
                  "knowledge.llm", "knowledge.llm.base", "knowledge.llm.budget", "knowledge.llm.openai_http",
                  "knowledge.llm.local", "knowledge.llm.llama_cpp", "knowledge.user_histories")
# the array types the store hands to the recommender
PURE_STORE = ("kg_store.graph_export", "kg_store.ctr_arrays")


def _loaded_after(statement: str, module: str) -> bool:
    """Whether ``module`` is in ``sys.modules`` after running ``statement`` in a new interpreter."""
    code = f"import sys; {statement}; print({module!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() == "True"


def _imports(path: Path) -> set[str]:
    """Every module name ``path`` imports when it runs (top level or in a function; not under TYPE_CHECKING)."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending += node.orelse
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
        pending += ast.iter_child_nodes(node)
    return found


def driver_modules() -> set[str]:
    """``neo4j``, ``kg_store.connection`` and every ``kg_store`` module that imports either."""
    driver = {"neo4j", "kg_store.connection"}
    for path in (REPO_ROOT / "kg_store").rglob("*.py"):
        names = _imports(path)
        if any(name == "neo4j" or name.startswith("neo4j.") or name == "kg_store.connection" for name in names):
            module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
            driver.add(module.removesuffix(".__init__"))
    return driver


def recommender_modules() -> list[str]:
    """Every module and package under ``recommender``."""
    return ["recommender"] + [m.name for m in pkgutil.walk_packages(recommender.__path__, "recommender.")]


# One fresh interpreter loads numpy, scipy and torch (third-party, checked to load no driver module),
# then forks one child per module: each child imports its module into that clean state and reports
# the driver modules it then holds. The same isolation as an interpreter per module, without paying
# torch's import time per module.
_PROBE = """
import json, os, sys
driver, modules = set(json.loads(sys.argv[1])), json.loads(sys.argv[2])
import numpy, scipy.sparse, torch
assert not driver & set(sys.modules), sorted(driver & set(sys.modules))
found = {}
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            __import__(module)
            report = sorted(driver & set(sys.modules))
        except BaseException as error:
            report = {"error": repr(error)}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        found[module] = json.loads(answer.read())
    os.waitpid(pid, 0)
print(json.dumps(found))
"""


def _driver_loaded_by(modules: list[str], driver: set[str]) -> dict[str, list[str] | dict[str, str]]:
    """Per module, the driver modules a clean interpreter holds after importing it (or the import error)."""
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(sorted(driver)), json.dumps(modules)],
                            cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_driver_modules_are_found() -> None:
    driver = driver_modules()
    assert {"kg_store.export", "kg_store.ctr_data", "kg_store.ctr_split", "kg_store.ctr_lists"} <= driver
    assert not {"kg_store.graph_export", "kg_store.ctr_arrays", "kg_store.errors"} & driver


def test_recommender_and_pure_knowledge_never_load_the_driver() -> None:
    """The recommender gets arrays from ``kg_store`` and returns arrays: none of its modules, nor the
    pure parts of ``knowledge``, may load the driver or a ``kg_store`` module that uses it."""
    modules = recommender_modules() + list(PURE_KNOWLEDGE) + list(PURE_STORE)
    assert {"recommender.ctr.trainer", "recommender.rerank.trainer", "recommender.features.data"} <= set(modules)
    loaded = _driver_loaded_by(modules, driver_modules())
    offenders = {module: found for module, found in loaded.items() if found}
    assert not offenders, f"modules that load the Neo4j driver (or fail to import): {offenders}"


def test_settings_do_not_import_the_launcher() -> None:
    assert not _loaded_after("import kg_store.settings", "kg_store.local_server")


def test_graph_export_round_trips_through_a_file(tmp_path: Path) -> None:
    pairs = np.array([[0, 0], [0, 1], [1, 1]], dtype=np.int64)
    export = GraphExport(
        dataset="d", cache_key="k", user_ids=np.array([5, 9]), item_ids=np.array([1, 2]),
        entity_ids=np.array([7]), interest_ids=np.zeros(0, np.int64), relation_types=["TYPE"],
        interactions=pairs, interaction_split=np.array([0, 2, 0], dtype=np.int8),
        item_entities=np.array([[0, 0]]), triples=np.array([[0, 0, 0]]), user_interests=np.zeros((0, 2), np.int64),
    )
    export.save(tmp_path / "export.npz")
    loaded = GraphExport.load(tmp_path / "export.npz")
    assert loaded.relation_types == ["TYPE"] and loaded.n_users == 2
    assert loaded.split("test").tolist() == [[0, 1]]
