"""The README's main job, end to end on a local default."""

from __future__ import annotations

from pathlib import Path

import click

from kg_store.datasets import dataset_stats
from kg_store.errors import KgrecError
from kg_store.settings import settings_from_env
from kgrec import api

DEMO_DATASET = "dbbook2014"
DEMO_EPOCHS = 20  # a short fixed-length run: a few minutes on a 2-core CPU


def run_demo(data_dir: Path, neo4j_home: Path, database: str | None = None, epochs: int = DEMO_EPOCHS) -> None:
    """Start Neo4j, ingest dbbook2014, train CIKGRec briefly, write recommendations, print metrics."""
    folder = data_dir / DEMO_DATASET
    if not folder.is_dir():
        raise KgrecError(
            f"{folder} does not exist: put the dbbook2014 folder (CIKGRec's data/dbbook2014) under "
            f"{data_dir} or pass --data-dir."
        )
    if settings_from_env() is None:
        status = api.start_local_neo4j(neo4j_home)
        click.echo(f"Neo4j running at {status.bolt_uri}; Browser at {status.browser_url}")
    store = api.connect(database=database, local_home=neo4j_home)
    report = api.ingest_cikg(store, folder, DEMO_DATASET)
    click.echo(f"Ingested {DEMO_DATASET} in {report.seconds:.1f} s "
               f"({report.relationships_created:,} new relationships).")
    stats = dataset_stats(store, DEMO_DATASET)
    click.echo(
        f"{stats.nodes.get('User', 0):,} users, {stats.nodes.get('Item', 0):,} items, "
        f"{stats.nodes.get('Entity', 0):,} entities, {stats.nodes.get('Interest', 0):,} interests; "
        f"interactions {stats.interactions}; {stats.kg_triples:,} KG triples over "
        f"{stats.kg_relations} relations; {stats.interest_edges:,} interest edges."
    )
    from kgrec.training import train_and_write

    click.echo(f"Training CIKGRec on {DEMO_DATASET} for {epochs} epochs (validation picks the best epoch) ...")
    outcome = train_and_write(store, DEMO_DATASET, "cikgrec", epochs=epochs, patience=epochs)
    result = outcome.results[0]
    test = outcome.summary
    click.echo(
        f"CIKGRec, best epoch {result.best_epoch + 1}/{result.epochs_run}, {result.seconds_per_epoch:.1f} s/epoch: "
        + "  ".join(f"{name} {test[name]['mean']:.4f}" for name in
                    ("recall@20", "ndcg@20", "recall@50", "ndcg@50", "recall@100", "ndcg@100"))
    )
    click.echo(f"Wrote {outcome.recommendations_written:,} recommendations to Neo4j (run {outcome.run_id}); "
               f"try: kgrec recommend --dataset {DEMO_DATASET} --user 0")
