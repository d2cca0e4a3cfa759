"""LLM knowledge end to end on a real dataset: infer interests with the packaged SmolLM2 from train
histories, cluster them into an interest set, and train CIKGRec with that set against no interests
and/or another set (``--compare-with authors`` on dbbook2014: the CIKGRec authors' shipped clusters).

Resumable: the LLM answers live in the Neo4j cache, so a re-run after a kill sends only what was
never answered; each finished step appends one JSON line to ``bench/results/knowledge_e2e.jsonl``.
The answers are also exported to ``bench/results/llm_cache/<dataset>-interests.jsonl`` (for a
dataset whose answers ship with kgrec, dbbook2014, to that shipped file: ``shipped_response_cache``) and
imported first on the next run, so a later run on a fresh machine resumes instead of paying
again (``--stop-after N`` sends at most N prompts, to split a long run into several).
Uses the server that ``kgrec`` connects to (``NEO4J_URI`` or the local one: ``kgrec neo4j start``).

    .venv/bin/python bench/knowledge_e2e.py --dataset ml-100k --path DIR [--domain movies]
        [--seeds 3] [--epochs 60] [--threads 2] [--skip-train]
    .venv/bin/python bench/knowledge_e2e.py --dataset dbbook2014 --domain books --compare-with authors
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.jsonl_results import append_result  # noqa: E402

RESULTS = REPO / "bench" / "results" / "knowledge_e2e.jsonl"
CACHE_DIR = REPO / "bench" / "results" / "llm_cache"  # answers carried between runs and machines (JSONL)


def _append(row: dict) -> None:
    append_result(RESULTS, row)


def _infer(store, args) -> None:
    import torch

    from knowledge.interests.infer import InferConfig, infer_interests
    from knowledge.llm.base import create_backend

    torch.set_num_threads(args.threads)
    backend = create_backend(args.backend, batch_size=args.batch_size, num_threads=args.threads)
    from ingest.locate import shipped_response_cache
    from knowledge.llm.cache import export_jsonl, import_jsonl

    carried = shipped_response_cache(args.dataset, "interests") or CACHE_DIR / f"{args.dataset}-interests.jsonl"
    if carried.exists():
        import_jsonl(store, carried)
    config = InferConfig(max_items=args.max_items, batch_size=args.batch_size, domain=args.domain)
    started = time.perf_counter()
    try:
        report = infer_interests(store, args.dataset, backend, config, limit=args.stop_after)
    finally:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        export_jsonl(store, carried, task=config.task(args.dataset))
    run = report.run
    _append({"step": "infer", "dataset": args.dataset, "model": backend.model_id, "users": report.users,
             "prompts": run.prompts, "cached": run.cached, "sent": run.sent, "completion_tokens": run.completion_tokens,
             "backend_seconds": round(run.seconds, 1), "tokens_per_s": round(run.tokens_per_second, 2),
             "wall_s": round(time.perf_counter() - started, 1), "unparseable": report.unparseable,
             "threads": args.threads, "batch_size": args.batch_size})


def _cluster(store, args) -> None:
    from kg_store.interest_sets import write_interest_set
    from knowledge.interests.cluster import ClusterOptions, cluster_interests
    from knowledge.interests.infer import inferred_phrases

    phrases = inferred_phrases(store, args.dataset)
    started = time.perf_counter()
    clustering = cluster_interests(phrases, ClusterOptions(method="hdbscan", min_cluster_size=args.min_cluster_size))
    written = write_interest_set(store, args.dataset, args.set, clustering)
    _append({"step": "cluster", "dataset": args.dataset, "set": args.set, "users_with_phrases": len(phrases),
             "quality": clustering.quality, **written, "seconds": round(time.perf_counter() - started, 1)})


def _train(store, args) -> None:
    from kgrec.training import train_and_write

    seeds = [2024 + n for n in range(args.seeds)]
    variants = [(args.set, {"interest_set": args.set})]
    for other in args.compare_with:
        variants.append((other, {"use_interests": False} if other == "no-interests" else {"interest_set": other}))
    for label, options in variants:
        outcome = train_and_write(store, args.dataset, "cikgrec", seeds=seeds, epochs=args.epochs,
                                  threads=args.threads, write_back=False, **options)
        _append({"step": "train", "dataset": args.dataset, "variant": label, "seeds": seeds, "max_epochs": args.epochs,
                 "best_epochs": [r.best_epoch + 1 for r in outcome.results],
                 "s_per_epoch": round(sum(r.seconds_per_epoch for r in outcome.results) / len(outcome.results), 2),
                 "test_mean_std": outcome.summary, "selection": "validation (stored split)"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--path", type=Path, default=None, help="Ingest this folder first (catalog layout).")
    parser.add_argument("--domain", default="items")
    parser.add_argument("--set", default="smollm2-hdbscan")
    parser.add_argument("--max-items", type=int, default=30)
    parser.add_argument("--backend", choices=["transformers", "llama-cpp"], default="transformers",
                        help="Local runtime of the packaged SmolLM2 GGUF; answers are cached per runtime.")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--min-cluster-size", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true", help="Train on the set as it is in the graph.")
    parser.add_argument("--compare-with", nargs="+", default=["no-interests"],
                        help="What our set trains against: 'no-interests' and/or other interest sets "
                             "(dbbook2014: 'authors', the CIKGRec authors' shipped clusters).")
    parser.add_argument("--stop-after", type=int, default=None, help="Send at most N new prompts this run.")
    args = parser.parse_args()

    from kgrec import api

    store = api.connect()
    if args.path:
        report = api.ingest_named(store, args.dataset, path=args.path)
        _append({"step": "ingest", "dataset": args.dataset, "seconds": report.seconds, "notes": report.notes})
    _infer(store, args)
    if args.stop_after is not None:
        return
    if not args.skip_cluster:
        _cluster(store, args)
    if not args.skip_train:
        _train(store, args)


if __name__ == "__main__":
    main()
