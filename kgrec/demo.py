"""The README's main job, end to end on a local default: it needs nothing but the clone.

dbbook2014 ships in the repository, so ``make demo`` finds it through the lookup order even on a
machine with no network beyond the package registries; ``--dataset`` runs the same job on any
catalog dataset that is present (fetched, or placed by the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from kg_store.datasets import dataset_stats
from kg_store.progress import Progress
from kg_store.settings import settings_from_env
from kgrec import api

DEMO_DATASET = "dbbook2014"
DEMO_EPOCHS = 20  # a short fixed-length run: a few minutes on a 2-core CPU


@dataclass(frozen=True)
class DemoOptions:
    dataset: str = DEMO_DATASET
    path: Path | None = None
    epochs: int = DEMO_EPOCHS
    progress: Progress = None
    verify: bool = True


def run_demo(options: DemoOptions, neo4j_home: Path, database: str | None = None) -> None:
    """Start Neo4j, ingest the dataset, train CIKGRec briefly, write recommendations, print metrics."""
    from ingest.locate import locate_dataset

    folder = locate_dataset(options.dataset, options.path)  # fails before anything starts
    click.echo(f"Dataset {options.dataset}: {folder}")
    if settings_from_env() is None:
        status = api.start_local_neo4j(neo4j_home)
        click.echo(f"Neo4j running at {status.bolt_uri}; Browser at {status.browser_url}")
    store = api.connect(database=database, local_home=neo4j_home)
    report = api.ingest_named(store, options.dataset, path=folder, progress=options.progress,
                              verify=options.verify)
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(f"Ingested {options.dataset} in {report.seconds:.1f} s "
               f"({report.relationships_created:,} new relationships).")
    _print_stats(store, options.dataset)
    _train(store, options)


def _print_stats(store, dataset: str) -> None:
    stats = dataset_stats(store, dataset)
    click.echo(
        f"{stats.nodes.get('User', 0):,} users, {stats.nodes.get('Item', 0):,} items, "
        f"{stats.nodes.get('Entity', 0):,} entities, {stats.nodes.get('Interest', 0):,} interests; "
        f"interactions {stats.interactions}; {stats.kg_triples:,} KG triples over "
        f"{stats.kg_relations} relations; {stats.interest_edges:,} interest edges."
    )


def _train(store, options: DemoOptions) -> None:
    from kgrec.training import train_and_write

    dataset, epochs = options.dataset, options.epochs
    click.echo(f"Training CIKGRec on {dataset} for {epochs} epochs (validation picks the best epoch) ...")
    outcome = train_and_write(store, dataset, "cikgrec", epochs=epochs, patience=epochs, progress=options.progress)
    for note in outcome.notes:
        click.echo(f"note: {note}")
    result, test = outcome.results[0], outcome.summary
    click.echo(
        f"CIKGRec, best epoch {result.best_epoch + 1}/{result.epochs_run}, {result.seconds_per_epoch:.1f} s/epoch: "
        + "  ".join(f"{name} {test[name]['mean']:.4f}" for name in
                    ("recall@20", "ndcg@20", "recall@50", "ndcg@50", "recall@100", "ndcg@100"))
    )
    click.echo(f"Wrote {outcome.recommendations_written:,} recommendations to Neo4j (run {outcome.run_id}); "
               f"try: kgrec recommend --dataset {dataset} --user 0")
