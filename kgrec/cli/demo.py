"""``kgrec demo``: the main job end to end, a thin layer over :func:`kgrec.run_demo`."""

from __future__ import annotations

from pathlib import Path

import click

from kgrec.cli.common import KgrecCommand, cli_state


@click.command("demo", cls=KgrecCommand)
@click.option("--dataset", "name", default="dbbook2014", show_default=True,
              help="A catalog dataset that is present (see 'kgrec data list').")
@click.option("--path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Read the dataset from this folder (default: KGREC_DATA_DIR, data home, shipped sets).")
@click.option("--epochs", type=click.IntRange(1), default=None, help="CIKGRec epochs (default 20).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check each file's sha256 against the catalog before reading.")
@click.option("--backend", type=click.Choice(["transformers", "llama-cpp"]), default="transformers",
              show_default=True, help="Local LLM for the interests (the shipped cache holds transformers' answers).")
@click.option("--live-limit", type=click.IntRange(0), default=None,
              help="Ask the LLM live for at most this many users (default: every user the cache lacks).")
@click.option("--user", type=click.IntRange(0), default=None, help="Whose top five to show (default 0).")
@click.option("--progress/--no-progress", default=None,
              help="Force progress bars on or off (default: bars on a terminal, one line per stage in a log).")
@click.pass_context
def demo(ctx: click.Context, name: str, path: Path | None, epochs: int | None, verify: bool, backend: str,
         live_limit: int | None, user: int | None, progress: bool | None) -> None:
    """The main job: ingest, LLM interests, clustering, CIKGRec, write-back, explained top five."""
    from kgrec import DemoOptions, run_demo

    state = cli_state(ctx)
    options = DemoOptions(dataset=name, path=path, progress=progress, verify=verify, backend=backend,
                          live_limit=live_limit, user=user, **({"epochs": epochs} if epochs else {}))
    run_demo(options, state.home, state.database)
