"""Product modules stay at about 400 lines and functions at about 60: the house rule, kept by a test.

Product code is every ``.py`` file git knows (tracked, or new and not ignored) outside ``tests/``,
``bench/`` and ``docs/``. A module over ``MODULE_LINES`` or a function over ``FUNCTION_LINES`` fails
unless ``ALLOWED`` names it with a reason; an entry that is no longer over its limit fails too, so
the list can only shrink.
"""

from __future__ import annotations

import ast
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).parent.parent
MODULE_LINES = 420    # "about 400": a little room, so a one-line change does not fail the build
FUNCTION_LINES = 60   # from the ``def`` line to the last line of the body
NOT_PRODUCT = ("tests", "bench", "docs")
SKIPPED_FOLDERS = {".git", ".venv", "venv", "build", "dist", "site", "node_modules", "__pycache__"}

#: over the limit on purpose: ``"path"`` for a module, ``"path:qualified.name"`` for a function -> why
ALLOWED: dict[str, str] = {}


def _git_files() -> list[str] | None:
    """The ``.py`` files git knows in the working tree; None outside a git checkout."""
    try:
        result = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.py"],
                                cwd=REPO_ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in result.stdout.decode().split("\0") if name]


def _walked_files() -> list[str]:
    """The ``.py`` files under the repository, for a copy without git (a source archive)."""
    found = []
    for folder, subfolders, files in os.walk(REPO_ROOT):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith(".")]
        found += [Path(folder, name).relative_to(REPO_ROOT).as_posix() for name in files if name.endswith(".py")]
    return found


def product_modules() -> list[str]:
    """Repository-relative paths of the product's modules, sorted."""
    names = _git_files()
    names = _walked_files() if names is None else names
    return sorted(name for name in names
                  if name.split("/", 1)[0] not in NOT_PRODUCT and (REPO_ROOT / name).is_file())


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            yield name, node.end_lineno - node.lineno + 1
            yield from _functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, prefix + node.name + ".")
        else:
            yield from _functions(node, prefix)


def oversized() -> dict[str, int]:
    """``"path"`` or ``"path:function"`` -> lines, for everything over its limit."""
    found: dict[str, int] = {}
    for path in product_modules():
        text = (REPO_ROOT / path).read_text(encoding="utf-8")
        if (lines := len(text.splitlines())) > MODULE_LINES:
            found[path] = lines
        for name, lines in _functions(ast.parse(text, filename=path)):
            if lines > FUNCTION_LINES:
                found[f"{path}:{name}"] = lines
    return found


def test_the_product_is_found() -> None:
    modules = product_modules()
    assert {"ingest/recbole.py", "kg_store/explain.py", "kgrec/api.py"} <= set(modules)
    assert not any(path.split("/", 1)[0] in NOT_PRODUCT for path in modules)


def test_functions_are_measured_by_qualified_name() -> None:
    tree = ast.parse("class A:\n    def f(self):\n        def g():\n            pass\n\n\n"
                     "async def h():\n    return 1\n")
    assert dict(_functions(tree)) == {"A.f": 3, "A.f.g": 2, "h": 2}


def test_no_module_or_function_over_the_limit() -> None:
    over = {key: lines for key, lines in oversized().items() if key not in ALLOWED}
    assert not over, (f"over {MODULE_LINES} lines per module / {FUNCTION_LINES} per function: "
                      + ", ".join(f"{key} ({lines})" for key, lines in sorted(over.items()))
                      + "; split it along its jobs, or add it to ALLOWED in tests/test_code_size.py with the reason")


def test_allow_list_only_shrinks() -> None:
    over = oversized()
    stale = sorted(key for key in ALLOWED if key not in over)
    assert not stale, f"no longer over the limit, remove from ALLOWED: {', '.join(stale)}"
    assert all(reason.strip() for reason in ALLOWED.values()), "every ALLOWED entry needs its reason"
