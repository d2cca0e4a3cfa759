"""What one serving process holds of one training run, each part read from the graph at most once.

* ``lists``: every user's stored list (``serving.memory``), so a read of any ``k`` needs no query;
* ``index``: the item vectors, with titles, that cold start scores against (``serving.cold_start``);
* ``interests`` and ``neighbours``: the run's interest vectors and the item x interest weights that
  inferred interests are summed from (``serving.neighbours``), for a model with interest nodes;
* and, not the run's but its dataset's, what explanations are answered from (``serving.explanations``,
  held once per dataset version for all its runs).

When the registry first sees a run, one background thread loads all of it (``preload``); a request
that comes before a part is there loads that part itself or, for a read, asks the graph. Each part
has its own lock, so a request waits only for the part it needs.
"""

from __future__ import annotations

import atexit
import gc
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kg_store.connection import GraphStore
from kg_store.embeddings import load_interest_vectors, load_item_vectors
from kg_store.errors import KgrecError
from kg_store.linked.mapping import GraphMapping
from serving.cold_start import InterestIndex, ItemIndex
from serving.errors import NoInterestVectorsError, NoVectorsError
from serving.explanations import HeldExplanations
from serving.memory import RunLists, load_run_lists
from serving.neighbours import InterestNeighbours, load_neighbours

log = logging.getLogger("kgrec.serve")
_THAW_AT_EXIT = threading.Event()


@dataclass
class RunInfo:
    run_id: str
    model: str
    finished: str | None
    embedding_property: str | None
    model_path: str | None = None
    model_sha256: str | None = None
    linked: GraphMapping | None = None      # a linked dataset's mapping: its lists are on the owner's graph


class RunMemory:
    """One run's lists, vectors and neighbours in this process; safe to share between threads."""

    def __init__(self, store: GraphStore, dataset: str, run: RunInfo, max_k: int, counts: Counter,
                 explanations: HeldExplanations | None = None):
        self.store, self.dataset, self.run, self.max_k = store, dataset, run, max_k
        self.explanations = explanations
        self.counts = counts                # loads per part, for the whole registry ("once per run")
        self.lists: RunLists | None = None
        self.index: ItemIndex | None = None
        self.interests: InterestIndex | None = None
        self.neighbours: InterestNeighbours | None = None
        self.preloaded = threading.Event()
        self._locks = {part: threading.Lock() for part in ("lists", "index", "interests", "neighbours")}

    def _once(self, part: str, load: Any) -> Any:
        """The part, loaded by the first caller while later ones wait."""
        value = getattr(self, part)
        if value is not None:
            return value
        with self._locks[part]:
            if getattr(self, part) is None:
                setattr(self, part, load())
                self.counts[part] += 1
            return getattr(self, part)

    def item_index(self) -> ItemIndex:
        """The run's item vectors; raises ``NoVectorsError`` for a run that has none."""
        run = self.run
        if run.linked is not None:
            raise NoVectorsError(f"Dataset '{self.dataset}' is linked to a graph of your own: its runs keep their "
                                 "vectors in the model file, not on its nodes, so cold start is not served for it.")
        if not run.embedding_property:
            raise NoVectorsError(f"Run '{run.run_id}' stored no vectors; retrain '{run.model}' to cold-start.")
        index = self._once("index", lambda: ItemIndex(load_item_vectors(self.store, self.dataset, run.model,
                                                                        run.run_id)))
        if not len(index):
            raise NoVectorsError(f"Run '{run.run_id}' left no item vectors in the graph; retrain '{run.model}'.")
        return index

    def interest_index(self) -> InterestIndex:
        """The run's interest vectors; raises ``NoInterestVectorsError`` for a run that stored none."""
        run = self.run
        interests = self._any_interests()
        if not len(interests):
            raise NoInterestVectorsError(
                f"Run '{run.run_id}' of model '{run.model}' stored no interest vectors: only a model with interest "
                "nodes (cikgrec trained with interests) can take 'interests' or 'infer_interests'.")
        return interests

    def _any_interests(self) -> InterestIndex:
        """The run's interest vectors, empty for a run without them."""
        run = self.run
        return self._once("interests", lambda: InterestIndex(load_interest_vectors(self.store, self.dataset, run.model,
                                                                                  run.run_id)))

    def interest_neighbours(self) -> InterestNeighbours:
        index, interests = self.item_index(), self.interest_index()
        return self._once("neighbours", lambda: load_neighbours(self.store, self.dataset, self.run.model,
                                                                self.run.run_id, index, interests))

    def run_lists(self) -> RunLists:
        return self._once("lists", lambda: load_run_lists(self.store, self.dataset, self.run.model, self.max_k))

    def preload(self) -> None:
        """Everything the run serves from (a linked dataset's lists stay on its graph) and its dataset's
        explanation arrays; failures are logged, and the parts not loaded are loaded on first use (the
        explanation arrays: with the next run, and meanwhile explanations read the graph)."""
        run = self.run
        try:
            if run.linked is None:
                self.run_lists()
            if run.linked is None and run.embedding_property:
                self.item_index()
                if len(self._any_interests()):
                    self.interest_neighbours()
        except KgrecError as error:     # Neo4j away, or a run without vectors: what is missing loads on use
            log.warning("preload of %s/%s (%s) stopped: %s", self.dataset, run.model, run.run_id, error)
        finally:
            self._preload_explanations()
            settle()
            self.preloaded.set()

    def _preload_explanations(self) -> None:
        if self.explanations is None or self.run.linked is not None:
            return
        try:
            self.explanations.load(self.dataset)
        except KgrecError as error:     # Neo4j away: explanations read the graph until the next run loads them
            log.warning("explanation arrays of %s not loaded: %s", self.dataset, error)

    @property
    def nbytes(self) -> int:
        parts = (self.lists, self.index, self.neighbours)
        held = sum(part.nbytes for part in parts if part is not None)
        interests = self.interests
        return held + (int(interests.matrix.nbytes + interests.ids.nbytes) if interests is not None else 0)


def settle() -> None:
    """Collect the preload's garbage, then freeze what the process holds (modules, app, memory) out of
    the cyclic collector's reach: the full passes that requests' allocations trigger now and then would
    otherwise walk all of it, stalling every request in flight (60-90 ms at DBbook2014's size). Frozen
    objects are still freed when their last reference goes (an older run's memory, dropped); at exit
    they are thawed, so that the last collection finalises them as usual."""
    gc.collect()
    gc.freeze()
    if not _THAW_AT_EXIT.is_set():
        _THAW_AT_EXIT.set()
        atexit.register(gc.unfreeze)
