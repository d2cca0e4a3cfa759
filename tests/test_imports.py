"""Import boundaries: ``recommender`` never loads the Neo4j driver; settings never load the launcher.

Each check runs in a fresh interpreter, because this test process has long imported everything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from kg_store.graph_export import GraphExport

REPO_ROOT = Path(__file__).parent.parent


def _loaded_after(statement: str, module: str) -> bool:
    """Whether ``module`` is in ``sys.modules`` after running ``statement`` in a new interpreter."""
    code = f"import sys; {statement}; print({module!r} in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip() == "True"


def test_recommender_does_not_import_the_driver() -> None:
    statement = "import recommender.data, recommender.trainer, recommender.models, kg_store.graph_export"
    assert not _loaded_after(statement, "neo4j")


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
