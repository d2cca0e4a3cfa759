"""How a live load finds a relationship's end nodes: the 846k set's KG triples, one way at a time.

On one private local Neo4j (heap and page cache 2 GB), each way writes the 1,722,395 triples of
``kgrec data synth --interactions 846434`` between the entities of its own fresh dataset:

- ``index``: ``MATCH (h:Entity {dataset, id})`` per row, an index look-up for every end node;
- ``element_id``: ``WHERE elementId(h) = row[0]``, the writer's form (``ingest/create_triples``);
- ``element_id_unchecked``: the same seek without the writer's label and dataset checks, to see what
  they cost;
- ``internal_id``: ``WHERE id(h) = row[0]``, deprecated in Neo4j 5, for comparison only;

each in one Neo4j session and in two (``write_in_batches(..., workers=2)``), batches of 10,000. The
ways run one after another on the same server, so later ones write into a larger store; run it
twice (``--order reversed``) to see that effect. Writes ``bench/results/triple_lookup.json``.

    .venv/bin/python bench/triple_lookup.py [--ways index element_id] [--order reversed]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WAYS = {"index": "bench/triples_by_index", "element_id": "ingest/create_triples",
        "element_id_unchecked": "bench/triples_by_element_id_unchecked", "internal_id": "bench/triples_by_internal_id"}


def _entities(store, records, dataset: str) -> dict[int, tuple[int, str]]:
    """Create the dataset's entities; their (internal id, elementId) by id."""
    from kg_store.cypher_files import load_query

    query, handles = load_query("bench/create_entities_with_handles"), {}
    for start in range(0, len(records.entities), 10_000):
        batch = [[entity] for entity, _ in records.entities[start:start + 10_000]]
        rows = store.write_with(lambda tx, b=batch: list(tx.run(query, rows=b, dataset=dataset)))
        handles.update({row["id"]: (row["internal_id"], row["handle"]) for row in rows})
    return handles


def _measure(store, records, way: str, workers: int, dataset: str) -> dict:
    from kg_store.batching import write_in_batches
    from kg_store.graph_model import RelationAllowList

    handles = _entities(store, records, dataset)
    allow = RelationAllowList(records.relation_types)
    column = {"index": None, "internal_id": 0, "element_id": 1, "element_id_unchecked": 1}[way]
    key = (lambda entity: entity) if column is None else (lambda entity: handles[entity][column])
    rows = [(key(h), allow.check(records.relation_types[r]), key(t)) for h, r, t in records.triples]
    cpu, started = time.process_time(), time.perf_counter()
    counters = write_in_batches(store, WAYS[way], rows, batch_size=10_000, workers=workers, dataset=dataset)
    wall = time.perf_counter() - started
    return {"way": way, "workers": workers, "triples": counters.relationships_created, "seconds": round(wall, 2),
            "client_cpu_s": round(time.process_time() - cpu, 2), "triples_per_s": round(len(rows) / wall)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ways", nargs="*", default=list(WAYS), choices=list(WAYS))
    parser.add_argument("--order", choices=["given", "reversed"], default="given")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--interactions", type=int, default=None, help="A smaller set (default: 846,434).")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "triple_lookup.json")
    args = parser.parse_args()
    from ingest import read_cikg
    from ingest.synthetic import SCALE_846K, SyntheticConfig, write_synthetic
    from kg_store.connection import GraphStore, close_all_drivers
    from kg_store.local_server import LocalNeo4j, ServerOptions, free_port
    from kg_store.schema import apply_schema

    runs = [(way, workers) for way in args.ways for workers in args.workers]
    runs = runs[::-1] if args.order == "reversed" else runs
    results = []
    with tempfile.TemporaryDirectory(prefix="kgrec-triples-") as tmp:
        folder = write_synthetic(Path(tmp) / "set", SyntheticConfig(interactions=args.interactions or SCALE_846K)).folder
        records = read_cikg(folder, "unused")
        server = LocalNeo4j(Path(tmp) / "neo4j", ServerOptions(bolt_port=free_port(), http_port=free_port(),
                                                                heap="2g", page_cache="2g"))
        server.start()
        try:
            store = GraphStore(server.connection_settings())
            apply_schema(store)
            for k, (way, workers) in enumerate(runs):
                results.append(_measure(store, records, way, workers, f"triples{k}"))
                print(json.dumps(results[-1]), flush=True)
        finally:
            close_all_drivers()
            server.stop()
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
                                    "interactions": args.interactions or SCALE_846K,
                                    "load_average": os.getloadavg(), "order": args.order, "runs": results},
                                   indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
