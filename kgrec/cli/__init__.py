"""The ``kgrec`` command: a thin click layer over the :mod:`kgrec` facade.

Every group and command is defined at module level in its own module of this package and added
to ``main`` here. Commands parse options, call facade functions (:mod:`kgrec.pipeline`,
:mod:`kgrec.models_api`, :mod:`kgrec.graph_api`, ...) and print; a test keeps them off the
internals. Every ``KgrecError`` becomes one sentence on stderr and a non-zero exit code; no
tracebacks for problems the user can fix (bad files, wrong password, server down).
"""

from __future__ import annotations

from pathlib import Path

import click

from kgrec.cli import (
    ctr,
    data,
    db,
    demo,
    enrich,
    evaluate,
    explain,
    export,
    ingest,
    interests,
    knowledge,
    llm,
    neo4j,
    query,
    serve,
    split,
    text,
    train,
)
from kgrec.cli.common import CliState, KgrecGroup
from kgrec.neo4j_api import neo4j_home as default_home

__all__ = ["CliState", "KgrecGroup", "main"]


@click.group(cls=KgrecGroup)
@click.option("--database", default=None, help="Neo4j database name (default: NEO4J_DATABASE or 'neo4j').")
@click.option("--neo4j-home", type=click.Path(path_type=Path), default=None,
              help="Home of the local server (default: KGREC_NEO4J_HOME or ~/.local/share/kgrec/neo4j).")
@click.pass_context
def main(ctx: click.Context, database: str | None, neo4j_home: Path | None) -> None:
    """kgrec: a Neo4j-backed knowledge-graph recommender."""
    if isinstance(ctx.obj, CliState) and ctx.obj.connect is not None:
        return  # a caller that holds a store (an embedding program, a test) handed it in
    ctx.obj = CliState(home=neo4j_home or default_home(), database=database)


main.add_command(neo4j.neo4j)
main.add_command(db.db)
main.add_command(demo.demo)
main.add_command(data.data)
main.add_command(ingest.ingest)
main.add_command(export.export)
main.add_command(knowledge.wiki)
main.add_command(knowledge.link)
main.add_command(llm.llm)
main.add_command(split.split)
main.add_command(enrich.enrich)
main.add_command(interests.interests)
main.add_command(train.train)
main.add_command(ctr.train_ctr)
main.add_command(ctr.train_rerank)
main.add_command(evaluate.evaluate)
main.add_command(evaluate.recommend)
main.add_command(text.text)
main.add_command(query.query)
main.add_command(explain.explain)
main.add_command(serve.serve)
