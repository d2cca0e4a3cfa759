"""Each module of ``kgrec/cli/`` stands alone, and ``kgrec`` reaches every command they define.

A module is imported in a fresh interpreter under an empty ``kgrec.cli`` package, so it cannot lean
on ``kgrec/cli/__init__.py`` having run; its commands answer ``--help`` there without torch loaded.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

import kgrec.cli
from kgrec.cli import main

CLI_DIR = Path(kgrec.cli.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(CLI_DIR)]) if not m.name.startswith("_"))
#: modules that define no command: what the command modules share
HELPERS = {"common", "llm_options"}

ALONE = """
import importlib, json, sys, types
from pathlib import Path

import click
from click.testing import CliRunner

import kgrec

package = types.ModuleType("kgrec.cli")
package.__path__ = [str(Path(kgrec.__file__).parent / "cli")]
sys.modules["kgrec.cli"] = package
module = importlib.import_module("kgrec.cli." + sys.argv[1])


def walk(command, path):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, [*path, name])


helps = {}
for attr, value in vars(module).items():
    if isinstance(value, click.Command) and value.callback.__module__ == module.__name__:
        for path, command in walk(value, [attr]):
            result = CliRunner().invoke(command, ["--help"], prog_name=" ".join(path))
            helps[" ".join(path)] = {"exit": result.exit_code, "usage": result.output.startswith("Usage:")}
print(json.dumps({"helps": helps, "torch": "torch" in sys.modules,
                  "init_ran": hasattr(sys.modules["kgrec.cli"], "main")}))
"""


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_alone_and_its_commands_answer_help(name: str) -> None:
    done = subprocess.run([sys.executable, "-c", ALONE, name], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert not found["init_ran"]
    assert not found["torch"], f"importing kgrec.cli.{name} or its --help loads torch"
    assert bool(found["helps"]) == (name not in HELPERS), found
    failed = {path: row for path, row in found["helps"].items() if row != {"exit": 0, "usage": True}}
    assert not failed


def _tree(command: click.Command) -> Iterator[click.Command]:
    for sub in getattr(command, "commands", {}).values():
        yield sub
        yield from _tree(sub)


def _defined() -> dict[int, str]:
    """Every command the modules define at module level, with the subcommands of their groups."""
    found: dict[int, str] = {}
    for name in MODULES:
        module = importlib.import_module(f"kgrec.cli.{name}")
        for value in vars(module).values():
            if isinstance(value, click.Command) and value.callback.__module__ == module.__name__:
                for command in (value, *_tree(value)):
                    found[id(command)] = f"kgrec.cli.{name}: {command.name}"
    return found


def test_main_reaches_exactly_the_commands_the_modules_define() -> None:
    defined = _defined()
    reachable = {id(command): command.name for command in _tree(main)}
    assert not {defined[i] for i in set(defined) - set(reachable)}, "defined but not added to kgrec.cli.main"
    assert not {reachable[i] for i in set(reachable) - set(defined)}, "reachable from main but from no module"


def test_kgrec_help_lists_every_group_without_loading_torch() -> None:
    code = ("import sys; from click.testing import CliRunner; from kgrec.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); print(r.exit_code, 'torch' in sys.modules); print(r.output)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    first, _, output = done.stdout.partition("\n")
    assert first == "0 False", done.stderr
    visible = [name for name, command in main.commands.items() if not command.hidden]
    assert all(f"  {name} " in output for name in visible)
    assert "train-ctr" not in output


#: command modules that call the ``import kgrec`` facade (kgrec.pipeline, kgrec.models_api)
FACADE_MODULES = ("ctr", "enrich", "evaluate", "explain", "export", "ingest", "interests", "serve", "split")
#: what those modules reach only through the facade
INTERNALS = ("kgrec.training", "kgrec.export_api", "knowledge.interests", "knowledge.descriptions",
             "kg_store.explain", "kg_store.writeback")


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at top level or inside a function (``from a import b``: ``a`` and ``a.b``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("name", FACADE_MODULES)
def test_pipeline_commands_reach_internals_only_through_the_facade(name: str) -> None:
    imported = _imported(CLI_DIR / f"{name}.py")
    bypass = {m for m in imported for internal in INTERNALS if m == internal or m.startswith(f"{internal}.")}
    assert not bypass, f"kgrec.cli.{name} imports {sorted(bypass)}; call kgrec.pipeline / kgrec.models_api"
    assert imported & {"kgrec.pipeline", "kgrec.models_api"}, f"kgrec.cli.{name} does not call the facade"


def test_the_import_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from kgrec.training import train_and_write\n    import kg_store.writeback\n")
    assert {"kgrec.training", "kg_store.writeback"} <= _imported(path)
