"""Explanations from memory: each dataset's graph as ``serving.explain_memory`` holds it, kept while its
version is the graph's, and answers rendered as the route renders the graph path's.

A run's preload (``serving.run_memory``) also loads its dataset's arrays, once per dataset version
(``Dataset.version``, which every write to the dataset's graph bumps: ingest, interest sets, runs,
persisted cold-start users). The version is looked at again at most every ``reload_check_seconds``
(one request looks, the others go on); a new version drops the arrays, so the graph answers again,
and reloads them in the background. A user or item the arrays do not know (added since, or none
such), a linked dataset (its paths run through its own graph) and a graph the arrays cannot
reproduce exactly (``Inexact``) are answered from the graph. While Neo4j is down, held arrays keep
answering and the answer is marked stale, as every answer from memory is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from typing import Any

from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.errors import KgrecError, StoreError
from kg_store.explain import Explanation
from serving.config import ServeConfig
from serving.explain_memory import ExplainGraph, Inexact, load_explain_graph
from serving.explain_paths import explain_held
from serving.outage import Neo4jState

log = logging.getLogger("kgrec.serve")
MAX_TOP = 50                # the most paths an explanation request may ask for
DEFAULT_TOP = 5


class HeldExplanations:
    """Per dataset, the arrays explanations are answered from; safe to share between threads."""

    def __init__(self, store: GraphStore, config: ServeConfig, neo4j: Neo4jState, counts: Counter | None = None):
        self.store, self.config, self.neo4j = store, config, neo4j
        self.counts = counts if counts is not None else Counter()     # "explanations": loads so far
        self._graphs: dict[str, ExplainGraph] = {}
        self._checked: dict[str, float] = {}
        self._loading = threading.Lock()
        self._checking = threading.Lock()

    @property
    def nbytes(self) -> int:
        return sum(graph.nbytes for graph in list(self._graphs.values()))

    def load(self, dataset: str) -> None:
        """Hold the dataset's arrays at its current version (nothing to do when held at that version)."""
        info = dataset_info(self.store, dataset)
        with self._loading:
            held = self._graphs.get(dataset)
            if info.get("linked"):
                self._graphs.pop(dataset, None)
                return
            if held is None or held.version != info["version"]:
                try:
                    self._graphs[dataset] = load_explain_graph(self.store, dataset, info["version"])
                except Inexact as why:
                    log.warning("explanations of %s stay on the graph: %s", dataset, why)
                    self._graphs.pop(dataset, None)
                    return
                self.counts["explanations"] += 1
            self._checked[dataset] = time.monotonic()

    def held(self, dataset: str, wait: bool) -> ExplainGraph | None:
        """The dataset's arrays while they are known to be current. When a look at the version is due,
        ``wait`` (a worker thread) looks now unless another request is looking; else (the event loop)
        a background thread looks while this answer goes on, or, when every request must look (a reload
        check of 0), None."""
        graph = self._graphs.get(dataset)
        if graph is None or self.neo4j.down:
            return graph
        if time.monotonic() - self._checked.get(dataset, 0.0) <= self.config.reload_check_seconds:
            return graph
        if not wait and self.config.reload_check_seconds <= 0:
            return None
        if not self._checking.acquire(blocking=False):
            return graph
        if wait:
            try:
                self._check(dataset)
            finally:
                self._checking.release()
            return self._graphs.get(dataset)
        threading.Thread(target=self._check_then_release, args=(dataset,), daemon=True,
                         name=f"explanations check {dataset}").start()
        return graph

    def _check_then_release(self, dataset: str) -> None:
        try:
            self._check(dataset)
        finally:
            self._checking.release()

    def _check(self, dataset: str) -> None:
        """Keep the arrays if the dataset's version is theirs; else drop them and reload in the background."""
        try:
            rows = self.store.read("store/dataset_info", dataset=dataset)
        except StoreError as error:     # Neo4j away (now marked down): the arrays answer, marked stale
            log.info("version check of %s failed: %s", dataset, error)
            return
        graph = self._graphs.get(dataset)
        if graph is not None and rows and rows[0]["version"] == graph.version:
            self._checked[dataset] = time.monotonic()
            return
        self._graphs.pop(dataset, None)
        if rows:
            threading.Thread(target=self._reload, args=(dataset,), daemon=True,
                             name=f"explanations load {dataset}").start()

    def _reload(self, dataset: str) -> None:
        try:
            self.load(dataset)
        except KgrecError as error:     # Neo4j away or the dataset gone: the graph answers, or 503/404
            log.warning("reload of the explanations of %s stopped: %s", dataset, error)

    def explain(self, dataset: str, user: int | str, item: int | str, top: int, wait: bool) -> Explanation | None:
        """The explanation from the arrays; None where the graph must answer."""
        graph = self.held(dataset, wait)
        if graph is None or not isinstance(user, int) or not isinstance(item, int):
            return None
        return explain_held(graph, user, item, top)


def render(found: Explanation) -> bytes:
    """The JSON body, as FastAPI renders ``found.to_dict()`` (compact, UTF-8), without its deep copies."""
    body = _fields(found)
    body["paths"] = [_fields(path) for path in found.paths]
    body["summary"] = {kind: _fields(summary) for kind, summary in found.summary.items()}
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields, in order (its ``__dict__``: ``asdict`` without the copies of the values)."""
    return dict(vars(value))
