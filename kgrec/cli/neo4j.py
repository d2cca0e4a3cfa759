"""``kgrec neo4j start|stop|status|password``: kgrec's own local Neo4j server, no Docker needed."""

from __future__ import annotations

import sys

import click

from kg_store.local_server import LocalNeo4j, ServerOptions
from kg_store.settings import settings_from_env
from kgrec.cli.common import KgrecGroup, cli_state, echo_json


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
    home = cli_state(ctx).home
    saved = LocalNeo4j(home).options
    options = ServerOptions(
        bolt_port=bolt_port or saved.bolt_port, http_port=http_port or saved.http_port,
        heap=heap or saved.heap, page_cache=page_cache or saved.page_cache,
    )
    status = LocalNeo4j(home, options).start()
    click.echo(f"Neo4j is running (pid {status.pid}): {status.bolt_uri}")
    click.echo(f"Neo4j Browser: {status.browser_url}  (user neo4j; 'kgrec neo4j password' prints the password)")
    click.echo(f"Data directory: {status.home}")


@neo4j.command("stop")
@click.pass_context
def neo4j_stop(ctx: click.Context) -> None:
    """Stop the local server."""
    stopped = LocalNeo4j(cli_state(ctx).home).stop()
    click.echo("Neo4j stopped." if stopped else "Neo4j was not running.")


@neo4j.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def neo4j_status(ctx: click.Context, as_json: bool) -> None:
    """Whether the local server runs, and where."""
    status = LocalNeo4j(cli_state(ctx).home).status()
    if as_json:
        echo_json(status.as_dict())
        return
    state = f"running (pid {status.pid})" if status.running else "not running"
    click.echo(f"Neo4j {state}; bolt {status.bolt_uri}; browser {status.browser_url}; home {status.home}")
    if settings_from_env() is not None:
        click.echo("Note: NEO4J_URI is set, so kgrec commands use that server, not this one.")
    if not status.running:
        sys.exit(1)


@neo4j.command("password")
@click.pass_context
def neo4j_password(ctx: click.Context) -> None:
    """Print the generated password of the local server (for Neo4j Browser)."""
    click.echo(LocalNeo4j(cli_state(ctx).home).password())
