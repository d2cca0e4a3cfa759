"""MkDocs hook: each ``kgrec`` command group and top-level command as a module attribute.

mkdocs-click finds a command as ``getattr(module, name)``. Most groups are created inside the
``register()`` functions of ``kgrec/cli_*.py`` and exist only as entries of ``kgrec.cli.main``, so
this module reads them from that group at build time and offers them under the module name
``kgrec_cli_reference``. Nothing is copied: a command added to the CLI appears here by itself, and
the build fails (``--strict``) if a page names one that no longer exists.
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

#: ``kgrec`` itself with its global options only (its subcommands have their own pages)
root = click.Group(name="kgrec", params=list(main.params), help=main.help)

#: every visible group and command, by a Python-safe name (``train-ctr`` -> ``train_ctr``)
COMMANDS: dict[str, click.Command] = {
    name.replace("-", "_"): command for name, command in main.commands.items() if not command.hidden
}
GROUPS = sorted(name for name, command in COMMANDS.items() if isinstance(command, click.Group))
TOP_LEVEL = sorted(name for name, command in COMMANDS.items() if not isinstance(command, click.Group))

globals().update(COMMANDS)
sys.modules.setdefault(MODULE_NAME, sys.modules[__name__])


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Fail the build when a command group has no reference page rendering it."""
    from mkdocs.exceptions import PluginError

    missing = []
    for group in GROUPS:
        page = files.get_file_from_path(f"reference/cli/{group}.md")
        if page is None or f":command: {group}\n" not in page.content_string:
            missing.append(group)
    if missing:
        raise PluginError(f"No CLI reference page renders the group(s) {', '.join(missing)} "
                          f"(expected docs/reference/cli/<group>.md with ':command: <group>').")
    return files
