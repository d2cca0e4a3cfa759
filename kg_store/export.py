"""Export one dataset's subgraph from Neo4j into contiguous ids and arrays, with a disk cache.

The arrays and their file format are :class:`~kg_store.graph_export.GraphExport` (no driver
needed to use them); this module only streams them out of Neo4j and caches them.

Each node kind gets contiguous indices 0..n-1 (sorted by the graph's ``id``); edges come back as
integer arrays of indices. Results are streamed (``fetch_size``) into typed arrays, so peak memory
stays near the size of the result. The export is cached on disk under a key made of the dataset's
creation time and version, which every ingest that changes the graph bumps: a second export of an
unchanged graph is a file read, a changed graph is exported again.
"""

from __future__ import annotations

import hashlib
import time
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info
from kg_store.graph_export import EXPORT_FORMAT, SPLIT_CODES, GraphExport
from kg_store.graph_model import check_dataset_name
from kg_store.interest_sets import AUTHORS_SET, check_interest_set_name
from kg_store.paths import kgrec_cache_home

FETCH_SIZE = 20_000


def _stream(store: GraphStore, query_name: str, dataset: str, columns: int,
            convert: dict[int, dict] | None = None, **params: Any) -> np.ndarray:
    """Rows of a named query as an (n, columns) int64 array, fetched in chunks."""
    buffer = array("q")
    query = load_query(query_name)
    with store.session(fetch_size=FETCH_SIZE) as session:
        result = session.run(query, dataset=dataset, **params)
        for record in result:
            values = record.values()
            if convert:
                values = [convert[k][v] if k in convert else v for k, v in enumerate(values)]
            buffer.extend(values)
    return np.frombuffer(buffer, dtype=np.int64).reshape(-1, columns).copy() if buffer else np.zeros((0, columns), np.int64)


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
    export = _export_from_graph(store, dataset, cache_key, list(info["relation_types"] or []), interest_set)
    export.stats = {"cached": False, "path": str(path), "seconds": round(time.perf_counter() - started, 3)}
    if use_cache:
        export.save(path)
    return export


def _export_from_graph(store: GraphStore, dataset: str, cache_key: str, relation_types: list[str],
                       interest_set: str) -> GraphExport:
    ids = {kind: np.sort(_stream(store, f"export/{kind}", dataset, 1)[:, 0]) for kind in ("users", "items", "entities")}
    ids["interests"] = np.sort(_stream(store, "export/interests", dataset, 1, interest_set=interest_set)[:, 0])
    interactions = _stream(store, "export/interactions", dataset, 3, {2: SPLIT_CODES})
    relation_codes = {name: k for k, name in enumerate(relation_types)}

    class _Codes(dict):
        def __missing__(self, name: str) -> int:  # a type not on the dataset node: append it
            relation_types.append(name)
            self[name] = len(relation_types) - 1
            return self[name]

    triples = _stream(store, "export/triples", dataset, 3, {1: _Codes(relation_codes)})
    item_entities = _stream(store, "export/item_entities", dataset, 2)
    user_interests = _stream(store, "export/user_interests", dataset, 2, interest_set=interest_set)
    users, items, entities, interests = ids["users"], ids["items"], ids["entities"], ids["interests"]
    return GraphExport(
        dataset=dataset, cache_key=cache_key,
        user_ids=users, item_ids=items, entity_ids=entities, interest_ids=interests,
        relation_types=relation_types,
        interactions=np.stack([_index(users, interactions[:, 0]), _index(items, interactions[:, 1])], 1),
        interaction_split=interactions[:, 2].astype(np.int8),
        item_entities=np.stack([_index(items, item_entities[:, 0]), _index(entities, item_entities[:, 1])], 1),
        triples=np.stack([_index(entities, triples[:, 0]), triples[:, 1], _index(entities, triples[:, 2])], 1),
        user_interests=np.stack([_index(users, user_interests[:, 0]), _index(interests, user_interests[:, 1])], 1),
    )
