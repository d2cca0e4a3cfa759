"""``kgrec interests list|infer|cluster``: interest sets side by side in the graph.

``infer`` asks an LLM for each user's interests (resumable: answers are cached in Neo4j as they
arrive); ``cluster`` turns phrases into an interest set; ``list`` shows the sets.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kg_store.errors import KgrecError
from kgrec.cli.common import KgrecGroup, open_store
from kgrec.cli.llm_options import echo_run, llm_options, make_backend
from knowledge.llm.runner import Shard


@click.group("interests", cls=KgrecGroup)
def interests() -> None:
    """Interest sets of a dataset (the authors' clusters, LLM-derived ones, ...)."""


@interests.command("list")
@click.option("--dataset", required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_sets(ctx: click.Context, dataset: str, as_json: bool) -> None:
    """Each interest set with its cluster count, users covered and edges."""
    from dataclasses import asdict

    from kgrec.graph_api import interest_sets

    sets = interest_sets(dataset, store=open_store(ctx))
    if as_json:
        click.echo(json.dumps([asdict(s) for s in sets], indent=2))
        return
    if not sets:
        click.echo(f"Dataset '{dataset}' has no interest sets.")
    for info in sets:
        click.echo(f"{info.set:<24} {info.clusters:>7,} clusters {info.users:>9,} users {info.edges:>10,} edges")


@interests.command("infer")
@click.option("--dataset", required=True)
@click.option("--max-items", type=click.IntRange(1), default=30, show_default=True,
              help="Train items per prompt (the reference shows 30).")
@click.option("--domain", default="items", show_default=True, help="movies, books, ...")
@llm_options
@click.pass_context
def infer(ctx: click.Context, dataset: str, max_items: int, domain: str, backend: str, model: str,
          endpoints: tuple[str, ...], batch_size: int, limit: int | None, shard: Shard | None, dry_run: bool,
          progress: bool | None) -> None:
    """Ask the LLM for each user's interests from train items only (store a valid split first)."""
    from kgrec.pipeline import infer_interests

    report = infer_interests(dataset, make_backend(backend, model, endpoints), store=open_store(ctx), max_items=max_items,
                             batch_size=batch_size, domain=domain, limit=limit, dry_run=dry_run,
                             progress=progress, shard=shard).report
    echo_run(report.run, dry_run)
    if not dry_run:
        click.echo(f"{report.users:,} users; {report.unparseable:,} answers without a usable phrase. "
                   f"Next: kgrec interests cluster --dataset {dataset} --from-cache --set NAME")


@interests.command("cluster")
@click.option("--dataset", required=True)
@click.option("--set", "set_name", required=True, help="Name of the interest set to (re)write.")
@click.option("--phrases", "phrases_file", type=click.Path(path_type=Path), default=None,
              help='JSONL lines {"user": id, "phrases": [...]}.')
@click.option("--from-cache", is_flag=True,
              help="Parse the answers 'kgrec interests infer' stored in the graph (the LLM cache).")
@click.option("--method", type=click.Choice(["hdbscan", "kmeans"]), default="hdbscan", show_default=True)
@click.option("--min-cluster-size", type=click.IntRange(2), default=5, show_default=True, help="hdbscan")
@click.option("--components", "n_components", type=click.IntRange(2), default=5, show_default=True,
              help="hdbscan: UMAP dimensions")
@click.option("--noise", type=click.Choice(["nearest", "drop"]), default="nearest", show_default=True,
              help="hdbscan: noise phrases join the nearest cluster or are dropped")
@click.option("--k", type=click.IntRange(1), default=350, show_default=True, help="kmeans: clusters")
@click.option("--max-user-share", type=click.FloatRange(0, 1, min_open=True), default=0.2, show_default=True,
              help="kmeans: drop clusters held by at least this share of users")
@click.option("--encoder", default=None, help="Sentence-transformers model name or path (default: packaged MiniLM).")
@click.option("--seed", type=int, default=2024, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def cluster(ctx: click.Context, dataset: str, set_name: str, phrases_file: Path | None, from_cache: bool,
            as_json: bool, **options: object) -> None:
    """Cluster users' phrases and write them as interest set SET (replacing only that set)."""
    from kg_store.interest_sets import check_interest_set_name
    from kgrec.pipeline import cluster_interests, interest_phrases

    check_interest_set_name(set_name)
    if (phrases_file is None) == (not from_cache):
        raise KgrecError("Give exactly one of --phrases FILE.jsonl and --from-cache.")
    store = open_store(ctx)
    user_phrases = interest_phrases(dataset, phrases_file, store=store)
    if not user_phrases:
        raise KgrecError(f"No interest phrases for '{dataset}': run 'kgrec interests infer --dataset {dataset}' "
                         "first, or pass --phrases FILE.jsonl.")
    found = cluster_interests(dataset, set_name, store=store, phrases=user_phrases, allow_empty=True, **options)
    clustering, written = found.clustering, found.written
    if as_json:
        click.echo(json.dumps({"set": set_name, "quality": clustering.quality, **written}, indent=2))
        return
    quality = clustering.quality
    click.echo(f"{set_name}: {written['interests']:,} interests, {written['edges']:,} user edges "
               f"({written['edges_skipped']:,} for users not in '{dataset}' skipped); "
               f"silhouette {quality.get('silhouette', float('nan')):.3f}, noise {quality['noise_share']:.1%}.")
