"""``kgrec ingest --bulk`` against the import tool alone and the normal ingest, on private servers only.

For each set (dbbook2014 from the data lookup order; ``synthetic-846k``, the set of
``ingest.synthetic`` at 846,434 interactions):

- **import tool**: the records as CSV (the product's ``ingest.bulk.write_csv``; not timed here),
  then ``neo4j-admin database import full`` with the product's arguments into the database of a
  stopped private home; wall time of that one command, JVM start included (as ``bench/scale.py``);
- **--bulk**: ``kgrec.api.ingest_bulk`` into the empty database of a running private server: parse,
  CSV, stop, import, start, schema and the ``:Dataset`` bookkeeping, end to end;
- **normal ingest**: ``kgrec.api.ingest`` (parse + ``write_dataset``, a first load: CREATE) into the
  empty database of a freshly started private server, as a user's first load would run.

The two ratios are ``--bulk`` / import tool (the goal: <= 1.0, at most 1.5) and normal / import
tool. Writes ``bench/results/bulk_ingest.json``.

    .venv/bin/python bench/bulk_ingest.py [--sets dbbook2014 synthetic-846k] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _server(home: Path):
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port

    return LocalNeo4j(home, ServerOptions(bolt_port=free_port(), http_port=free_port(), heap="1g", page_cache="1g"))


def _folder_for(name: str, work: Path) -> Path:
    if name == "dbbook2014":
        from ingest.locate import locate_dataset

        return locate_dataset("dbbook2014")
    from ingest.synthetic import SCALE_846K, SyntheticConfig, write_synthetic

    interactions = SCALE_846K if name == "synthetic-846k" else int(name.removeprefix("synthetic-"))
    return write_synthetic(work / name, SyntheticConfig(interactions=interactions)).folder


def _import_tool(folder: Path, work: Path) -> dict:
    from ingest import read_cikg
    from ingest.bulk import import_arguments, write_csv

    records = read_cikg(folder, "bench")
    started = time.perf_counter()
    csv = write_csv(records, work / "csv", datetime.now(UTC), progress=False)
    csv_s = time.perf_counter() - started
    server = _server(work / "import-home")
    started = time.perf_counter()
    result = server.admin(*import_arguments(csv, "neo4j", work / "import.report"))
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"import tool failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return {"wall_s": round(wall, 3), "csv_s_not_counted": round(csv_s, 3), "nodes": csv.nodes,
            "relationships": csv.relationships}


def _timed_ingest(home: Path, ingest) -> tuple[float, object]:
    """Wall time of ``ingest(store, home)`` on a freshly started private server, stopped afterwards."""
    from kg_store.connection import GraphStore

    server = _server(home)
    server.start()
    try:
        store = GraphStore(server.connection_settings())
        started = time.perf_counter()
        report = ingest(store, server.home)
        return time.perf_counter() - started, report
    finally:
        server.stop()


def _bulk(folder: Path, work: Path) -> dict:
    from kgrec import api

    wall, report = _timed_ingest(work / "bulk-home", lambda store, home: api.ingest_bulk(
        store, "cikg", folder, "bench", progress=False, local_home=home))
    return {"wall_s": round(wall, 3), "steps_s": report.steps, "parse_s": round(wall - report.seconds, 3),
            "nodes": report.nodes_written, "relationships": report.relationships_written, "version": report.version}


def _normal(folder: Path, work: Path) -> dict:
    from kgrec import api

    wall, report = _timed_ingest(work / "normal-home",
                                 lambda store, home: api.ingest(store, "cikg", folder, "bench", progress=False))
    return {"wall_s": round(wall, 3), "steps_s": report.steps, "mode": report.mode,
            "nodes": report.nodes_written, "relationships": report.relationships_written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=["dbbook2014"])
    parser.add_argument("--note", default="", help="Recorded with the results (e.g. what else ran).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "bulk_ingest.json")
    args = parser.parse_args()
    from kg_store.connection import close_all_drivers

    rows = []
    load_before = os.getloadavg()
    for name in args.sets:
        with tempfile.TemporaryDirectory(prefix="kgrec-bulk-bench-") as tmp:
            work = Path(tmp)
            folder = _folder_for(name, work)
            tool = _import_tool(folder, work)
            print(f"{name}: import tool {tool['wall_s']} s", flush=True)
            bulk = _bulk(folder, work)
            print(f"{name}: --bulk {bulk['wall_s']} s {bulk['steps_s']}", flush=True)
            normal = _normal(folder, work)
            print(f"{name}: normal ingest {normal['wall_s']} s", flush=True)
            close_all_drivers()
            rows.append({"set": name, "import_tool": tool, "bulk": bulk, "normal_ingest": normal,
                         "bulk_over_import_tool": round(bulk["wall_s"] / tool["wall_s"], 2),
                         "normal_over_import_tool": round(normal["wall_s"] / tool["wall_s"], 2)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "note": args.note,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "servers": "private local Neo4j 5.26 per measurement (temporary home, free ports, heap 1g, page cache 1g)",
        "sets": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
