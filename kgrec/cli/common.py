"""What every ``kgrec`` command module shares: exit codes, the context object, the store, common options.

Each command module imports only this (plus its own light imports), so a command can be imported,
invoked and tested on its own, and behaves the same alone as under ``kgrec``: a ``KgrecError``
becomes one sentence on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from kg_store.errors import KgrecError
from kgrec.neo4j_api import neo4j_home

F = TypeVar("F", bound=Callable[..., Any])

PROGRESS_HELP = "Force progress bars on or off (default: bars on a terminal, one line per stage in a log)."


class _ExitCodes:
    """Turns kgrec errors into one line and an exit code (mixed into click's command classes)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except KgrecError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(error.exit_code)


class KgrecGroup(_ExitCodes, click.Group):
    """A command group whose kgrec errors end in one line and an exit code."""


class KgrecCommand(_ExitCodes, click.Command):
    """A command whose kgrec errors end in one line and an exit code."""


@dataclass
class CliState:
    """The context object: where the local server lives, which database, and how to get a store.

    ``connect`` is for callers that already hold a store (an embedding program, a test); without it
    each command connects through :func:`kgrec.pipeline.new_connection`.
    """

    home: Path = field(default_factory=neo4j_home)
    database: str | None = None
    connect: Callable[[], Any] | None = None

    @classmethod
    def with_store(cls, store: Any) -> CliState:
        """A state whose commands all use ``store``."""
        return cls(connect=lambda: store)


def cli_state(ctx: click.Context) -> CliState:
    """The context's :class:`CliState` (the defaults when a command runs outside ``kgrec``)."""
    return ctx.ensure_object(CliState)


def open_store(ctx: click.Context) -> Any:
    """The graph store the command works on (connected on first use, so ``--help`` needs no server)."""
    state = cli_state(ctx)
    if state.connect is not None:
        return state.connect()
    from kgrec.pipeline import new_connection

    return new_connection(database=state.database, local_home=state.home)


def echo_json(data: Any, *, sort_keys: bool = True) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=sort_keys, default=str))


def with_options(options: Iterable[Callable[[F], F]]) -> Callable[[F], F]:
    """One decorator applying ``options`` so that ``--help`` lists them in the given order."""
    ordered = list(options)

    def apply(func: F) -> F:
        for option in reversed(ordered):
            func = option(func)
        return func

    return apply


def json_option(help: str | None = None) -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def progress_option(help: str = PROGRESS_HELP) -> Callable[[F], F]:
    return click.option("--progress/--no-progress", default=None, help=help)
