"""What one serving process keeps: the latest run per (dataset, model), what it holds of each run
(``serving.run_memory``) and the answers it had to read from the graph.

A request that names no model (``model=None`` here) is served by the dataset's latest run of any
model: it is looked up like a model's own (key ``(dataset, None)``), and from then on everything —
memory, cached responses — is keyed by the model of the run it found, so both ways of asking share it.

The latest ``TrainingRun`` is looked up at most every ``reload_check_seconds`` (one request looks,
the others go on with what was found). When a newer run appears, a background thread loads its
lists, vectors and neighbours, and the older run's memory is dropped. A read is then answered from
memory for any ``k``; before that (or for a user added since, e.g. a persisted cold-start user) it
is read from Neo4j and its JSON bytes cached. A linked dataset's lists are its mapping's write-back
relationships on the owner's graph (the latest run's only), read per request and keyed by the
owner's user key; its runs keep no vectors in the graph, so it has no cold start.

While Neo4j is unreachable (``serving.outage``) the last run found stays the latest: what is held
in memory keeps answering, and the app marks those answers stale.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from kg_store.connection import GraphStore
from kg_store.errors import KgrecError, StoreError, UnknownDatasetError, UnknownUserError
from kg_store.graph_model import check_dataset_name
from kg_store.linked.mapping import stored_mapping
from kg_store.linked.recommendations import read_user_recommendations
from serving.cold_start import InterestIndex, ItemIndex
from serving.config import ServeConfig
from serving.errors import InvalidRequestError, NoRunError
from serving.explanations import HeldExplanations
from serving.memory import body_prefix
from serving.neighbours import InterestNeighbours
from serving.outage import Neo4jState
from serving.run_memory import RunInfo, RunMemory

log = logging.getLogger("kgrec.serve")
_INTEGER = re.compile(r"-?\d{1,18}")
ITEM_FIELDS = ("item", "title", "score", "rank", "run_id")     # an answer's item, in this key order

__all__ = ["ModelRegistry", "RunInfo", "user_ref"]


@dataclass(frozen=True)
class _Check:
    checked: float
    dataset_found: bool
    run: RunInfo | None


class ModelRegistry:
    """Latest runs, run memory and cached responses of one process; safe to share between threads."""

    def __init__(self, store: GraphStore, config: ServeConfig):
        self.store = store
        self.config = config
        self.neo4j: Neo4jState = getattr(store, "neo4j", None) or Neo4jState(lambda: None)
        self._checks: dict[tuple[str, str | None], _Check] = {}
        self._memory: dict[tuple[str, str, str], RunMemory] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._responses: OrderedDict[tuple, bytes] = OrderedDict()
        self.counts: Counter = Counter()    # loads per part of run memory ("once per run" is tested)
        self.explanations = HeldExplanations(store, config, self.neo4j, self.counts)    # per dataset, not run

    @property
    def loads(self) -> int:
        """Item-vector loads so far."""
        return self.counts["index"]

    @property
    def interest_loads(self) -> int:
        return self.counts["interests"]

    # -- runs ---------------------------------------------------------------------------------------
    def fresh(self, dataset: str, model: str | None) -> RunInfo | None:
        """The run known without asking Neo4j now: checked recently enough, being checked by another
        request, or the last one found while Neo4j is down; else None."""
        check = self._checks.get((dataset, model))
        if check is None:
            return None
        due = time.monotonic() - check.checked > self.config.reload_check_seconds
        if due and not self.neo4j.down and not (check.run is not None and self._refreshing.locked()):
            return None
        return self._require(dataset, model, check)

    def current(self, dataset: str, model: str | None) -> RunInfo | None:
        """For the answers from memory, which never wait on Neo4j: the known run; when a look is due, one
        background thread looks while this answer goes on with the known run. With a reload check of 0
        (every request looks) this is :meth:`fresh`."""
        check = self._checks.get((dataset, model))
        if check is None or check.run is None or self.config.reload_check_seconds <= 0:
            return self.fresh(dataset, model)
        due = time.monotonic() - check.checked > self.config.reload_check_seconds
        if due and not self.neo4j.down and self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh_then_release, args=(dataset, model), daemon=True,
                             name=f"run check {dataset}").start()
        return self._require(dataset, model, check)

    def _refresh_then_release(self, dataset: str, model: str | None) -> None:
        try:
            self._refresh(dataset, model)
        except KgrecError as error:     # Neo4j away (now marked down) or the dataset gone: the next look says
            log.info("run check of %s/%s failed: %s", dataset, model, error)
        finally:
            self._refreshing.release()

    def run(self, dataset: str, model: str | None) -> RunInfo:
        """The latest run of ``model`` (None: of any model) on ``dataset``; raises for an unknown dataset
        or when there is no such run.

        When the last look is stale one thread looks again while the others go on with what it found;
        when Neo4j turns out to be down, the run found before stays.
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
        except StoreError:
            if check is None or check.run is None:
                raise
            return self._require(dataset, model, check)
        finally:
            if acquired:
                self._refreshing.release()

    def _refresh(self, dataset: str, model: str | None) -> RunInfo:
        check_dataset_name(dataset)
        [row] = self.store.read("serving/latest_run", dataset=dataset, model=model)
        linked = stored_mapping({"name": dataset, "mapping": row["mapping"]}) if row["linked"] else None
        run = _run_info(row["runs"][0], linked) if row["runs"] else None
        self._checks[(dataset, model)] = _Check(time.monotonic(), row["dataset_found"], run)
        if run is not None:
            self._hold(dataset, run)
        return self._require(dataset, model, self._checks[(dataset, model)])

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

    # -- run memory -----------------------------------------------------------------------------------
    def _hold(self, dataset: str, run: RunInfo) -> RunMemory:
        """The run's memory, made (and, with ``preload``, filled in the background) on first sight; an
        older run's memory of the same model goes."""
        key = (dataset, run.model, run.run_id)
        with self._lock:
            memory = self._memory.get(key)
            if memory is not None:
                return memory
            memory = self._memory[key] = RunMemory(self.store, dataset, run, self.config.max_k, self.counts,
                                                   self.explanations)
            for old in [k for k in self._memory if k[:2] == key[:2] and k != key]:
                del self._memory[old]       # an older run: no longer served
        if self.config.preload:
            threading.Thread(target=memory.preload, daemon=True, name=f"preload {dataset}/{run.model}").start()
        return memory

    def memory(self, dataset: str, run: RunInfo) -> RunMemory | None:
        """What is held of ``run`` (None once a newer run replaced it)."""
        return self._memory.get((dataset, run.model, run.run_id))

    def held(self) -> dict[str, Any]:
        """Runs held (preloaded, or anything loaded without preload) and their bytes with the explanation
        arrays', for /health."""
        with self._lock:
            memories = list(self._memory.values())
        loaded = [m for m in memories if m.nbytes and (m.preloaded.is_set() or not self.config.preload)]
        return {"runs": len(loaded), "bytes": sum(m.nbytes for m in loaded) + self.explanations.nbytes}

    def preloaded(self, dataset: str, model: str, run_id: str, timeout: float = 0.0) -> bool:
        """Whether the run's preload finished (waiting up to ``timeout`` seconds)."""
        memory = self._memory.get((dataset, model, run_id))
        return memory is not None and memory.preloaded.wait(timeout)

    def vectors(self, dataset: str, model: str | None) -> tuple[RunInfo, ItemIndex]:
        """The latest run's item vectors, loaded from the graph once per run and process."""
        run = self.run(dataset, model)
        return run, self._hold(dataset, run).item_index()

    def interests(self, dataset: str, run: RunInfo) -> InterestIndex:
        """``run``'s interest vectors (one interest set), loaded once per run and process; raises
        ``NoInterestVectorsError`` for a run that stored none (a model without interest nodes)."""
        return self._hold(dataset, run).interest_index()

    def neighbours(self, dataset: str, run: RunInfo) -> InterestNeighbours:
        """``run``'s item x interest weights, for inferred interests."""
        return self._hold(dataset, run).interest_neighbours()

    # -- recommendations ------------------------------------------------------------------------------
    def from_memory(self, dataset: str, run: RunInfo, user: int | str, k: int) -> bytes | None:
        """The user's top-``k`` from the run's lists held in memory; None when they are not (yet) held or
        do not know the user."""
        memory = self._memory.get((dataset, run.model, run.run_id))
        lists = memory.lists if memory is not None else None
        if lists is None or not isinstance(user, int):
            return None
        row = lists.row(user)
        return None if row is None else lists.body(body_prefix(dataset, user, run.model, run.run_id), row, k)

    def cached(self, key: tuple) -> bytes | None:
        body = self._responses.get(key)
        if body is not None:
            with self._lock:
                if key in self._responses:
                    self._responses.move_to_end(key)
        return body

    def recommendations(self, dataset: str, model: str | None, user: int | str, k: int) -> bytes:
        """The user's stored top-``k`` of the latest run (of ``model``, or of any model when None) as a
        JSON body: from memory, else from Neo4j. ``user``: an id, or a linked dataset's user key."""
        run = self.run(dataset, model)
        model = run.model
        user = user_ref(user)
        body = self.from_memory(dataset, run, user, k)
        if body is not None:
            return body
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
            body = _body(dataset, user, model, run.run_id, [{name: item[name] for name in ITEM_FIELDS}
                                                            for item in row["items"]])
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
        items = [{name: row[name] for name in ITEM_FIELDS} for row in found.items]
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


def _run_info(row: dict[str, Any], linked: Any = None) -> RunInfo:
    return RunInfo(run_id=row["run_id"], model=row["model"], finished=row["finished"],
                   embedding_property=row["embedding_property"], model_path=row["model_path"],
                   model_sha256=row["model_sha256"], linked=linked)
