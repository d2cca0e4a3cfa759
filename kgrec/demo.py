"""The README's main job: the whole CIKGRec story on a local default, needing nothing but the install.

Stages, each a few log lines: start Neo4j and ingest; ask the packaged SmolLM2 for every user's
interests (answered from the shipped response cache where a prompt is in it, live for the rest);
cluster the phrases into an interest set; train CIKGRec on that set; write the top-K back; show
one user's top five, each with its best explanation path; then point at Neo4j Browser and
``kgrec serve``. dbbook2014 ships with kgrec, so the job runs on a machine with no network beyond
the package registries; ``--dataset`` runs it on any catalog dataset that is present.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from kg_store.connection import GraphStore
from kg_store.datasets import dataset_stats
from kg_store.progress import Progress
from kg_store.settings import settings_from_env
from kgrec import api
from knowledge.interests.cluster import ClusterOptions
from knowledge.llm.base import ChatBackend

DEMO_DATASET = "dbbook2014"
DEMO_EPOCHS = 20  # a short fixed-length run: a few minutes on a 2-core CPU
DEMO_SET = "smollm2"  # the interest set the demo's LLM answers are clustered into
DEMO_BACKEND = "transformers"  # the backend whose answers the shipped cache holds
TOP = 5
STAGES = 6


@dataclass(frozen=True)
class DemoOptions:
    dataset: str = DEMO_DATASET
    path: Path | None = None
    epochs: int = DEMO_EPOCHS
    progress: Progress = None
    verify: bool = True
    graph_name: str | None = None  # the dataset's name in the graph; None: the catalog name
    backend: str | ChatBackend = DEMO_BACKEND
    cluster: ClusterOptions = ClusterOptions()
    live_limit: int | None = None  # at most this many prompts go to the LLM live; None: all missing ones
    user: int | None = None  # whose recommendations are shown; None: user 0
    train_overrides: dict[str, Any] = field(default_factory=dict)  # more train_and_write settings


    @property
    def graph(self) -> str:
        return self.graph_name or self.dataset


def _stage(number: int, title: str) -> None:
    click.echo(f"[{number}/{STAGES}] {title}")


def _say(text: str) -> None:
    click.echo(f"      {text}")


def run_demo(options: DemoOptions, neo4j_home: Path, database: str | None = None) -> None:
    """Run every stage in order; each stage's failure stops the job with kgrec's error for it.

    Starts kgrec's own Neo4j in ``neo4j_home`` unless ``NEO4J_URI`` is set, as ``kgrec demo`` does.

    ```python
    import kgrec

    kgrec.run_demo(kgrec.DemoOptions(epochs=5, live_limit=0), kgrec.neo4j_home())
    ```
    """
    named = api.resolve_named(options.dataset, options.path)  # fails before anything starts; not looked up again
    browser_url = None
    if settings_from_env() is None:
        status = api.start_local_neo4j(neo4j_home)
        browser_url = status.browser_url
        click.echo(f"Neo4j running at {status.bolt_uri}")
    run_stages(api.connect(database=database, local_home=neo4j_home), options, named, browser_url)


def run_stages(store: GraphStore, options: DemoOptions, folder: Path | api.NamedDataset,
               browser_url: str | None = None) -> None:
    """Every stage after Neo4j is up, on ``store``; ``folder``: the dataset as ``run_demo`` resolved it,
    or a folder that holds ``options.dataset`` (then resolved here, once)."""
    started = time.perf_counter()
    named = folder if isinstance(folder, api.NamedDataset) else api.resolve_named(options.dataset, folder)
    _ingest(store, options, named)
    _infer(store, options)
    _cluster(store, options.graph, options.cluster)
    run_id = _train(store, options)
    user = _show_top(store, options, run_id)
    _next_steps(options.graph, user, browser_url)
    click.echo(f"Done in {time.perf_counter() - started:.0f} s.")


def _ingest(store: GraphStore, options: DemoOptions, named: api.NamedDataset) -> None:
    _stage(1, f"Ingest {options.dataset} from {named.folder}")
    report = api.ingest_named(store, named, dataset=options.graph, progress=options.progress, verify=options.verify)
    for note in report.notes:
        _say(f"note: {note}")
    stats = dataset_stats(store, options.graph)
    _say(f"ingested in {report.seconds:.1f} s ({report.relationships_created:,} new relationships): "
         f"{stats.nodes.get('User', 0):,} users, {stats.nodes.get('Item', 0):,} items, "
         f"{stats.nodes.get('Entity', 0):,} entities, {stats.kg_triples:,} KG triples")


def _infer(store: GraphStore, options: DemoOptions) -> None:
    """Import the shipped answers into the graph's cache, then ask for the users still missing."""
    from ingest.locate import shipped_response_cache
    from knowledge.interests.infer import InferConfig, infer_interests
    from knowledge.llm import cache
    from knowledge.llm.base import create_backend

    backend = create_backend(options.backend)
    _stage(2, f"User interests from the LLM {backend.model_id} (CIKGRec Eq. 1)")
    shipped = shipped_response_cache(options.dataset, "interests")
    if shipped is not None:
        read, created = cache.import_jsonl(store, shipped)
        _say(f"shipped response cache: {read:,} answers ({created:,} new in the graph)")
    domain = "books" if "book" in options.dataset else "items"
    report = infer_interests(store, options.graph, backend, InferConfig(domain=domain),
                             limit=options.live_limit, progress=options.progress)
    run = report.run
    live = f"{run.sent:,} asked live ({run.seconds:.1f} s, {run.tokens_per_second:.0f} tokens/s)" if run.sent \
        else "0 asked live"
    _say(f"{report.users:,} users: {run.cached:,} answered from the cache, {live}")
    if run.would_send > run.sent:
        _say(f"{run.would_send - run.sent:,} users left without an answer (--live-limit)")
    if report.unparseable:
        _say(f"{report.unparseable:,} answers named no usable interest")


def _cluster(store: GraphStore, dataset: str, options: ClusterOptions) -> None:
    """Through :func:`kgrec.cluster_interests`, which refuses to write a clustering with no interest."""
    from kgrec.pipeline import cluster_interests
    from knowledge.interests.infer import inferred_phrases

    _stage(3, f"Clustering the phrases into interest set '{DEMO_SET}' (MiniLM, UMAP, HDBSCAN)")
    started = time.perf_counter()
    phrases = inferred_phrases(store, dataset)
    found = cluster_interests(dataset, DEMO_SET, store=store, options=options, phrases=phrases)
    quality = found.quality
    _say(f"{sum(map(len, phrases.values())):,} phrases of {len(phrases):,} users -> {found.interests:,} "
         f"interests, {found.edges:,} user edges; silhouette {quality.get('silhouette', float('nan')):.3f}, "
         f"noise {quality['noise_share']:.1%} ({time.perf_counter() - started:.0f} s)")
    largest = sorted(found.clustering.clusters, key=lambda c: -len(c.phrases))[:4]
    _say("largest: " + "; ".join(f'"{c.label}"' for c in largest))


def _train(store: GraphStore, options: DemoOptions) -> str:
    from kgrec.training import train_and_write

    dataset, epochs = options.graph, options.epochs
    _stage(4, f"Training CIKGRec on the CIKG with interest set '{DEMO_SET}' ({epochs} epochs; "
              "validation picks the best)")
    outcome = train_and_write(store, dataset, "cikgrec", epochs=epochs, patience=epochs, progress=options.progress,
                              interest_set=DEMO_SET, **options.train_overrides)
    for note in outcome.notes:
        _say(f"note: {note}")
    result, test = outcome.results[0], outcome.summary
    _say(f"best epoch {result.best_epoch + 1}/{result.epochs_run}, {result.seconds_per_epoch:.1f} s/epoch")
    _say("test: " + "  ".join(f"{name} {test[name]['mean']:.4f}" for name in
                              ("recall@20", "ndcg@20", "recall@50", "ndcg@50")))
    _stage(5, "Write-back")
    _say(f"{outcome.recommendations_written:,} recommendations and the run's vectors written to Neo4j "
         f"(run {outcome.run_id})")
    return outcome.run_id


def _show_top(store: GraphStore, options: DemoOptions, run_id: str) -> int:
    """One user's top five of this run, each with its best explanation path."""
    from kg_store.explain import explain
    from kg_store.writeback import read_recommendations

    user = options.user if options.user is not None else 0
    rows = [row for row in read_recommendations(store, options.graph, user, model="cikgrec", limit=TOP)
            if row["run_id"] == run_id]
    _stage(6, f"User {user}'s top {TOP}, each with its best explanation path")
    for row in rows[:TOP]:
        why = explain(store, options.graph, user, row["item"], top=1)
        path = why.paths[0].text if why.paths else "no path links this user to the item"
        title = row["title"] or f"item {row['item']}"
        _say(f"{row['rank']}. {title} ({row['score']:.2f})")
        _say(f"   why: {path}")
    return user


def _next_steps(dataset: str, user: int, browser_url: str | None) -> None:
    click.echo("Next:")
    if browser_url:
        _say(f"Neo4j Browser: {browser_url} (user neo4j, password: kgrec neo4j password); run")
        _say(f":params {{dataset: '{dataset}', user: {user}, k: {TOP}}}")
        _say("MATCH p = (:User {dataset: $dataset, id: $user})-[r:RECOMMENDED]->(:Item) WHERE r.rank <= $k "
             "RETURN p")
    _say(f"kgrec serve   # then GET http://127.0.0.1:8000/datasets/{dataset}/users/{user}/recommendations")
    _say(f"kgrec explain --dataset {dataset} --user {user} --item ITEM")
