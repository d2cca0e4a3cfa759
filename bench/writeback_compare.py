"""Write-back side by side: edges written row by row (the original query) vs TOP_K lists alone vs
lists + the RECOMMENDED edge view, in rows (user x item) per second.

Loads a synthetic set (``--interactions``, default DBbook2014's size) as a new dataset, then
writes the top-20 of every user (random scores) with each way ``--repeat`` times in a row, each
write a new run replacing the previous one of its model (each way has its own model; attempt 0 is
a first run, later ones replace). Uses ``NEO4J_*`` or the local server; drops the dataset at the
end. Writes ``bench/results/writeback_compare.json`` (``--out``).

    .venv/bin/python bench/writeback_compare.py [--interactions 65961] [--repeat 2] [--ways lists lists+edges rows]
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


def _rows_way(store, dataset: str, users, items, top, scores, run_id: str) -> None:
    from kg_store.batching import write_in_batches

    rows = [[int(users[u]), [[int(items[i]), float(s), r + 1] for r, (i, s) in enumerate(zip(t, sc, strict=True))]]
            for u, (t, sc) in enumerate(zip(top, scores, strict=True))]
    write_in_batches(store, "bench/replace_recommendations_rows", rows, batch_size=OLD_BATCH_USERS,
                     dataset=dataset, model="bench-rows", run_id=run_id)


def _lists_way(edges: str):
    def write(store, dataset: str, users, items, top, scores, run_id: str) -> None:
        from kg_store.writeback import write_recommendations

        write_recommendations(store, dataset, f"bench-{edges}", run_id, users, items, top, scores, progress=False,
                              edges=edges)
    return write


WAYS = {"rows": ("edges row by row (original)", _rows_way), "lists": ("TOP_K lists", _lists_way("never")),
        "lists+edges": ("TOP_K lists + RECOMMENDED edges", _lists_way("always"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interactions", type=int, default=65_961)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dataset", default=None, help="Name of the (new) dataset; dropped at the end.")
    parser.add_argument("--ways", nargs="+", choices=list(WAYS), default=["lists", "lists+edges", "rows"])
    parser.add_argument("--note", default="")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "writeback_compare.json")
    args = parser.parse_args()
    from ingest import read_cikg, write_dataset
    from ingest.synthetic import SyntheticConfig, write_synthetic
    from kg_store.datasets import drop_dataset
    from kgrec.api import connect

    store, dataset = connect(), args.dataset or f"bench-writeback-{args.interactions}"
    with tempfile.TemporaryDirectory() as tmp:
        made = write_synthetic(Path(tmp), SyntheticConfig(interactions=args.interactions))
        write_dataset(store, read_cikg(made.folder, dataset), progress=False)
    users, items = np.arange(made.users), np.arange(made.items)
    rng = np.random.default_rng(0)
    top = np.stack([rng.choice(made.items, 20, replace=False) for _ in range(made.users)])
    scores = np.sort(rng.random(top.shape), axis=1)[:, ::-1]
    runs = []
    try:
        for way in args.ways:           # one way's attempts in a row: a write of 111k edges slows the next
            for attempt in range(args.repeat):      # write down for seconds (the server's own clean-up)
                label, write = WAYS[way]
                started = time.perf_counter()
                write(store, dataset, users, items, top, scores, f"{way}-{attempt}")
                seconds = time.perf_counter() - started
                runs.append({"way": way, "what": label, "attempt": attempt, "replacing": attempt > 0,
                             "seconds": round(seconds, 3),
                             "rows": int(top.size), "rows_per_s": round(top.size / seconds)})
                print(runs[-1], flush=True)
    finally:
        drop_dataset(store, dataset)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "note": args.note,
                                    "users": made.users, "runs": runs}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
