"""What explanation paths are read from, held in memory per dataset: the graph's users, items, KG and
interests as numpy arrays, so an explanation (``serving.explain_paths``) needs no query.

Read once per dataset version by six queries (``cypher/serving/explain_*.cypher`` and
``explain/interest_items``). Every score is read back as Neo4j computed it (``1 / log(2 + degree)``,
``weight / log(2 + size)``): Java's ``log`` and C's differ in the last bit for a few arguments, and
an answer from memory must equal the graph path's, ties and sums included.

Layout (``U`` users, ``I`` items, ``E`` entities, ``N`` user-item pairs, ``L`` item-entity links,
``K`` KG edges, ``H`` user-interest pairs, ``M`` interest memberships; rows sorted by id, so row
order is id order; CSR = ``indptr`` int64 (rows+1) and int32 columns sorted within a row):

* users: ``user_ids`` int64, ``peer_degree`` int32, ``peer_score`` float64, ``user_items`` CSR (N);
  ``user_interests`` CSR (H) with ``interest_weight`` and ``interest_score`` float64 per pair;
* items: ``item_ids`` int64, ``item_users`` CSR (N), ``item_entities`` CSR (L), titles (UTF-8 text
  with int64 offsets and a bool "none" flag);
* entities: ``entity_ids`` int64, ``entity_degree`` int32, ``entity_score`` float64, ``entity_items``
  CSR (L), names (as titles), and the KG both ways: ``adjacency`` CSR (2K entries, a self-loop one)
  with per entry ``adj_relation`` int16 (relation types in sorted order), ``adj_starts`` bool (the
  edge starts at the row's entity) and ``adj_edge`` int32 (which edge: a path never uses one twice);
* interests: (set, id) keys, labels, int32 sizes, ``members`` CSR (M) and the member items of
  unlabelled ones (Python objects, a few hundred bytes per interest).

So ``36 U + 33 I + 45 E + 8 N + 8 L + 22 K + 20 H + 4 M`` bytes plus the UTF-8 text of titles and names.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kg_store.connection import GraphStore
from kg_store.explain import entity_name

MEMBER_ITEMS = 3            # items named per unlabelled interest, as kg_store.explain.explain names them


@dataclass(frozen=True)
class Csr:
    """Rows of sorted int32 columns: ``columns[indptr[r]:indptr[r + 1]]``."""

    indptr: np.ndarray
    columns: np.ndarray
    single: bool = False            # one entry in every row (items tied 1:1 to entities, as in most KG sets)

    def row(self, row: int) -> np.ndarray:
        return self.columns[self.indptr[row]:self.indptr[row + 1]]

    def entries(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``rows``, position in ``columns``) of every entry of ``rows``, row by row."""
        if self.single:
            return np.arange(len(rows)), self.indptr[rows]
        if len(rows) == 1:                  # the common case of one row (an item's one entity): a slice
            start, end = int(self.indptr[rows[0]]), int(self.indptr[rows[0] + 1])
            return np.zeros(end - start, dtype=np.int64), np.arange(start, end)
        starts = self.indptr[rows]
        counts = self.indptr[rows + 1] - starts
        owner = np.repeat(np.arange(len(rows)), counts)
        ends = np.cumsum(counts)
        positions = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(starts - (ends - counts), counts)
        return owner, positions

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.columns.nbytes)


def csr(rows: np.ndarray, columns: np.ndarray, n: int, *extra: np.ndarray) -> tuple[Csr, list[np.ndarray]]:
    """The CSR of (row, column) pairs over ``n`` rows, pairs sorted, and ``extra`` per-pair arrays in its
    order; duplicate pairs are kept (callers pass distinct ones)."""
    order = np.lexsort((columns, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    single = bool(n) and len(rows) == n and bool(np.all(indptr[1:] - indptr[:-1] == 1))
    return Csr(indptr, columns[order].astype(np.int32), single), [array[order] for array in extra]


@dataclass(frozen=True)
class Texts:
    """Strings (None kept apart from "") as one UTF-8 buffer and offsets."""

    buffer: bytes
    offsets: np.ndarray
    missing: np.ndarray

    @classmethod
    def of(cls, texts: list[str | None]) -> Texts:
        encoded = [(text or "").encode() for text in texts]
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(part) for part in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets, np.asarray([text is None for text in texts], dtype=bool))

    def __getitem__(self, row: int) -> str | None:
        if self.missing[row]:
            return None
        return self.buffer[self.offsets[row]:self.offsets[row + 1]].decode()

    @property
    def nbytes(self) -> int:
        return len(self.buffer) + int(self.offsets.nbytes + self.missing.nbytes)


@dataclass(frozen=True)
class Interests:
    """The dataset's interests, sorted by (set, id): what interest paths name and rank by."""

    keys: list[tuple[str, int]]
    labels: list[str | None]
    sizes: np.ndarray                       # (n,) int32 distinct members
    members: Csr                            # user rows
    member_items: dict[int, list[dict[str, Any]]] = field(default_factory=dict)   # unlabelled: best-known items

    @property
    def nbytes(self) -> int:
        strings = sum(sys.getsizeof(key[0]) + sys.getsizeof(label or "") for key, label in zip(self.keys, self.labels,
                                                                                              strict=True))
        return strings + int(self.sizes.nbytes) + self.members.nbytes + 200 * len(self.member_items)


@dataclass(frozen=True)
class ExplainGraph:
    """One dataset version's graph, as explanations read it (see the module docstring)."""

    dataset: str
    version: Any
    user_ids: np.ndarray
    peer_degree: np.ndarray
    peer_score: np.ndarray
    user_items: Csr
    user_interests: Csr
    interest_weight: np.ndarray
    interest_score: np.ndarray
    item_ids: np.ndarray
    item_users: Csr
    item_entities: Csr
    titles: Texts
    entity_ids: np.ndarray
    entity_degree: np.ndarray
    entity_score: np.ndarray
    entity_items: Csr
    entity_names: Texts
    adjacency: Csr
    adj_relation: np.ndarray
    adj_starts: np.ndarray
    adj_edge: np.ndarray
    relations: list[str]
    interests: Interests

    @property
    def nbytes(self) -> int:
        arrays = (self.user_ids, self.peer_degree, self.peer_score, self.interest_weight, self.interest_score,
                  self.item_ids, self.entity_ids, self.entity_degree, self.entity_score, self.adj_relation,
                  self.adj_starts, self.adj_edge)
        parts = (self.user_items, self.user_interests, self.item_users, self.item_entities, self.titles,
                 self.entity_items, self.entity_names, self.adjacency, self.interests)
        return sum(int(a.nbytes) for a in arrays) + sum(p.nbytes for p in parts)

    def user_row(self, user: int) -> int | None:
        return _row(self.user_ids, user)

    def item_row(self, item: int) -> int | None:
        return _row(self.item_ids, item)


class Inexact(Exception):
    """The graph holds something the arrays cannot reproduce exactly (explanations then read the graph)."""


def _row(ids: np.ndarray, value: int) -> int | None:
    row = int(np.searchsorted(ids, value))
    return row if row < len(ids) and ids[row] == value else None


def rows_of(ids: np.ndarray, wanted: list[Any]) -> tuple[np.ndarray, bool]:
    """Rows of ``wanted`` (integer ids) in the sorted ``ids``, and whether every one is there."""
    if not all(type(value) is int for value in wanted):
        raise Inexact("an id that is not an integer")
    values = np.asarray(wanted, dtype=np.int64)
    if not len(ids):
        return np.zeros(len(values), dtype=np.int64), not len(values)
    rows = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return rows, bool(np.all(ids[rows] == values))


def _by_id(rows: list[dict[str, Any]], key: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The rows sorted by their integer id ``key``, and the ids."""
    if not all(type(row[key]) is int for row in rows):
        raise Inexact(f"a {key} id that is not an integer")
    rows = sorted(rows, key=lambda row: row[key])
    ids = np.asarray([row[key] for row in rows], dtype=np.int64)
    if len(np.unique(ids)) != len(ids):
        raise Inexact(f"two {key}s with one id")
    return rows, ids


def _pairs(rows: list[dict[str, Any]], key: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, row in ``ids``) of every value in each row's list ``key``."""
    lengths = [len(row[key]) for row in rows]
    owner = np.repeat(np.arange(len(rows)), lengths)
    found, complete = rows_of(ids, [value for row in rows for value in row[key]])
    if not complete:
        raise Inexact(f"a {key} outside the dataset")
    return owner, found


def load_explain_graph(store: GraphStore, dataset: str, version: Any) -> ExplainGraph:
    """The arrays of ``dataset`` (at ``version``, read before these reads); raises ``Inexact`` for a graph
    they would not reproduce (then the dataset's explanations stay on the graph)."""
    params = {"dataset": dataset}
    users, user_ids = _by_id(store.read("serving/explain_users", **params), "user")
    items, item_ids = _by_id(store.read("serving/explain_items", **params), "item")
    entities, entity_ids = _by_id(store.read("serving/explain_entities", **params), "entity")
    owner, item_rows = _pairs(users, "items", item_ids)
    user_items, _ = csr(owner, item_rows, len(users))
    item_users, _ = csr(item_rows, owner, len(items))
    owner, entity_rows = _pairs(items, "entities", entity_ids)
    item_entities, _ = csr(owner, entity_rows, len(items))
    entity_items, _ = csr(entity_rows, owner, len(entities))
    interests = _interests(store, dataset, user_ids)
    user_interests, weights, scores = _user_interests(store.read("serving/explain_user_interests", **params),
                                                      user_ids, interests)
    kg = _knowledge_graph(entities, entity_ids)
    return ExplainGraph(
        dataset=dataset, version=version, user_ids=user_ids,
        peer_degree=np.asarray([row["degree"] for row in users], dtype=np.int32),
        peer_score=np.asarray([row["score"] for row in users], dtype=np.float64), user_items=user_items,
        user_interests=user_interests, interest_weight=weights, interest_score=scores, item_ids=item_ids,
        item_users=item_users, item_entities=item_entities, titles=Texts.of([_title(row["title"]) for row in items]),
        entity_ids=entity_ids, entity_degree=np.asarray([row["degree"] for row in entities], dtype=np.int32),
        entity_score=np.asarray([row["score"] for row in entities], dtype=np.float64), entity_items=entity_items,
        entity_names=Texts.of([entity_name(row["entity"], row["name"], row["uri"]) for row in entities]),
        interests=interests, **kg)


def _title(title: Any) -> str | None:
    """What ``item_name`` makes of a title: any value but an empty one is formatted as text."""
    return f"{title}" if title else None


def _knowledge_graph(entities: list[dict[str, Any]], entity_ids: np.ndarray) -> dict[str, Any]:
    """The KG both ways over entity rows; its degrees must be the graph's (``COUNT { (e)--(:Entity) }``)."""
    relations = sorted({edge[0] for row in entities for edge in row["edges"]})
    codes = {name: code for code, name in enumerate(relations)}
    lengths = [len(row["edges"]) for row in entities]
    start = np.repeat(np.arange(len(entities)), lengths)
    end, complete = rows_of(entity_ids, [edge[1] for row in entities for edge in row["edges"]])
    if not complete:
        raise Inexact("a KG edge to an entity of another dataset")
    relation = np.asarray([codes[edge[0]] for row in entities for edge in row["edges"]], dtype=np.int64)
    edge = np.arange(len(start))
    back = start != end                                 # a self-loop is matched once, from its start
    adjacency, (other, rel, starts, edges) = csr(
        np.concatenate([start, end[back]]), np.concatenate([end, start[back]]), len(entities),
        np.concatenate([end, start[back]]), np.concatenate([relation, relation[back]]),
        np.concatenate([np.ones(len(start), dtype=bool), np.zeros(int(back.sum()), dtype=bool)]),
        np.concatenate([edge, edge[back]]))
    degree = np.diff(adjacency.indptr)
    if not np.array_equal(degree, [row["degree"] for row in entities]):
        raise Inexact("an entity with KG edges beyond the dataset's entities")
    return {"adjacency": adjacency, "adj_relation": rel.astype(np.int16 if len(relations) < 2**15 else np.int32),
            "adj_starts": starts, "adj_edge": edges.astype(np.int32), "relations": relations}


def _interests(store: GraphStore, dataset: str, user_ids: np.ndarray) -> Interests:
    """Every interest of the dataset with its members, and the best-known items of the unlabelled ones
    (read by ``explain/interest_items``, as ``kg_store.explain`` names them)."""
    rows = store.read("serving/explain_interests", dataset=dataset)
    if not all(type(row["interest"]) is int and isinstance(row["set"], str) for row in rows):
        raise Inexact("an interest without a set name or an integer id")
    rows = sorted(rows, key=lambda row: (row["set"], row["interest"]))
    owner, members = _pairs(rows, "members", user_ids)
    table, _ = csr(owner, members, len(rows))
    unlabelled = [[row["set"], row["interest"]] for row in rows if not row["label"]]
    named = store.read("explain/interest_items", dataset=dataset, per_interest=MEMBER_ITEMS,
                       interests=unlabelled) if unlabelled else []
    keys = [(row["set"], row["interest"]) for row in rows]
    position = {key: n for n, key in enumerate(keys)}
    return Interests(keys=keys, labels=[row["label"] for row in rows],
                     sizes=np.asarray([len(row["members"]) for row in rows], dtype=np.int32), members=table,
                     member_items={position[(r["set"], r["interest"])]: r["items"] for r in named})


def _user_interests(rows: list[dict[str, Any]], user_ids: np.ndarray,
                    interests: Interests) -> tuple[Csr, np.ndarray, np.ndarray]:
    """The (user, interest) pairs with their weights and scores, CSR over users."""
    if not all(type(row["weight"]) is float for row in rows):
        raise Inexact("an interest weight that is not a float")
    users, complete = rows_of(user_ids, [row["user"] for row in rows])
    position = {key: n for n, key in enumerate(interests.keys)}
    if not complete or any((row["set"], row["interest"]) not in position for row in rows):
        raise Inexact("an interest edge outside the dataset")
    found = np.asarray([position[(row["set"], row["interest"])] for row in rows], dtype=np.int64)
    table, (weights, scores) = csr(users, found, len(user_ids),
                                   np.asarray([row["weight"] for row in rows], dtype=np.float64),
                                   np.asarray([row["score"] for row in rows], dtype=np.float64))
    return table, weights, scores
