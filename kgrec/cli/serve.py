"""``kgrec serve``: a thin layer over :func:`kgrec.serve`, which runs the app of :func:`kgrec.create_app` under uvicorn."""

from __future__ import annotations

import click

from kgrec.cli.common import KgrecCommand, cli_state


@click.command("serve", cls=KgrecCommand)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; beyond localhost KGREC_SERVE_TOKEN must be set (bearer token).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--reload-check", "reload_check", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Seconds between looks for a newer TrainingRun.")
@click.option("--max-items", type=click.IntRange(1), default=100, show_default=True,
              help="Largest cold-start item list.")
@click.option("--preload/--no-preload", default=True, show_default=True,
              help="On a new run, hold every user's stored list and the run's vectors in memory "
                   "(else read them per request).")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Server processes on the port; each holds its own memory, they share only the graph.")
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, reload_check: float, max_items: int,
          preload: bool, workers: int, access_log: bool) -> None:
    """Serve recommendations, explanations and cold start over HTTP (Neo4j may start later).

    A request without model= uses the dataset's latest finished training run of any model.
    """
    from kgrec.models_api import serve as run_server

    state = cli_state(ctx)
    run_server(host=host, port=port, reload_check_seconds=reload_check, max_items=max_items, preload=preload,
               workers=workers, access_log=access_log, database=state.database, local_home=state.home,
               announce=lambda line: click.echo(line, err=True))
