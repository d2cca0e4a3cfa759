"""``kgrec neo4j start|stop|status|password``: kgrec's own local Neo4j server, no Docker needed.

A thin layer over :mod:`kgrec.neo4j_api`.
"""

from __future__ import annotations

import sys

import click

from kgrec.cli.common import KgrecGroup, cli_state, echo_json
from kgrec.neo4j_api import neo4j_password as read_password
from kgrec.neo4j_api import neo4j_status as read_status
from kgrec.neo4j_api import neo4j_uri_set, start_neo4j, stop_neo4j


@click.group(cls=KgrecGroup)
def neo4j() -> None:
    """Run a local Neo4j 5.26 server (no Docker needed)."""


@neo4j.command("start")
@click.option("--bolt-port", type=int, default=None, help="Bolt port (default 7687, or the last one used).")
@click.option("--http-port", type=int, default=None, help="HTTP/Browser port (default 7474).")
@click.option("--heap", default=None, help="JVM heap, e.g. 1g.")
@click.option("--page-cache", default=None, help="Page cache, e.g. 1g.")
@click.pass_context
def neo4j_start(ctx: click.Context, bolt_port: int | None, http_port: int | None,
                heap: str | None, page_cache: str | None) -> None:
    """Fetch the server once (Maven Central), generate a password, start and wait until ready."""
    status = start_neo4j(cli_state(ctx).home, bolt_port=bolt_port, http_port=http_port, heap=heap,
                         page_cache=page_cache)
    click.echo(f"Neo4j is running (pid {status.pid}): {status.bolt_uri}")
    click.echo(f"Neo4j Browser: {status.browser_url}  (user neo4j; 'kgrec neo4j password' prints the password)")
    click.echo(f"Data directory: {status.home}")


@neo4j.command("stop")
@click.pass_context
def neo4j_stop(ctx: click.Context) -> None:
    """Stop the local server."""
    stopped = stop_neo4j(cli_state(ctx).home)
    click.echo("Neo4j stopped." if stopped else "Neo4j was not running.")


@neo4j.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def neo4j_status(ctx: click.Context, as_json: bool) -> None:
    """Whether the local server runs, and where."""
    status = read_status(cli_state(ctx).home)
    if as_json:
        echo_json(status.as_dict())
        return
    state = f"running (pid {status.pid})" if status.running else "not running"
    click.echo(f"Neo4j {state}; bolt {status.bolt_uri}; browser {status.browser_url}; home {status.home}")
    if neo4j_uri_set():
        click.echo("Note: NEO4J_URI is set, so kgrec commands use that server, not this one.")
    if not status.running:
        sys.exit(1)


@neo4j.command("password")
@click.pass_context
def neo4j_password(ctx: click.Context) -> None:
    """Print the generated password of the local server (for Neo4j Browser)."""
    click.echo(read_password(cli_state(ctx).home))
