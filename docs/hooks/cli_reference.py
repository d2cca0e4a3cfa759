"""MkDocs hook: the root ``kgrec`` group for the reference index, and a check that every group has a page.

The groups and commands are module-level objects of ``kgrec/cli/*.py``, so the reference pages
point mkdocs-click straight at them (``:module: kgrec.cli.train``, ``:command: train``). Only the
root is offered here, under the module name ``kgrec_cli_reference``: ``kgrec`` with its global
options and none of its subcommands, which have their own pages.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from kgrec.cli import main

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files

MODULE_NAME = "kgrec_cli_reference"

#: ``kgrec`` itself with its global options only
root = click.Group(name="kgrec", params=list(main.params), help=main.help)

sys.modules.setdefault(MODULE_NAME, sys.modules[__name__])


def _directive(command: click.Command) -> str:
    """The mkdocs-click lines that render ``command`` from the module defining it."""
    module = sys.modules[command.callback.__module__]
    name = next(attr for attr, value in vars(module).items() if value is command)
    return f":module: {module.__name__}\n    :command: {name}\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Fail the build when a command group has no page, or a top-level command is not on commands.md."""
    from mkdocs.exceptions import PluginError

    visible = {name: command for name, command in main.commands.items() if not command.hidden}
    missing = []
    for name, command in sorted(visible.items()):
        path = f"reference/cli/{name}.md" if isinstance(command, click.Group) else "reference/cli/commands.md"
        page = files.get_file_from_path(path)
        if page is None or _directive(command) not in page.content_string:
            missing.append(f"{name} ({path})")
    if missing:
        raise PluginError(f"No CLI reference page renders {', '.join(missing)}: expected a page with "
                          "':module: kgrec.cli.<module>' and ':command: <name>' for each.")
    return files
