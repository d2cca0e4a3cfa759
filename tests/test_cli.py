"""The ``kgrec`` command against a real Neo4j: stats, drop, and plain errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kg_store.local_server import free_port


def kgrec(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kgrec.cli", *args], env=env, capture_output=True, text=True)


def test_ingest_then_stats_json_then_drop(cli_env, dataset_name, cikg_folder: Path) -> None:
    result = kgrec("ingest", "cikg", str(cikg_folder), "--dataset", dataset_name, "--no-progress", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert f"Ingested '{dataset_name}'" in result.stdout
    stats = json.loads(kgrec("db", "stats", "--dataset", dataset_name, "--json", env=cli_env).stdout)
    assert stats["nodes"]["User"] == 12 and stats["kg_triples"] == 40
    assert set(stats["interactions"]) == {"train", "test"}
    listed = json.loads(kgrec("db", "list", "--json", env=cli_env).stdout)
    assert dataset_name in {row["name"] for row in listed}
    dropped = kgrec("db", "drop", "--dataset", dataset_name, "--yes", env=cli_env)
    assert dropped.returncode == 0, dropped.stderr
    gone = kgrec("db", "stats", "--dataset", dataset_name, env=cli_env)
    assert gone.returncode == 1
    assert gone.stderr.startswith(f"Error: Dataset '{dataset_name}' is not in the graph")


def test_bad_line_is_one_sentence_with_file_and_line(cli_env, dataset_name, cikg_copy: Path) -> None:
    with (cikg_copy / "train.txt").open("a") as handle:
        handle.write("2 abc\n")
    result = kgrec("ingest", "cikg", str(cikg_copy), "--dataset", dataset_name, "--no-progress", env=cli_env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"Error: {cikg_copy / 'train.txt'}, line 13: field 'item #1': 'abc' is not an integer"
    )


def test_skip_bad_lines_reports_them(cli_env, dataset_name, cikg_copy: Path) -> None:
    with (cikg_copy / "train.txt").open("a") as handle:
        handle.write("2 abc\n")
    result = kgrec("ingest", "cikg", str(cikg_copy), "--dataset", dataset_name, "--no-progress",
                   "--skip-bad-lines", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "1 bad line(s) skipped." in result.stderr
    assert "line 13" in result.stderr


def test_wrong_credentials_exit_cleanly(cli_env) -> None:
    env = {**cli_env, "NEO4J_USER": "kgrec_no_such_user", "NEO4J_PASSWORD": "not-the-password"}
    result = kgrec("db", "list", env=env)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("Error: Neo4j at ")
    assert "rejected user 'kgrec_no_such_user'" in result.stderr
    assert "not-the-password" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_server_exit_cleanly(cli_env) -> None:
    uri = f"bolt://127.0.0.1:{free_port()}"
    result = kgrec("db", "list", env={**cli_env, "NEO4J_URI": uri})
    assert result.returncode == 3
    assert result.stderr.strip() == f"Error: No Neo4j server answers at {uri}."


def test_missing_password_is_a_config_error(cli_env) -> None:
    env = {k: v for k, v in cli_env.items() if k != "NEO4J_PASSWORD"}
    result = kgrec("db", "list", env=env)
    assert result.returncode == 1
    assert "NEO4J_PASSWORD is not" in result.stderr
