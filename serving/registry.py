"""What one serving process keeps in memory: the latest run per (dataset, model), its item vectors and
recent recommendation responses.

A request that names no model (``model=None`` here) is served by the dataset's latest run of any
model: it is looked up like a model's own (key ``(dataset, None)``), and from then on everything —
vectors, preload, cached responses — is keyed by the model of the run it found, so both ways of
asking share one cache.

The latest ``TrainingRun`` is looked up at most every ``reload_check_seconds``; when a newer run
appears its vectors are loaded once (lazily, on the first cold start), every user's top-``preload_k``
is read in one query in the background, and responses cached under the old run id stop matching.
Responses are cached as JSON bytes, so a cached read costs no Neo4j query. A linked dataset's lists
are its mapping's write-back relationships on the owner's graph (the latest run's only), read per
request and keyed by the owner's user key; its runs keep no vectors in the graph, so it has no cold start.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from kg_store.connection import GraphStore
from kg_store.embeddings import load_interest_vectors, load_item_vectors
from kg_store.errors import KgrecError, UnknownDatasetError, UnknownUserError
from kg_store.graph_model import check_dataset_name
from kg_store.linked.mapping import GraphMapping, stored_mapping
from kg_store.linked.recommendations import read_user_recommendations
from serving.cold_start import InterestIndex, ItemIndex
from serving.config import ServeConfig
from serving.errors import InvalidRequestError, NoInterestVectorsError, NoRunError, NoVectorsError

log = logging.getLogger("kgrec.serve")
_INTEGER = re.compile(r"-?\d{1,18}")


@dataclass
class RunInfo:
    run_id: str
    model: str
    finished: str | None
    embedding_property: str | None
    model_path: str | None = None
    model_sha256: str | None = None
    linked: GraphMapping | None = None      # a linked dataset's mapping: its lists are on the owner's graph


@dataclass(frozen=True)
class _Check:
    checked: float
    dataset_found: bool
    run: RunInfo | None


@dataclass
class _Vectors:
    """One run's item (and, when asked for, interest) vectors, loaded at most once each (the lock makes
    concurrent first requests wait)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    index: ItemIndex | None = None
    interests: InterestIndex | None = None


class ModelRegistry:
    """Latest runs, item vectors and cached responses of one process; safe to share between threads."""

    def __init__(self, store: GraphStore, config: ServeConfig):
        self.store = store
        self.config = config
        self._checks: dict[tuple[str, str | None], _Check] = {}
        self._vectors: dict[tuple[str, str, str], _Vectors] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._preloads: dict[tuple[str, str, str], threading.Event] = {}
        self._responses: OrderedDict[tuple, bytes] = OrderedDict()
        self.loads = 0                      # item-vector loads so far (tests check "once per run")
        self.interest_loads = 0             # interest-vector loads so far

    # -- runs ---------------------------------------------------------------------------------------
    def fresh(self, dataset: str, model: str | None) -> RunInfo | None:
        """The run known without asking Neo4j, when checked recently enough; else None."""
        check = self._checks.get((dataset, model))
        if check is None or time.monotonic() - check.checked > self.config.reload_check_seconds:
            return None
        return self._require(dataset, model, check)

    def run(self, dataset: str, model: str | None) -> RunInfo:
        """The latest run of ``model`` (None: of any model) on ``dataset``; raises for an unknown dataset
        or when there is no such run.

        When the last look is stale one thread looks again while the others go on with what it found.
        """
        known = self.fresh(dataset, model)
        if known is not None:
            return known
        check = self._checks.get((dataset, model))
        acquired = False
        if check is not None and check.run is not None:
            acquired = self._refreshing.acquire(blocking=False)
            if not acquired:
                return self._require(dataset, model, check)
        try:
            return self._refresh(dataset, model)
        finally:
            if acquired:
                self._refreshing.release()

    def _refresh(self, dataset: str, model: str | None) -> RunInfo:
        check_dataset_name(dataset)
        [row] = self.store.read("serving/latest_run", dataset=dataset, model=model)
        linked = stored_mapping({"name": dataset, "mapping": row["mapping"]}) if row["linked"] else None
        check = _Check(time.monotonic(), row["dataset_found"],
                       _run_info(row["runs"][0], linked) if row["runs"] else None)
        self._checks[(dataset, model)] = check
        if check.run is not None and self.config.preload_k and linked is None:
            self._start_preload(dataset, check.run.model, check.run.run_id)
        return self._require(dataset, model, check)

    # -- preload ------------------------------------------------------------------------------------
    def _start_preload(self, dataset: str, model: str, run_id: str) -> None:
        """Once per run: a background thread fills the cache with every user's default top-K."""
        with self._lock:
            if (dataset, model, run_id) in self._preloads:
                return
            self._preloads[(dataset, model, run_id)] = threading.Event()
        threading.Thread(target=self._preload, args=(dataset, model, run_id), daemon=True,
                         name=f"preload {dataset}/{model}").start()

    def _preload(self, dataset: str, model: str, run_id: str) -> None:
        k = self.config.preload_k
        try:
            rows = self.store.read("serving/all_recommendations", dataset=dataset, model=model, limit=k)
            for row in rows[:self.config.cache_entries]:
                self._remember((dataset, model, run_id, row["user"], k),
                               _body(dataset, row["user"], model, run_id, row["items"]))
        except KgrecError as error:   # Neo4j away: reads fall back to one query each; try again next run
            log.warning("preload of %s/%s failed: %s", dataset, model, error)
            with self._lock:
                self._preloads.pop((dataset, model, run_id), None)
            return
        self._preloads[(dataset, model, run_id)].set()

    def preloaded(self, dataset: str, model: str, run_id: str, timeout: float = 0.0) -> bool:
        """Whether the run's preload finished (waiting up to ``timeout`` seconds)."""
        event = self._preloads.get((dataset, model, run_id))
        return event is not None and event.wait(timeout)

    @staticmethod
    def _require(dataset: str, model: str | None, check: _Check) -> RunInfo:
        if not check.dataset_found:
            raise UnknownDatasetError(f"Dataset '{dataset}' is not in the graph.")
        if check.run is None and model is None:
            raise NoRunError(f"Dataset '{dataset}' has no training run; train a model first "
                             f"('kgrec train MODEL --dataset {dataset}').")
        if check.run is None:
            raise NoRunError(f"Dataset '{dataset}' has no training run of model '{model}'; train one first.")
        return check.run

    # -- item vectors -------------------------------------------------------------------------------
    def vectors(self, dataset: str, model: str | None) -> tuple[RunInfo, ItemIndex]:
        """The latest run's item vectors, loaded from the graph once per run and process."""
        run = self.run(dataset, model)
        model = run.model
        if run.linked is not None:
            raise NoVectorsError(f"Dataset '{dataset}' is linked to a graph of your own: its runs keep their vectors "
                                 "in the model file, not on its nodes, so cold start is not served for it.")
        if not run.embedding_property:
            raise NoVectorsError(f"Run '{run.run_id}' stored no vectors; retrain '{model}' to cold-start.")
        with self._lock:
            slot = self._vectors.setdefault((dataset, model, run.run_id), _Vectors())
            for key in [k for k in self._vectors if k[:2] == (dataset, model) and k[2] != run.run_id]:
                del self._vectors[key]          # an older run's vectors: no longer served
        with slot.lock:
            if slot.index is None:
                slot.index = ItemIndex(load_item_vectors(self.store, dataset, model, run.run_id))
                self.loads += 1
        if not len(slot.index):
            raise NoVectorsError(f"Run '{run.run_id}' left no item vectors in the graph; retrain '{model}'.")
        return run, slot.index

    def interests(self, dataset: str, run: RunInfo) -> InterestIndex:
        """``run``'s interest vectors (one interest set), loaded once per run and process on first use;
        raises ``NoInterestVectorsError`` for a run that stored none (a model without interest nodes)."""
        model = run.model
        with self._lock:
            slot = self._vectors.setdefault((dataset, model, run.run_id), _Vectors())
        with slot.lock:
            if slot.interests is None:
                slot.interests = InterestIndex(load_interest_vectors(self.store, dataset, model, run.run_id))
                self.interest_loads += 1
        if not len(slot.interests):
            raise NoInterestVectorsError(
                f"Run '{run.run_id}' of model '{model}' stored no interest vectors: only a model with interest "
                "nodes (cikgrec trained with interests) can take 'interests' or 'infer_interests'.")
        return slot.interests

    # -- recommendations ------------------------------------------------------------------------------
    def cached(self, key: tuple) -> bytes | None:
        body = self._responses.get(key)
        if body is not None:
            with self._lock:
                if key in self._responses:
                    self._responses.move_to_end(key)
        return body

    def recommendations(self, dataset: str, model: str | None, user: int | str, k: int) -> bytes:
        """The user's stored top-``k`` of the latest run (of ``model``, or of any model when None) as a
        JSON body; read from Neo4j on a cache miss. ``user``: an id, or a linked dataset's user key."""
        run = self.run(dataset, model)
        model = run.model
        user = user_ref(user)
        key = (dataset, model, run.run_id, user, k)
        body = self.cached(key)
        if body is not None:
            return body
        if run.linked is not None:
            body = self._linked_recommendations(dataset, run, user, k)
        else:
            if not isinstance(user, int):
                raise InvalidRequestError(f"user: dataset '{dataset}' has integer user ids, not {user!r}.")
            [row] = self.store.read("serving/user_recommendations", dataset=dataset, user=user, model=model, limit=k)
            if not row["user_found"]:
                raise UnknownUserError(f"Dataset '{dataset}' has no user {user}.")
            body = _body(dataset, user, model, run.run_id, row["items"])
        self._remember(key, body)
        return body

    def _linked_recommendations(self, dataset: str, run: RunInfo, user: int | str, k: int) -> bytes:
        """A linked dataset's list from the owner's graph: the write-back relationships of ``run``, which
        must be the dataset's latest run (each run replaces the previous run's relationships)."""
        latest = self.run(dataset, None)
        if latest.run_id != run.run_id:
            raise NoRunError(f"Linked dataset '{dataset}' keeps only its latest run's recommendations on its graph "
                             f"(run {latest.run_id} of {latest.model}); the latest run of {run.model} was replaced. "
                             "Ask without model, or train that model again.")
        found = read_user_recommendations(self.store, {"name": dataset}, user, run_id=run.run_id, limit=k,
                                          mapping=run.linked)
        if found.user is None:
            raise UnknownUserError(f"Dataset '{dataset}' has no user {user!r} (no user node of its graph has that key).")
        items = [{name: row[name] for name in ("item", "title", "score", "rank", "run_id")} for row in found.items]
        return _body(dataset, found.user, run.model, run.run_id, items)

    def _remember(self, key: tuple, body: bytes) -> None:
        with self._lock:
            self._responses[key] = body
            while len(self._responses) > self.config.cache_entries:
                self._responses.popitem(last=False)


def user_ref(user: int | str) -> int | str:
    """A user as a URL gives it: an integer when it is all digits (an id, or an integer key), else the text."""
    return int(user) if isinstance(user, str) and _INTEGER.fullmatch(user.strip()) else user


def _body(dataset: str, user: int | str, model: str, run_id: str, items: list[dict[str, Any]]) -> bytes:
    return json.dumps({"dataset": dataset, "user": user, "model": model, "run_id": run_id, "items": items}).encode()


def _run_info(row: dict[str, Any], linked: GraphMapping | None = None) -> RunInfo:
    return RunInfo(run_id=row["run_id"], model=row["model"], finished=row["finished"],
                   embedding_property=row["embedding_property"], model_path=row["model_path"],
                   model_sha256=row["model_sha256"], linked=linked)
