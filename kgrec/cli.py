"""The ``kgrec`` command: a thin click layer over :mod:`kgrec.api`.

Every ``KgrecError`` becomes one sentence on stderr and a non-zero exit code; no tracebacks
for problems the user can fix (bad files, wrong password, server down).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from kg_store.datasets import dataset_stats, drop_dataset, list_datasets
from kg_store.errors import KgrecError
from kg_store.local_server import LocalNeo4j, ServerOptions
from kg_store.settings import default_local_home, settings_from_env
from kgrec import api


class KgrecGroup(click.Group):
    """Turns kgrec errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KgrecError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(error.exit_code)


@click.group(cls=KgrecGroup)
@click.option("--database", default=None, help="Neo4j database name (default: NEO4J_DATABASE or 'neo4j').")
@click.option("--neo4j-home", type=click.Path(path_type=Path), default=None,
              help="Home of the local server (default: KGREC_NEO4J_HOME or ~/.local/share/kgrec/neo4j).")
@click.pass_context
def main(ctx: click.Context, database: str | None, neo4j_home: Path | None) -> None:
    """kgrec: a Neo4j-backed knowledge-graph recommender."""
    ctx.obj = {"database": database, "home": neo4j_home or default_local_home()}


def _store(ctx: click.Context):
    return api.connect(database=ctx.obj["database"], local_home=ctx.obj["home"])


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


# -- neo4j -----------------------------------------------------------------------------------------
@main.group()
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
    server = LocalNeo4j(ctx.obj["home"])
    saved = server.options
    options = ServerOptions(
        bolt_port=bolt_port or saved.bolt_port, http_port=http_port or saved.http_port,
        heap=heap or saved.heap, page_cache=page_cache or saved.page_cache,
    )
    status = LocalNeo4j(ctx.obj["home"], options).start()
    click.echo(f"Neo4j is running (pid {status.pid}): {status.bolt_uri}")
    click.echo(f"Neo4j Browser: {status.browser_url}  (user neo4j; 'kgrec neo4j password' prints the password)")
    click.echo(f"Data directory: {status.home}")


@neo4j.command("stop")
@click.pass_context
def neo4j_stop(ctx: click.Context) -> None:
    """Stop the local server."""
    stopped = LocalNeo4j(ctx.obj["home"]).stop()
    click.echo("Neo4j stopped." if stopped else "Neo4j was not running.")


@neo4j.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def neo4j_status(ctx: click.Context, as_json: bool) -> None:
    """Whether the local server runs, and where."""
    status = LocalNeo4j(ctx.obj["home"]).status()
    if as_json:
        _echo_json(status.as_dict())
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
    click.echo(LocalNeo4j(ctx.obj["home"]).password())


# -- db --------------------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Inspect and manage datasets in the graph."""


@db.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def db_list(ctx: click.Context, as_json: bool) -> None:
    """Datasets in the graph."""
    rows = list_datasets(_store(ctx))
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['source']}\t{row['status']}\tversion {row['version']}")


@db.command("stats")
@click.option("--dataset", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def db_stats(ctx: click.Context, dataset: str, as_json: bool) -> None:
    """Counts per label and relationship type, and interactions per split."""
    stats = dataset_stats(_store(ctx), dataset)
    if as_json:
        _echo_json(stats.as_dict())
        return
    click.echo(f"Dataset {stats.dataset} ({stats.source}, {stats.status}, version {stats.version})")
    for label, count in stats.nodes.items():
        click.echo(f"  :{label:<22}{count:>10,}")
    for split, count in stats.interactions.items():
        click.echo(f"  interactions/{split:<11}{count:>10,}")
    click.echo(f"  KG triples{'':<13}{stats.kg_triples:>10,}  over {stats.kg_relations} relations")
    click.echo(f"  interest edges{'':<9}{stats.interest_edges:>10,}")
    for rel_type, count in stats.relationships.items():
        click.echo(f"  [:{rel_type}]{'':<{max(1, 19 - len(rel_type))}}{count:>10,}")


@db.command("drop")
@click.option("--dataset", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def db_drop(ctx: click.Context, dataset: str, yes: bool) -> None:
    """Delete one dataset's nodes and relationships."""
    if not yes:
        click.confirm(f"Delete dataset '{dataset}' from the graph?", abort=True)
    drop_dataset(_store(ctx), dataset)
    click.echo(f"Dropped dataset '{dataset}'.")


@db.command("lists-from-edges")
@click.option("--dataset", required=True)
@click.pass_context
def db_lists_from_edges(ctx: click.Context, dataset: str) -> None:
    """Upgrade: TOP_K lists (what readers use) from the RECOMMENDED edges of runs written before lists."""
    from kg_store.writeback import lists_from_edges

    runs = lists_from_edges(_store(ctx), dataset)
    for run in runs:
        click.echo(f"{dataset}: run {run['run_id']} ({run['model']}): {run['lists']:,} lists from its edges")
    if not runs:
        click.echo(f"{dataset}: every run already has its lists.")


@db.command("check")
@click.option("--dataset", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--strict", is_flag=True, help="Exit 1 when any error-severity check finds something.")
@click.option("--examples", type=click.IntRange(0, 100), default=5, show_default=True,
              help="Examples shown per check.")
@click.option("--max-items", type=click.IntRange(1), default=1, show_default=True,
              help="An entity linked to more items than this is reported.")
@click.pass_context
def db_check(ctx: click.Context, dataset: str, as_json: bool, strict: bool, examples: int,
             max_items: int) -> None:
    """KG quality checks (cypher/checks/*.cypher): counts with examples."""
    from kg_store.checks import has_errors, run_checks

    results = run_checks(_store(ctx), dataset, examples=examples, max_items=max_items)
    if as_json:
        _echo_json({"dataset": dataset, "checks": [r.as_dict() for r in results]})
    else:
        click.echo(f"KG checks for dataset {dataset}")
        for r in results:
            mark = "ok" if r.count == 0 else r.severity.upper()
            click.echo(f"  [{mark:<7}] {r.name}: {r.count:,}  ({r.description})")
            for example in r.examples:
                click.echo("             " + json.dumps(example, sort_keys=True, default=str))
    if strict and has_errors(results):
        sys.exit(1)


# -- demo ------------------------------------------------------------------------------------------
@main.command("demo")
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
    from kgrec.demo import DemoOptions, run_demo

    options = DemoOptions(dataset=name, path=path, progress=progress, verify=verify, backend=backend,
                          live_limit=live_limit, user=user, **({"epochs": epochs} if epochs else {}))
    run_demo(options, ctx.obj["home"], ctx.obj["database"])


from kgrec.cli_ctr import register as _register_ctr  # noqa: E402
from kgrec.cli_data import register as _register_data  # noqa: E402
from kgrec.cli_enrich import register as _register_enrich  # noqa: E402
from kgrec.cli_enrich import register_infer as _register_infer  # noqa: E402
from kgrec.cli_explain import register as _register_explain  # noqa: E402
from kgrec.cli_export import register as _register_export  # noqa: E402
from kgrec.cli_ingest import register as _register_ingest  # noqa: E402
from kgrec.cli_interests import register as _register_interests  # noqa: E402
from kgrec.cli_knowledge import register as _register_knowledge  # noqa: E402
from kgrec.cli_llm import register as _register_llm  # noqa: E402
from kgrec.cli_query import register as _register_query  # noqa: E402
from kgrec.cli_serve import register as _register_serve  # noqa: E402
from kgrec.cli_split import register as _register_split  # noqa: E402
from kgrec.cli_text import register as _register_text  # noqa: E402
from kgrec.cli_train import register as _register_training  # noqa: E402

_register_data(main)
_register_ingest(main, _store)
_register_export(main, _store)
_register_knowledge(main, _store)
_register_llm(main, _store)
_register_split(main, _store)
_register_enrich(main, _store)
_register_infer(_register_interests(main, _store), _store)
_register_training(main, _store)
_register_text(main, _store)
_register_ctr(main, _store)
_register_query(main, _store)
_register_explain(main, _store)
_register_serve(main)

if __name__ == "__main__":
    main()
