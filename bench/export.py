"""Export benchmark: dbbook2014 from Neo4j into arrays, without and with the on-disk cache.

    .venv/bin/python bench/export.py [--repeat 3]

Needs dbbook2014 in the graph (``make demo`` or ``kgrec ingest cikg``); uses ``NEO4J_*`` or the
local server. Writes ``bench/results/export.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="dbbook2014")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "export.json")
    args = parser.parse_args()
    from kg_store.export import export_dataset
    from kgrec.api import connect

    store = connect()
    runs = []
    with tempfile.TemporaryDirectory() as cache:
        for attempt in range(args.repeat):
            for cached in (False, True):
                started = time.perf_counter()
                export = export_dataset(store, args.dataset, cache_dir=Path(cache), use_cache=cached or attempt == 0)
                seconds = time.perf_counter() - started
                rows = (len(export.user_ids) + len(export.item_ids) + len(export.entity_ids) + len(export.interest_ids)
                        + len(export.interactions) + len(export.triples) + len(export.item_entities)
                        + len(export.user_interests))
                runs.append({"cached": export.stats["cached"], "seconds": round(seconds, 3), "rows": rows,
                             "rows_per_s": round(rows / seconds)})
                print(f"{'cache hit ' if export.stats['cached'] else 'from Neo4j'}  {seconds:6.3f} s  "
                      f"{rows:,} rows  {rows / seconds:,.0f} rows/s", flush=True)
    result = {"dataset": args.dataset, "runs": runs,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"peak RSS {result['peak_rss_mb']} MB; wrote {args.out}")


if __name__ == "__main__":
    main()
