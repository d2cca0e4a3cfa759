"""``kgrec serve``: a thin layer that builds the app of :func:`kgrec.create_app` and runs it under uvicorn."""

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
@click.option("--preload-k", type=click.IntRange(0), default=20, show_default=True,
              help="On a new run, cache every user's top-K in one query (0: read per request).")
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, reload_check: float, max_items: int,
          preload_k: int, access_log: bool) -> None:
    """Serve recommendations, explanations and cold start over HTTP (Neo4j may start later).

    A request without model= uses the dataset's latest finished training run of any model.
    """
    import uvicorn

    from kg_store.settings import resolve_settings
    from kgrec.models_api import create_app
    from serving import ServeConfig
    from serving.store import ServingStore

    config = ServeConfig.from_env(host=host, port=port, reload_check_seconds=reload_check, max_items=max_items,
                                  preload_k=preload_k)
    config.check_bind()
    state = cli_state(ctx)
    settings = resolve_settings(local_home=state.home, database=state.database)
    store = ServingStore(settings, config)
    click.echo(f"kgrec serve on http://{host}:{port} (Neo4j {settings.uri}; token "
               f"{'required' if config.token else 'not required'})", err=True)
    try:
        uvicorn.run(create_app(store, config), host=host, port=port, access_log=access_log, log_level="warning")
    finally:
        store.close()
