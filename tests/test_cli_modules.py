"""Each module of ``kgrec/cli/`` stands alone, and ``kgrec`` reaches every command they define.

A module is imported in a fresh interpreter under an empty ``kgrec.cli`` package, so it cannot lean
on ``kgrec/cli/__init__.py`` having run; its commands answer ``--help`` there without torch loaded.
"""

from __future__ import annotations

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
