"""Ingest benchmark: dbbook2014 into an empty database on a private local Neo4j.

Each configuration gets a fresh server: a load into the empty database (JVM just started), the
idempotent re-run, and a second dataset loaded into the warmed-up server. Compares batch sizes,
the ``neo4j-rust-ext`` packer on/off, and a synthetic interactions-only set at the 846k scale
(95,594 users and items, 846,434 interactions). Each run is a subprocess, so peak RSS is per run.
Writes ``bench/results/ingest.json`` and prints a table.

``--table`` compares the table source (``kgrec ingest table``) with the CIKG reader on the same
846k synthetic interactions, written once as CIKG ``train.txt`` and as Parquet and CSV tables:
parse rows/s (each read in its own process, the three interleaved, ``--repeats`` times, pyarrow on
``--arrow-threads`` threads), then, unless ``--parse-only``, a full load of each on a fresh server.
Writes ``bench/results/ingest_table.json``.

    .venv/bin/python bench/ingest.py [--data-dir DIR] [--quick]
    .venv/bin/python bench/ingest.py --table [--parse-only] [--repeats 3] [--arrow-threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_OUT = REPO / "bench" / "results" / "ingest.json"


def _worker(args: argparse.Namespace) -> None:
    """Measured loads on a fresh server (runs in its own process, so peak RSS is per run)."""
    if args.no_rust:
        sys.modules["neo4j._rust"] = None  # type: ignore[assignment]  # makes the driver use pure Python
    from ingest import read_cikg, write_dataset
    from kg_store.connection import GraphStore
    from kg_store.datasets import dataset_stats
    from kg_store.settings import Neo4jSettings

    store = GraphStore(Neo4jSettings(uri=args.uri, password=args.password))

    def load(name: str) -> tuple[float, float, object]:
        started = time.perf_counter()
        records = _read(args, name) if args.source == "table" else read_cikg(args.folder, name)
        parse_s = time.perf_counter() - started
        report = write_dataset(store, records, batch_size=args.batch_size, progress=False,
                               concurrent=args.concurrent)
        return time.perf_counter() - started, parse_s, report

    wall, parse_s, report = load("bench")           # empty database, JVM just started
    rerun_wall, _, rerun = load("bench")            # idempotent re-run: must create nothing
    warm_wall, _, warm = load("bench_warm")         # a second dataset, JVM warmed up
    stats = dataset_stats(store, "bench")
    rels = report.relationships_written
    print(json.dumps({
        "wall_s": round(wall, 3), "parse_s": round(parse_s, 3),
        "nodes": report.nodes_written, "relationships": rels,
        "nodes_per_s": round(report.nodes_written / wall), "relationships_per_s": round(rels / wall),
        "steps_s": report.steps,
        "rerun_wall_s": round(rerun_wall, 3), "rerun_created": rerun.nodes_created + rerun.relationships_created,
        "warm_wall_s": round(warm_wall, 3), "warm_relationships_per_s": round(warm.relationships_written / warm_wall),
        "warm_steps_s": warm.steps,
        "stored_relationships": sum(stats.relationships.values()),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


def _read(args: argparse.Namespace, name: str) -> object:
    """The table source's records of the mapping file ``args.folder``, pyarrow on ``args.arrow_threads``."""
    import pyarrow as pa

    from ingest.table import TableSource

    pa.set_cpu_count(args.arrow_threads)
    pa.set_io_thread_count(args.arrow_threads)
    return TableSource.from_options(args.folder, name).read()


def _parse_worker(args: argparse.Namespace) -> None:
    """Parse only (no server): rows/s of one reader, in its own process so that peak RSS is its own.
    Both readers' modules are imported before the clock starts."""
    import ingest.table_load  # noqa: F401
    from ingest import read_cikg

    started = time.perf_counter()
    records = _read(args, "bench") if args.source == "table" else read_cikg(args.folder, "bench")
    seconds = time.perf_counter() - started
    rows = len(records.interactions)
    print(json.dumps({"rows": rows, "users": len(records.users), "items": len(records.items),
                      "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def _tables(scale: Path) -> dict[str, Path]:
    """The synthetic set's pairs as Parquet and CSV tables with a split column, and a mapping for each."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    users, items = [], []
    for line in (scale / "train.txt").read_text().splitlines():
        user, *chosen = map(int, line.split())
        users += [user] * len(chosen)
        items += chosen
    table = pa.table({"user": np.array(users), "item": np.array(items), "split": ["train"] * len(users)})
    pq.write_table(table, scale / "interactions.parquet")
    pa_csv.write_csv(table, scale / "interactions.csv")
    mappings = {}
    for fmt in ("parquet", "csv"):
        mappings[f"table-{fmt}"] = scale / f"mapping-{fmt}.toml"
        mappings[f"table-{fmt}"].write_text(f'[interactions]\nfile = "interactions.{fmt}"\nuser = "user"\n'
                                           'item = "item"\nsplit = "split"\n')
    return mappings


def _parse(label: str, path: Path, arrow_threads: int) -> dict:
    source = "cikg" if label == "cikg" else "table"
    command = [sys.executable, __file__, "--parse-worker", "--source", source, "--folder", str(path),
               "--arrow-threads", str(arrow_threads)]
    result = subprocess.run(command, capture_output=True, text=True, env={**__import__("os").environ,
                                                                          "OMP_NUM_THREADS": "1"})
    if result.returncode != 0:
        raise SystemExit(f"{label} parse failed:\n{result.stderr[-2000:]}")
    row = {"reader": label, **json.loads(result.stdout)}
    print(f"parse {label:<14} {row['rows']:>9,} rows in {row['seconds']:>6.2f} s  {row['rows_per_s']:>9,} rows/s  "
          f"peak {row['peak_rss_mb']:>5.0f} MB", flush=True)
    return row


def _table_bench(args: argparse.Namespace) -> None:
    """The table source against the CIKG reader on the 846k synthetic set (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="kgrec-scale-") as tmp:
        scale = _synthetic_scale(Path(tmp) / "scale")
        paths = {"cikg": scale, **_tables(scale)}
        parses = [_parse(label, path, args.arrow_threads) for _ in range(args.repeats) for label, path in paths.items()]
        loads = [] if args.parse_only else [
            _run("synthetic 846k, cikg", scale, 20_000),
            _run("synthetic 846k, table parquet", paths["table-parquet"], 20_000, source="table",
                 arrow_threads=args.arrow_threads)]
    summary = {label: {"median_rows_per_s": statistics.median(r["rows_per_s"] for r in parses if r["reader"] == label)}
               for label in paths}
    for label, row in summary.items():
        print(f"median {label:<14} {row['median_rows_per_s']:>9,} rows/s")
    out = args.out if args.out != DEFAULT_OUT else REPO / "bench" / "results" / "ingest_table.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
                               "date": time.strftime("%Y-%m-%d"), "arrow_threads": args.arrow_threads,
                               "parse": parses, "parse_median": summary, "loads": loads}, indent=2))
    print(f"wrote {out}")


def _synthetic_scale(folder: Path, users: int = 47_797, items: int = 47_797, total: int = 846_434) -> Path:
    """Interactions-only CIKG folder of the anchor's size (same layout, random pairs)."""
    if (folder / "train.txt").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    per_user = [total // users + (1 if u < total % users else 0) for u in range(users)]
    with (folder / "train.txt").open("w") as handle:
        for user, count in enumerate(per_user):
            handle.write(" ".join(map(str, [user, *rng.sample(range(items), count)])) + "\n")
    return folder


def _run(label: str, folder: Path, batch_size: int, no_rust: bool = False, concurrent: bool = False,
         source: str = "cikg", arrow_threads: int = 1) -> dict:
    """One configuration on its own fresh server: the load starts from an empty database."""
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port

    with tempfile.TemporaryDirectory(prefix="kgrec-bench-") as tmp:
        server = LocalNeo4j(Path(tmp) / "neo4j", ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                                                heap="2g", page_cache="2g"))
        server.start()
        try:
            settings = server.connection_settings()
            command = [sys.executable, __file__, "--worker", "--uri", settings.uri, "--password",
                       settings.password, "--folder", str(folder), "--batch-size", str(batch_size)]
            command += (["--no-rust"] if no_rust else []) + (["--concurrent"] if concurrent else [])
            command += ["--source", source, "--arrow-threads", str(arrow_threads)]
            result = subprocess.run(command, capture_output=True, text=True)
        finally:
            server.stop()
    if result.returncode != 0:
        raise SystemExit(f"{label} failed:\n{result.stderr[-2000:]}")
    row = {"run": label, "batch_size": batch_size, "rust_ext": not no_rust, "concurrent": concurrent,
           **json.loads(result.stdout)}
    print(f"{label:<28} batch {batch_size:>6}  rust {'on ' if not no_rust else 'off'}  "
          f"{'concurrent' if concurrent else 'sequential'}  "
          f"empty-db {row['wall_s']:>6.2f} s ({row['relationships_per_s']:>6,} rel/s)  "
          f"warm {row['warm_wall_s']:>6.2f} s ({row['warm_relationships_per_s']:>6,} rel/s)  "
          f"re-run {row['rerun_wall_s']:>5.2f} s  peak {row['peak_rss_mb']:>4.0f} MB", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--uri"), parser.add_argument("--password"), parser.add_argument("--folder", type=Path)
    parser.add_argument("--no-rust", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--concurrent", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="Skip the batch-size sweep and the scale set.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--parse-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--source", choices=("cikg", "table"), default="cikg", help=argparse.SUPPRESS)
    parser.add_argument("--table", action="store_true",
                        help="The table source against the CIKG reader on the 846k synthetic set.")
    parser.add_argument("--parse-only", action="store_true", help="With --table: parse rates only, no server.")
    parser.add_argument("--repeats", type=int, default=3, help="With --table: parses of each reader.")
    parser.add_argument("--arrow-threads", type=int, default=1, help="With --table: pyarrow's CPU and I/O threads.")
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.parse_worker:
        _parse_worker(args)
        return
    if args.table:
        _table_bench(args)
        return

    from ingest.locate import locate_dataset

    folder = args.data_dir / "dbbook2014" if args.data_dir else locate_dataset("dbbook2014")
    rows = [_run("dbbook2014", folder, 10_000), _run("dbbook2014", folder, 10_000, concurrent=True),
            _run("dbbook2014", folder, 10_000, no_rust=True)]
    if not args.quick:
        for batch in (2_000, 5_000, 20_000, 50_000):
            rows.append(_run("dbbook2014", folder, batch))
        with tempfile.TemporaryDirectory(prefix="kgrec-scale-") as tmp:
            scale = _synthetic_scale(Path(tmp) / "scale")
            rows.append(_run("synthetic 846k interactions", scale, 20_000))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": {"cpus": __import__("os").cpu_count(),
                                                "python": platform.python_version()},
                                    "date": time.strftime("%Y-%m-%d"), "runs": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
