"""Scale benchmark: ingest, export, write-back and training at 66k and 846k interactions.

For each set (dbbook2014, and the synthetic set of ``ingest.synthetic`` at 846,434 interactions)
on one private local Neo4j (temporary home, free ports, heap and page cache 2 GB; started for the
bench and warmed up by one small synthetic load, export and write-back, then dropped):

- **import tool**: the same records as CSV, ``neo4j-admin database import full`` into an empty
  database of a second, stopped home; wall time including the JVM start (CSV writing not counted);
- **kgrec ingest**: parse + ``write_dataset`` into a new dataset (a first load: CREATE);
- **export**: ``export_dataset`` without the cache, twice, the better one's rows/s;
- **write-back**: top-20 of every user (random scores) as TOP_K lists, a first run and a replacing
  run, then lists + RECOMMENDED edges (replacing), rows/s;
- **training** (``--train``): LightGCN and CIKGRec, each in its own process (so peak RSS is its
  own) on the exported arrays: seconds per epoch, full-ranking test evaluation over all users
  (batched), peak RSS.

Writes ``bench/results/scale.json``.

    .venv/bin/python bench/scale.py [--sets dbbook2014 synthetic-846k] [--train] [--threads 2] [--epochs 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from bench.saved_exports import device_name, gpu_peak_mb  # noqa: E402

TOP_K = 20


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _import_tool(records, work: Path) -> dict:
    """The records as CSV, loaded by ``neo4j-admin database import full`` into an empty database."""
    from kg_store.graph_model import RelationAllowList
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port

    csv_dir = work / "csv"
    csv_dir.mkdir(parents=True)
    name = records.name
    nodes = {"User": records.users, "Item": records.items, "Entity": records.entities,
             "Interest": records.interests}
    for label, rows in nodes.items():
        _write_csv(csv_dir / f"{label}.csv", [f"id:ID({label})", "dataset"], ((r[0], name) for r in rows))
    allow = RelationAllowList(records.relation_types)
    _write_csv(csv_dir / "INTERACTED.csv", [":START_ID(User)", ":END_ID(Item)", "split"],
               ((u, i, s) for u, i, s, *_ in records.interactions))
    _write_csv(csv_dir / "LINKED_TO.csv", [":START_ID(Item)", ":END_ID(Entity)"], records.item_entities)
    _write_csv(csv_dir / "HAS_INTEREST.csv", [":START_ID(User)", ":END_ID(Interest)", "set", "weight:double"],
               ((u, j, "authors", 1.0) for u, j in records.user_interests))
    _write_csv(csv_dir / "triples.csv", [":START_ID(Entity)", ":TYPE", ":END_ID(Entity)"],
               ((h, allow.check(records.relation_types[r]), t) for h, r, t in records.triples))
    server = LocalNeo4j(work / "home", ServerOptions(bolt_port=free_port(), http_port=free_port()))
    args = ["database", "import", "full", "neo4j", "--id-type=integer", "--overwrite-destination=true",
            f"--report-file={work / 'import.report'}",
            *[f"--nodes={label}={csv_dir / label}.csv" for label in nodes],
            *[f"--relationships={kind}={csv_dir / kind}.csv" for kind in ("INTERACTED", "LINKED_TO", "HAS_INTEREST")],
            f"--relationships={csv_dir / 'triples.csv'}"]
    started = time.perf_counter()
    result = server.admin(*args)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import tool failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    relationships = (len(records.interactions) + len(records.item_entities) + len(records.user_interests)
                     + len(records.triples))
    return {"wall_s": round(wall, 3), "relationships": relationships,
            "relationships_per_s": round(relationships / wall)}


def _ingest(store, folder: Path, dataset: str, workers: int | None = None) -> tuple[dict, object]:
    from ingest import read_cikg, write_dataset
    from ingest.writer import DEFAULT_INGEST_WORKERS

    workers = workers or DEFAULT_INGEST_WORKERS
    started = time.perf_counter()
    records = read_cikg(folder, dataset)
    parse_s = time.perf_counter() - started
    report = write_dataset(store, records, progress=False, workers=workers)
    wall = time.perf_counter() - started
    rels = report.relationships_written
    return {"wall_s": round(wall, 3), "parse_s": round(parse_s, 3), "mode": report.mode, "workers": workers,
            "nodes": report.nodes_written, "relationships": rels, "relationships_per_s": round(rels / wall),
            "steps_s": report.steps}, records


def _export(store, dataset: str, save_to: Path, repeat: int = 2, keep_in: Path | None = None) -> dict:
    """``repeat`` exports without the cache; the best is the figure, all are kept."""
    from kg_store.export import export_dataset

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        export = export_dataset(store, dataset, use_cache=False)
        times.append(round(time.perf_counter() - started, 3))
    rows = sum(len(getattr(export, name)) for name in export._ARRAYS if name != "interaction_split")
    export.save(save_to)
    if keep_in is not None:  # e.g. to carry to a GPU machine that has no Neo4j (bench/gpu_bench.sh)
        import shutil

        keep_in.mkdir(parents=True, exist_ok=True)
        shutil.copy(save_to, keep_in / save_to.name)
    return {"seconds": min(times), "runs_s": times, "rows": rows, "rows_per_s": round(rows / min(times))}


def _writeback(store, dataset: str, export_path: Path) -> dict:
    """Top-20 of every user as TOP_K lists alone (a first run, then a replacing one), then lists + the
    RECOMMENDED edges (edges="always", replacing again): rows (user x item) per second for each."""
    from kg_store.graph_export import GraphExport
    from kg_store.writeback import write_recommendations

    export = GraphExport.load(export_path)
    rng = np.random.default_rng(0)
    top = np.stack([rng.choice(export.n_items, TOP_K, replace=False) for _ in range(export.n_users)])
    scores = np.sort(rng.random(top.shape, dtype=np.float32), axis=1)[:, ::-1]
    row = {}
    # run ids are global in the graph, so each set's runs get their own
    for label, run, edges in (("lists_first", "a", "never"), ("lists_replace", "b", "never"),
                              ("lists_and_edges_replace", "c", "always")):
        started = time.perf_counter()
        rows = write_recommendations(store, dataset, "bench", f"{dataset}-{run}", export.user_ids, export.item_ids, top, scores,
                                     progress=False, edges=edges)
        seconds = time.perf_counter() - started
        row[label] = {"seconds": round(seconds, 3), "rows": rows, "rows_per_s": round(rows / seconds)}
    return row


def _train_worker(args: argparse.Namespace) -> None:
    """One model on a saved export, in its own process: epochs, full-ranking evaluation, peak RSS."""
    import torch

    from kg_store.graph_export import GraphExport
    from recommender.config import resolve_config
    from recommender.data import from_export
    from recommender.trainer import Trainer

    torch.set_num_threads(args.threads)
    export = GraphExport.load(args.export)
    # dbbook2014's tuned settings for both sets, so the per-epoch figures compare like with like
    model_config, train_config = resolve_config(args.model, "dbbook2014", threads=args.threads)
    data = from_export(export, valid_ratio=0.0, seed=train_config.seed)
    trainer = Trainer(data, args.model, model_config, train_config, progress=False)
    epochs = []
    for epoch in range(args.epochs):
        started = time.perf_counter()
        trainer.train_epoch(epoch)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        epochs.append(round(time.perf_counter() - started, 3))
    started = time.perf_counter()
    trainer.evaluate("test")
    print(json.dumps({"model": args.model, "threads": args.threads, "batch_size": train_config.batch_size,
                      "epochs_s": epochs, "epoch_s": round(sum(epochs) / len(epochs), 3),
                      "eval_s": round(time.perf_counter() - started, 3),
                      "eval_batch_size": train_config.eval_batch_size, "peak_rss_mb": _rss_mb(),
                      "device": device_name(trainer.device), "peak_gpu_mb": gpu_peak_mb(trainer.device)}))


def _estimate_worker(args: argparse.Namespace) -> None:
    """``kgrec train --estimate``'s calibration on a saved export, in its own process."""
    import torch

    from kg_store.graph_export import GraphExport
    from kgrec.estimate import estimate_for_export

    torch.set_num_threads(args.threads)
    found = estimate_for_export(GraphExport.load(args.export), args.model, config_dataset="dbbook2014",
                                threads=args.threads, valid_ratio=0.0)
    print(json.dumps({"estimate": found.as_dict()}))


def _train(export_path: Path, model: str, threads: int, epochs: int) -> dict:
    command = [sys.executable, __file__, "--train-worker", "--export", str(export_path), "--model", model,
               "--threads", str(threads), "--epochs", str(epochs)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return {"model": model, "error": result.stderr[-1500:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _warm_up(store, work: Path) -> None:
    """Every measured query once on a small set, so the server's JIT is warm for all sets alike."""
    from ingest.synthetic import SyntheticConfig, write_synthetic
    from kg_store.datasets import drop_dataset

    folder = write_synthetic(work / "warm-up", SyntheticConfig(interactions=20_000, seed=99)).folder
    _ingest(store, folder, "bench-warm-up")
    _export(store, "bench-warm-up", work / "warm-up.npz", repeat=1)
    _writeback(store, "bench-warm-up", work / "warm-up.npz")
    drop_dataset(store, "bench-warm-up")


def _folder_for(name: str, work: Path) -> Path:
    if name == "dbbook2014":
        from ingest.locate import locate_dataset

        return locate_dataset("dbbook2014")
    from ingest.synthetic import SCALE_846K, SyntheticConfig, write_synthetic

    interactions = SCALE_846K if name == "synthetic-846k" else int(name.removeprefix("synthetic-"))
    return write_synthetic(work / name, SyntheticConfig(interactions=interactions)).folder


def _bench_set(store, name: str, work: Path, args: argparse.Namespace) -> dict:
    folder = _folder_for(name, work)
    ours, records = _ingest(store, folder, f"bench-{name}", args.workers)
    print(f"{name}: kgrec ingest {ours['wall_s']} s ({ours['relationships_per_s']:,} rel/s, {ours['mode']})", flush=True)
    tool = None if args.skip_import else _import_tool(records, work / f"import-{name}")
    print(f"{name}: import tool {tool and tool['wall_s']} s", flush=True)
    del records
    export_path = work / f"{name}.npz"
    export = _export(store, f"bench-{name}", export_path, keep_in=args.keep_exports)
    print(f"{name}: export {export['seconds']} s ({export['rows_per_s']:,} rows/s)", flush=True)
    writeback = _writeback(store, f"bench-{name}", export_path)
    print(f"{name}: write-back {writeback}", flush=True)
    row = {"set": name, "ingest": ours, "import_tool": tool, "export": export, "writeback": writeback}
    if args.train:
        row["training"] = [_train(export_path, model, args.threads, args.epochs) for model in args.models]
        print(f"{name}: training {row['training']}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=["dbbook2014", "synthetic-846k"])
    parser.add_argument("--train", action="store_true", help="Also time LightGCN and CIKGRec epochs.")
    parser.add_argument("--models", nargs="*", default=["lightgcn", "cikgrec"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None,
                        help="Sessions per ingest step (default: the writer's default).")
    parser.add_argument("--skip-import", action="store_true", help="Leave out the import tool.")
    parser.add_argument("--keep-exports", type=Path, default=None,
                        help="Copy each set's export (.npz) into this folder, for training elsewhere.")
    parser.add_argument("--note", default="", help="Recorded with the results (e.g. what else ran).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    parser.add_argument("--train-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--estimate-only", action="store_true",
                        help="With --train-worker --export F --model M: the --estimate calibration only.")
    args = parser.parse_args()
    if args.train_worker:
        _estimate_worker(args) if args.estimate_only else _train_worker(args)
        return
    from kg_store.connection import GraphStore, close_all_drivers
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port

    rows = []
    with tempfile.TemporaryDirectory(prefix="kgrec-scale-") as tmp:
        work = Path(tmp)
        server = LocalNeo4j(work / "neo4j", ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                                           heap="2g", page_cache="2g"))
        server.start()
        try:
            store = GraphStore(server.connection_settings())
            _warm_up(store, work)
            for name in args.sets:
                rows.append(_bench_set(store, name, work, args))
        finally:
            close_all_drivers()
            server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
                                    "note": args.note, "client_peak_rss_mb": _rss_mb(), "sets": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
