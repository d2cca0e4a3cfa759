"""Export one dataset's subgraph from Neo4j into contiguous ids and arrays, with a disk cache.

The arrays and their file format are :class:`~kg_store.graph_export.GraphExport` (no driver
needed to use them); this module only streams them out of Neo4j and caches them.

Each node kind gets contiguous indices 0..n-1 (sorted by the graph's ``id``); edges come back as
integer arrays of indices. Each query returns parallel lists (columns) for a chunk of start nodes
rather than one record per row, which is about 5x faster through the driver; chunks bound the
lists held at once on the server. The export is cached on disk under a key made of the dataset's
creation time and version, which every ingest that changes the graph bumps: a second export of an
unchanged graph is a file read, a changed graph is exported again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import neo4j
import numpy as np

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.errors import StoreError
from kg_store.graph_export import EXPORT_FORMAT, SPLIT_CODES, GraphExport
from kg_store.graph_model import check_dataset_name
from kg_store.interest_sets import AUTHORS_SET, check_interest_set_name
from kg_store.paths import kgrec_cache_home

# Start nodes per relationship query: each query returns one record of parallel lists, so this
# bounds the lists the server builds in its heap (and the client decodes) at once.
CHUNK_NODES = 50_000


def _one_record(store: GraphStore, name: str, **params: Any) -> neo4j.Record:
    """The single record of a column query, as the driver decoded it (``Record.data()`` would walk
    every list element again in Python, which costs more than the query)."""
    query = load_query(f"export/columns/{name}")
    return store.read_with(lambda tx: tx.run(query, params).single(strict=True))


def _ids(store: GraphStore, kind: str, dataset: str, **params: Any) -> np.ndarray:
    """Sorted ids of one node kind, fetched as one list."""
    return np.sort(np.asarray(_one_record(store, kind, dataset=dataset, **params)["id"], np.int64))


def _chunks(ids: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive id ranges of at most CHUNK_NODES consecutive sorted ids."""
    return [(int(ids[k]), int(ids[min(k + CHUNK_NODES, len(ids)) - 1])) for k in range(0, len(ids), CHUNK_NODES)]


def _columns(store: GraphStore, name: str, dataset: str, start_ids: np.ndarray, columns: tuple[str, ...],
             **params: Any) -> dict[str, list]:
    """The named query's parallel lists, chunk by chunk of start-node ids, concatenated.

    Streaming columns rather than records is what makes the export fast: the driver decodes a few
    long lists instead of building a record object per row.
    """
    out: dict[str, list] = {column: [] for column in columns}
    for lo, hi in _chunks(start_ids):
        row = _one_record(store, name, dataset=dataset, lo=lo, hi=hi, **params)
        for column in columns:
            out[column].extend(row[column])
    return out


def _index(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions of ``values`` in the sorted ``ids``."""
    return np.searchsorted(ids, values).astype(np.int64)


def cache_path(store: GraphStore, dataset: str, cache_key: str, cache_dir: Path | None = None) -> Path:
    server = hashlib.sha256(f"{store.settings.uri}|{store.settings.database}".encode()).hexdigest()[:12]
    safe_key = hashlib.sha256(cache_key.encode()).hexdigest()[:16]
    folder = check_dataset_name(dataset)  # the name becomes a folder: no '../' escapes the cache
    return (cache_dir or kgrec_cache_home() / "exports") / server / folder / f"{safe_key}.npz"


def export_dataset(store: GraphStore, dataset: str, cache_dir: Path | None = None,
                   use_cache: bool = True, interest_set: str = AUTHORS_SET) -> GraphExport:
    """The dataset's subgraph as a :class:`GraphExport`, from the cache when the graph is unchanged.

    Only the interests of ``interest_set`` are exported (a dataset may hold several sets side by
    side); a set the dataset lacks gives no interests, like a dataset without any.
    """
    info = dataset_info(store, dataset)
    check_interest_set_name(interest_set)
    cache_key = f"{info['created']}|v{info['version']}|f{EXPORT_FORMAT}|i{interest_set}"
    path = cache_path(store, dataset, cache_key, cache_dir)
    if use_cache and path.exists():
        export = GraphExport.load(path)
        export.stats = {"cached": True, "path": str(path)}
        return export
    started = time.perf_counter()
    if info.get("linked"):     # a graph under its owner's schema, read through its mapping (kg_store.linked)
        from kg_store.linked.export import export_linked

        export = export_linked(store, dataset, info, cache_key, interest_set)
    else:
        export = _export_from_graph(store, dataset, cache_key, list(info["relation_types"] or []), interest_set)
    export.stats = {**export.stats, "cached": False, "path": str(path),
                    "seconds": round(time.perf_counter() - started, 3)}
    if use_cache:
        export.save(path)
    return export


def _export_from_graph(store: GraphStore, dataset: str, cache_key: str, relation_types: list[str],
                       interest_set: str) -> GraphExport:
    users, items, entities = (_ids(store, kind, dataset) for kind in ("users", "items", "entities"))
    interests = _ids(store, "interests", dataset, interest_set=interest_set)
    inter = _columns(store, "interactions", dataset, users, ("user", "item", "split"), split_codes=SPLIT_CODES)
    split = np.asarray(inter["split"], np.int8)
    if (split < 0).any():
        raise StoreError(f"Dataset {dataset} has interactions with a split other than {', '.join(SPLIT_CODES)}.")
    kg = _columns(store, "triples", dataset, entities, ("head", "relation", "tail"))
    codes = {name: k for k, name in enumerate(relation_types)}
    for name in sorted(set(kg["relation"]) - set(codes)):
        relation_types.append(name)  # a type not on the dataset node: append it
        codes[name] = len(relation_types) - 1
    links = _columns(store, "item_entities", dataset, items, ("item", "entity"))
    held = _columns(store, "user_interests", dataset, interests, ("user", "interest"), interest_set=interest_set)

    def pair(ids_a: np.ndarray, a: list, ids_b: np.ndarray, b: list) -> np.ndarray:
        return np.stack([_index(ids_a, np.asarray(a, np.int64)), _index(ids_b, np.asarray(b, np.int64))], 1)

    relation = np.fromiter((codes[name] for name in kg["relation"]), np.int64, len(kg["relation"]))
    triples = pair(entities, kg["head"], entities, kg["tail"])
    return GraphExport(
        dataset=dataset, cache_key=cache_key,
        user_ids=users, item_ids=items, entity_ids=entities, interest_ids=interests,
        relation_types=relation_types,
        interactions=pair(users, inter["user"], items, inter["item"]),
        interaction_split=split,
        item_entities=pair(items, links["item"], entities, links["entity"]),
        triples=np.stack([triples[:, 0], relation, triples[:, 1]], 1),
        user_interests=pair(users, held["user"], interests, held["interest"]),
    )
