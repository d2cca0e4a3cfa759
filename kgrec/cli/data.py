"""``kgrec data list | fetch | path | synth``: the dataset catalog, verified downloads and the lookup order.

A thin layer over :mod:`kgrec.data_api`; errors are ``KgrecError`` subclasses, which the group
turns into one line and an exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ingest.synthetic import SyntheticConfig
from kgrec.cli.common import KgrecGroup, json_option
from kgrec.data_api import catalog, dataset_locations, fetch_dataset, locate_dataset, write_synthetic


def _print_table(rows: list[dict]) -> None:
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        where = f"{row['location']} ({row['found_in']})" if row["location"] else "absent"
        checks = "" if row["verified"] else "  [no sha256 in catalog]"
        click.echo(f"{row['name']:<{width}}  {row['layout']:<9}  {where}{checks}")
        click.echo(f"{'':<{width}}  licence: {row['licence']}")


@click.group("data", cls=KgrecGroup)
def data() -> None:
    """Public datasets: the catalog, verified downloads, where each dataset is found."""


@data.command("list")
@json_option("Machine-readable output.")
def data_list(as_json: bool) -> None:
    """Every catalog dataset: layout, where it is found (or absent), licence."""
    rows = [entry.to_dict() for entry in catalog()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


@data.command("fetch")
@click.argument("name")
@click.option("--data-home", "home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Install under this folder (default: $XDG_DATA_HOME/kgrec/datasets or "
                   "~/.local/share/kgrec/datasets).")
@click.option("--trust-unverified", is_flag=True,
              help="Fetch files the catalog has no sha256 for; their hashes are printed and saved.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars (default: only when stderr is a terminal).")
def data_fetch(name: str, home: Path | None, trust_unverified: bool, progress: bool | None) -> None:
    """Download NAME, check every file's sha256, install it as one complete folder.

    An interrupted download resumes when the command is run again.
    """
    folder = fetch_dataset(name, home, progress=progress, trust_unverified=trust_unverified,
                           echo=lambda message: click.echo(message, err=True))
    click.echo(str(folder))


@data.command("path")
@click.argument("name")
@click.option("--all", "show_all", is_flag=True, help="Show every place looked at, in order.")
def data_path(name: str, show_all: bool) -> None:
    """Print the folder the lookup order finds for NAME."""
    if show_all:
        for place in dataset_locations(name):
            click.echo(f"{'found ' if place.exists else 'absent'}  {place.label:<14}  {place.path}")
    click.echo(str(locate_dataset(name)))


@data.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--interactions", type=click.IntRange(min=10), default=SyntheticConfig.interactions,
              show_default=True, help="Scale: every other count follows DBbook2014's ratios (846434 for benches).")
@click.option("--seed", type=int, default=SyntheticConfig.seed, show_default=True)
@json_option("Machine-readable output.")
def data_synth(out: Path, interactions: int, seed: int, as_json: bool) -> None:
    """Write a synthetic CIKG-layout set with DBbook2014's shape into OUT (for `kgrec ingest cikg`)."""
    made = write_synthetic(out, interactions=interactions, seed=seed)
    row = {**{k: v for k, v in made.__dict__.items() if k != "folder"}, "folder": str(made.folder)}
    click.echo(json.dumps(row, indent=2) if as_json else
               f"{made.folder}: {made.users:,} users, {made.items:,} items, {made.interactions:,} interactions, "
               f"{made.triples:,} triples, {made.user_interests:,} interest edges")
