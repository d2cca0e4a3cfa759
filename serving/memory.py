"""Every user's stored list of one run, held in memory: a read of any ``k`` is a slice, no query.

The lists are the run's ``TOP_K`` lists as the graph keeps them (read once per run by
``serving/run_lists``), so an answer from memory is the graph path's answer, ties included: the
same items in the same order with the same scores, the JSON byte for byte. Reading the lists back
rather than scoring the vectors again keeps each model's own scoring rule (CFKG's distance, KGAT's
attention) and the exclusion of every item the user interacted with (train, valid and test) that
the lists were made with.

Layout, for ``U`` users with lists of ``K`` items (CSR over the users, sorted by id):

* ``users`` (U,) int64 ids, ``offsets`` (U+1,) int64, ``runs`` (U,) int16 code of the list's run;
* ``items`` (U*K,) int32 rows of the item table (-1: the item left the graph), ``scores`` (U*K,)
  float32 when that keeps every stored score exactly, else float64;
* per item: its id and the JSON text that starts its entry (``{"item": id, "title": ...``).

So ``18 + 8 K`` bytes per user (178 MB per million users at K = 20; 4 K more with float64 scores)
and about 100 bytes plus the title per item.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from kg_store.connection import GraphStore

_RANK = ', "rank": '
_RUN = ', "run_id": '


@dataclass(frozen=True)
class ItemTable:
    """Item ids (sorted) and the start of each item's JSON entry, for lists kept as item rows."""

    ids: np.ndarray                 # (n,) int64
    heads: list[str]                # '{"item": 7, "title": "Dune", "score": '

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> ItemTable:
        rows = sorted(rows, key=lambda row: row["id"])
        heads = [f'{{"item": {json.dumps(row["id"])}, "title": {json.dumps(row["title"])}, "score": '
                 for row in rows]
        return cls(np.asarray([row["id"] for row in rows], dtype=np.int64), heads)

    def rows(self, ids: list[int]) -> np.ndarray:
        """Row of each id; -1 for an id the table lacks."""
        wanted = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(wanted), -1, dtype=np.int32)
        rows = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return np.where(self.ids[rows] == wanted, rows, -1).astype(np.int32)

    @property
    def nbytes(self) -> int:
        return self._strings + int(self.ids.nbytes)

    @cached_property
    def _strings(self) -> int:
        return sys.getsizeof(self.heads) + sum(sys.getsizeof(head) for head in self.heads)


def _number(value: float) -> str:
    """A score as ``json.dumps`` writes it."""
    if math.isfinite(value):
        return float.__repr__(value)
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def _compact(scores: np.ndarray) -> np.ndarray:
    """float32 when every score survives the round trip exactly (training writes float32 scores)."""
    narrow = scores.astype(np.float32)
    same = np.array_equal(narrow.astype(np.float64), scores, equal_nan=True)
    return narrow if same else scores


@dataclass(frozen=True)
class RunLists:
    """One run's stored lists of every user of the dataset (see the module docstring for the layout)."""

    users: np.ndarray
    offsets: np.ndarray
    runs: np.ndarray
    run_ids: list[str]              # JSON text of each run id a list belongs to
    items: np.ndarray
    scores: np.ndarray
    table: ItemTable

    def __len__(self) -> int:
        return len(self.users)

    @property
    def nbytes(self) -> int:
        arrays = (self.users, self.offsets, self.runs, self.items, self.scores)
        return sum(int(a.nbytes) for a in arrays) + self.table.nbytes

    def row(self, user: int) -> int | None:
        """The user's row, or None for a user the lists do not know (new since, or unknown)."""
        row = int(np.searchsorted(self.users, user))
        return row if row < len(self.users) and self.users[row] == user else None

    def body(self, prefix: bytes, row: int, k: int) -> bytes:
        """The JSON answer of ``registry._body`` for the user at ``row``: ``prefix`` is its text up to the
        items list; the list's first ``k`` entries follow, an item that left the graph skipped."""
        start = int(self.offsets[row])
        end = min(int(self.offsets[row + 1]), start + k)
        run = _RUN + self.run_ids[self.runs[row]] + "}"
        heads = self.table.heads
        parts = [heads[item] + _number(float(score)) + _RANK + str(rank) + run
                 for rank, (item, score) in enumerate(zip(self.items[start:end].tolist(),
                                                          self.scores[start:end].tolist(), strict=True), 1)
                 if item >= 0]
        return prefix + ", ".join(parts).encode() + b"]}"


def body_prefix(dataset: str, user: int | str, model: str, run_id: str) -> bytes:
    """The start of a recommendations answer, up to its items list (``registry._body``'s key order)."""
    text = json.dumps({"dataset": dataset, "user": user, "model": model, "run_id": run_id, "items": []})
    return text[:-2].encode()


def load_run_lists(store: GraphStore, dataset: str, model: str, limit: int) -> RunLists:
    """Every user's newest list of ``model`` (at most ``limit`` items), and the item titles, in two reads."""
    return lists_from_rows(store.read("serving/item_titles", dataset=dataset),
                           store.read("serving/run_lists", dataset=dataset, model=model, limit=limit))


def lists_from_rows(titles: list[dict[str, Any]], lists: list[dict[str, Any]]) -> RunLists:
    """The arrays from rows of ``serving/item_titles`` (id, title) and ``serving/run_lists`` (user, items,
    scores, run_id; items None for a user without a list)."""
    table = ItemTable.from_rows(titles)
    rows = sorted(lists, key=lambda row: row["user"])
    lengths = np.asarray([len(row["items"] or ()) for row in rows], dtype=np.int64)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes: dict[str, int] = {}
    runs = np.asarray([codes.setdefault(row["run_id"] or "", len(codes)) for row in rows], dtype=np.int64)
    flat_items = [item for row in rows for item in row["items"] or ()]
    flat_scores = [score for row in rows for score in row["scores"] or ()]
    return RunLists(users=np.asarray([row["user"] for row in rows], dtype=np.int64), offsets=offsets,
                    runs=runs.astype(np.int16 if len(codes) < 2**15 else np.int32),
                    run_ids=[json.dumps(run_id) for run_id in codes],
                    items=table.rows(flat_items), scores=_compact(np.asarray(flat_scores, dtype=np.float64)),
                    table=table)
