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


#: the facade: every call a command makes that does work (reads or writes the graph, runs an LLM,
#: downloads, starts a server) goes through a function of one of these modules
FACADE = ("kgrec", "kgrec.pipeline", "kgrec.models_api", "kgrec.graph_api", "kgrec.neo4j_api", "kgrec.data_api",
          "kgrec.knowledge_api", "kgrec.llm_api", "kgrec.results", "kgrec.admin_results")
#: the typed results, which no command calls for work
RESULTS = ("kgrec.results", "kgrec.admin_results")
#: torch-free names and types the commands may take from other modules: module -> (names, why).
#: Only these names: the same modules' functions that do work are reached through the facade.
NAMES: dict[str, tuple[frozenset[str], str]] = {
    "kg_store.errors": (frozenset({"KgrecError", "ConfigError"}), "error classes the commands raise or catch"),
    "kg_store.batching": (frozenset({"DEFAULT_BATCH_SIZE"}), "a constant: the default of --batch-size"),
    "kg_store.formats": (frozenset({"format_names"}), "the export-format registry's name list (--format choices)"),
    "kg_store.run_ids": (frozenset({"check_run_id"}),
                         "checks a run id's form before anything opens; reads nothing"),
    "kg_store.interest_sets": (frozenset({"check_interest_set_name"}),
                               "checks an interest set name's form before anything opens; reads nothing"),
    "ingest": (frozenset({"registry"}), "the ingest-source registry: names, descriptions and options of commands"),
    "ingest.protocol": (frozenset({"SourceOption"}), "the type of a source's command option"),
    "ingest.writer": (frozenset({"DEFAULT_INGEST_WORKERS", "IngestReport"}), "a constant (--workers) and a report type"),
    "ingest.synthetic": (frozenset({"SyntheticConfig"}), "a config dataclass: the defaults of kgrec data synth"),
    "ingest.wikipedia": (frozenset({"DEFAULT_MAX_CHARS"}), "a constant: the default of --max-chars"),
    "knowledge.linking": (frozenset({"LinkConfig"}), "a config dataclass: kgrec link's defaults and settings"),
    "knowledge.llm.base": (frozenset({"backend_names"}), "the LLM-backend registry's name list (--backend choices)"),
    "knowledge.llm.runner": (frozenset({"Shard", "RunReport"}), "the --shard type and the run report type"),
    "knowledge.user_histories": (frozenset({"USER_HISTORIES"}), "a name table: the --history choices"),
    "knowledge.text_recipes": (frozenset({"TEXT_RECIPES"}), "a name table: the --text recipes"),
    "recommender": (frozenset({"registry"}), "the ranking-model registry: names and config classes, torch-free"),
    "recommender.config": (frozenset({"CHOICES", "PRESETS", "TRAIN_FIELDS", "TrainConfig", "model_config_class"}),
                           "config tables and dataclasses behind kgrec train's options"),
    "recommender.schedules": (frozenset({"MaskSchedule"}), "a config dataclass: --mask-schedule"),
    "recommender.ctr": (frozenset({"registry"}), "the CTR-backbone registry's name list (--model choices)"),
    "recommender.rerank": (frozenset({"registry"}), "the reranker registry's name list (--model choices)"),
}
#: third-party packages a command may import
THIRD_PARTY = ("click",)


def _imports(path: Path) -> Iterator[tuple[str, str | None, int]]:
    """(module, name, line) of every import in ``path``, at top level or inside a function; name is
    None for ``import module``, and a relative import's module starts with its dots."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            yield from ((module, alias.name, node.lineno) for alias in node.names)


def _refused(module: str, name: str | None) -> str | None:
    """What an import reaches outside the allow-list (None: allowed)."""
    import kgrec

    root = module.split(".")[0]
    if module == "__future__" or root in sys.stdlib_module_names or root in THIRD_PARTY:
        return None
    if module == "kgrec.cli" or module.startswith("kgrec.cli."):
        return None
    if module == "kgrec" and name is not None and name not in kgrec.__all__:
        return None if f"kgrec.{name}" in FACADE else f"kgrec.{name}"   # a submodule, or a name not exported
    if module in FACADE:
        return None
    names, _ = NAMES.get(module, (frozenset(), ""))
    return None if name in names else f"{module}.{name}" if name else module


def _cli_files() -> list[Path]:
    return sorted(CLI_DIR.glob("*.py"))


@pytest.mark.parametrize("path", _cli_files(), ids=lambda path: path.name)
def test_commands_import_only_the_facade_and_torch_free_names(path: Path) -> None:
    refused = [f"line {line}: {found}" for module, name, line in _imports(path)
               if (found := _refused(module, name)) is not None]
    assert not refused, (f"kgrec/cli/{path.name} reaches {refused}: call a facade function (kgrec.graph_api, "
                         "kgrec.knowledge_api, ...), or add a torch-free name to NAMES with its reason")


@pytest.mark.parametrize("name", sorted(set(MODULES) - HELPERS))
def test_every_command_module_calls_the_facade(name: str) -> None:
    imported = {module for module, _, _ in _imports(CLI_DIR / f"{name}.py")}
    assert imported & (set(FACADE) - set(RESULTS)), f"kgrec.cli.{name} calls no facade module"


def test_every_allowed_name_is_used() -> None:
    used = {(module, name) for path in _cli_files() for module, name, _ in _imports(path)}
    unused = {f"{module}.{name}" for module, (names, _) in NAMES.items() for name in names if (module, name) not in used}
    assert not unused, "no command imports these any more: drop them from NAMES"


def test_the_import_check_refuses_internals_and_sees_imports_inside_functions(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text("import uvicorn\nfrom kgrec import api, train\nfrom kg_store.batching import DEFAULT_BATCH_SIZE\n"
                    "def f():\n    from kg_store.batching import write_in_batches\n    import kg_store.writeback\n"
                    "    from kgrec.graph_api import list_datasets\n")
    refused = {found for module, name, _ in _imports(path) if (found := _refused(module, name)) is not None}
    assert refused == {"uvicorn", "kgrec.api", "kg_store.batching.write_in_batches", "kg_store.writeback"}
