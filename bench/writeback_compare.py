"""Write-back side by side: the row-per-user query it replaced vs today's column batches.

Loads a synthetic set (``--interactions``, default DBbook2014's size) as a new dataset, then
writes the top-20 of every user (random scores) with each way in turn, ``--repeat`` times, each
write replacing the previous one's edges. Uses ``NEO4J_*`` or the local server; drops the dataset
at the end. Writes ``bench/results/writeback_compare.json``.

    .venv/bin/python bench/writeback_compare.py [--interactions 65961] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OLD_BATCH_USERS = 500   # the old write-back's batch size


def _old_way(store, dataset: str, users, items, top, scores) -> None:
    from kg_store.batching import write_in_batches

    rows = [[int(users[u]), [[int(items[i]), float(s), r + 1] for r, (i, s) in enumerate(zip(t, sc, strict=True))]]
            for u, (t, sc) in enumerate(zip(top, scores, strict=True))]
    write_in_batches(store, "bench/replace_recommendations_rows", rows, batch_size=OLD_BATCH_USERS,
                     dataset=dataset, model="bench", run_id="old")


def _new_way(store, dataset: str, users, items, top, scores) -> None:
    from kg_store.writeback import write_recommendations

    write_recommendations(store, dataset, "bench", "new", users, items, top, scores, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=65_961)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "writeback_compare.json")
    args = parser.parse_args()
    from ingest import read_cikg, write_dataset
    from ingest.synthetic import SyntheticConfig, write_synthetic
    from kg_store.datasets import drop_dataset
    from kgrec.api import connect

    store, dataset = connect(), f"bench-writeback-{args.interactions}"
    with tempfile.TemporaryDirectory() as tmp:
        made = write_synthetic(Path(tmp), SyntheticConfig(interactions=args.interactions))
        write_dataset(store, read_cikg(made.folder, dataset), progress=False)
    users, items = np.arange(made.users), np.arange(made.items)
    rng = np.random.default_rng(0)
    top = np.stack([rng.choice(made.items, 20, replace=False) for _ in range(made.users)])
    scores = np.sort(rng.random(top.shape), axis=1)[:, ::-1]
    runs = []
    try:
        for attempt in range(args.repeat):
            for label, way in (("rows (before)", _old_way), ("columns (now)", _new_way)):
                started = time.perf_counter()
                way(store, dataset, users, items, top, scores)
                seconds = time.perf_counter() - started
                runs.append({"way": label, "attempt": attempt, "seconds": round(seconds, 3), "edges": int(top.size),
                             "edges_per_s": round(top.size / seconds)})
                print(runs[-1], flush=True)
    finally:
        drop_dataset(store, dataset)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "note": args.note,
                                    "users": made.users, "runs": runs}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
