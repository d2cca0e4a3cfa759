"""An explanation from memory: the paths of ``kg_store.explain`` computed over ``serving.explain_memory``'s
arrays instead of its three queries, with the same rows in the same order.

Each kind's path rows are found by joins of sorted arrays (U = the user, I = the item, rows of the
arrays; ``peers(I)`` = users who interacted with I, U left out; ``seen`` = U's items but I):

* collaborative: pairs (seen, peer) with seen among the peer's items, from whichever side has
  fewer entries to scan; score = the peer's score;
* kg: entities of I joined to entities of U's seen items through one shared entity ``via``, two
  distinct KG edges (r2 at I's side, r1 at the seen item's); score = the via's score;
* interest: members of U's interests who interacted with I; score = the (U, interest) pair's.

Rows are ranked as the queries rank them (score descending, then their ``ORDER BY`` keys, then
the rest of the row, so any cut at ``max_paths`` is reproducible), each kind's count and summed
score are taken over its first ``max_paths`` rows, and only the rows that can reach the ``top``
(all rows at least as good as the kind's ``top``-th: ties at that score are ordered by their text
in ``kg_store.explain.assemble``) become row dicts for ``assemble``, which words and ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kg_store.explain import KINDS, Explanation, KindSummary, assemble, item_name
from serving.explain_memory import ExplainGraph

MAX_PATHS = 5000            # kg_store.explain.explain's default: most paths per kind


@dataclass(frozen=True)
class Paths:
    """One kind's path rows, in any order: ``scores``, the row arrays (rows of the graph arrays) and the
    keys that order ties of score as the query does (most significant first)."""

    scores: np.ndarray
    columns: dict[str, np.ndarray]
    keys: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, rows: np.ndarray | slice) -> Paths:
        return Paths(self.scores[rows], {name: values[rows] for name, values in self.columns.items()},
                     tuple(key[rows] for key in self.keys))

    def ordered(self) -> Paths:
        """In the query's order: score descending, then the keys."""
        return self.take(np.lexsort((*reversed(self.keys), -self.scores)))

    def ranked(self, top: int, max_paths: int) -> tuple[KindSummary, Paths]:
        """The kind's count and summed score over its first ``max_paths`` rows, and the rows that can be
        among the ``top`` (through the last one tied with the ``top``-th), in the query's order. Only a
        cut at ``max_paths`` needs the whole order; the sum needs the scores' order alone."""
        paths = self.ordered().take(slice(0, max_paths)) if len(self) > max_paths else self
        descending = np.sort(paths.scores)[::-1]
        summary = KindSummary(paths=len(paths), score=sum(descending.tolist()), truncated=len(paths) >= max_paths)
        if len(paths) > top:
            paths = paths.take(np.flatnonzero(paths.scores >= descending[top - 1]))
        return summary, paths.ordered()


def _ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(which range, position) of every position in the ranges ``[start, start + count)``."""
    owner = np.repeat(np.arange(len(starts)), counts)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    return owner, np.arange(total) + np.repeat(starts - (ends - counts), counts)


def _within(allowed: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which ``values`` are in the sorted ``allowed``."""
    if not len(allowed):
        return np.zeros(len(values), dtype=bool)
    positions = np.minimum(np.searchsorted(allowed, values), len(allowed) - 1)
    return allowed[positions] == values


def collaborative_rows(g: ExplainGraph, user: int, item: int) -> Paths:
    """user -> seen <- peer -> item: ``ORDER BY score DESC, seen, peer``."""
    peers = g.item_users.row(item)
    peers = peers[peers != user]
    seen = g.user_items.row(user)
    seen = seen[seen != item]
    if len(peers) * len(g.item_ids) <= len(seen) * len(g.user_ids):     # fewer entries to scan, on average
        owner, positions = g.user_items.entries(peers)
        found = g.user_items.columns[positions]
        keep = _within(seen, found)
        pair_seen, pair_peer = found[keep], peers[owner[keep]]
    else:
        owner, positions = g.item_users.entries(seen)
        found = g.item_users.columns[positions]
        keep = _within(peers, found)
        pair_seen, pair_peer = seen[owner[keep]], found[keep]
    return Paths(g.peer_score[pair_peer], {"seen": pair_seen, "peer": pair_peer}, (pair_seen, pair_peer))


def kg_rows(g: ExplainGraph, user: int, item: int) -> Paths:
    """user -> seen -> es -[r1]- via -[r2]- et <- item: ``ORDER BY score DESC, seen, via, rel1, rel2``."""
    adjacency = g.adjacency
    targets = g.item_entities.row(item)
    left_of, left = adjacency.entries(targets)                  # r2: et's KG edges, to via
    via = adjacency.columns[left]
    seen = g.user_items.row(user)
    seen = seen[seen != item]
    link_of, links = g.item_entities.entries(seen)              # (seen, es) pairs
    right_of, right = adjacency.entries(g.item_entities.columns[links])     # r1: es's KG edges, to via
    keep = _within(np.sort(via), adjacency.columns[right])
    right_of, right = right_of[keep], right[keep]
    order = np.argsort(adjacency.columns[right], kind="stable")
    sorted_via = adjacency.columns[right][order]
    starts = np.searchsorted(sorted_via, via, side="left")
    pair_left, pair_right = _ranges(starts, np.searchsorted(sorted_via, via, side="right") - starts)
    r2, r1 = left[pair_left], right[order[pair_right]]
    distinct = g.adj_edge[r1] != g.adj_edge[r2]
    r2, r1, pair_left, pair_right = r2[distinct], r1[distinct], pair_left[distinct], pair_right[distinct]
    link = link_of[right_of[order[pair_right]]]
    et, shared = targets[left_of[pair_left]], via[pair_left]
    columns = {"seen": seen[link], "via": shared, "rel1": g.adj_relation[r1], "rel1_out": g.adj_starts[r1],
               "rel2": g.adj_relation[r2], "rel2_out": ~g.adj_starts[r2] | (shared == et)}
    es = g.item_entities.columns[links[right_of[order[pair_right]]]]
    entities = len(g.entity_ids)
    relations = (columns["rel1"].astype(np.int64) * len(g.relations) + columns["rel2"]) * 4 \
        + columns["rel1_out"] * 2 + columns["rel2_out"]
    return Paths(g.entity_score[shared], columns,
                 (columns["seen"].astype(np.int64) * entities + shared, relations, es.astype(np.int64) * entities + et))


def interest_rows(g: ExplainGraph, user: int, item: int) -> Paths:
    """user -> interest <- peer -> item: ``ORDER BY score DESC, set, interest, peer``."""
    start, end = int(g.user_interests.indptr[user]), int(g.user_interests.indptr[user + 1])
    held = g.user_interests.columns[start:end]
    owner, positions = g.interests.members.entries(held)
    peer = g.interests.members.columns[positions]
    keep = _within(g.item_users.row(item), peer) & (peer != user)
    pair, peer = owner[keep] + start, peer[keep]
    interest = g.user_interests.columns[pair]
    return Paths(g.interest_score[pair], {"interest": interest, "peer": peer, "weight": g.interest_weight[pair]},
                 (interest, peer))


def _collaborative_dicts(g: ExplainGraph, rows: Paths) -> list[dict[str, Any]]:
    c = rows.columns
    return [{"seen": int(g.item_ids[seen]), "seen_title": g.titles[seen], "peer": int(g.user_ids[peer]),
             "degree": int(g.peer_degree[peer]), "score": score}
            for seen, peer, score in zip(c["seen"].tolist(), c["peer"].tolist(), rows.scores.tolist(), strict=True)]


def _kg_dicts(g: ExplainGraph, rows: Paths) -> list[dict[str, Any]]:
    c = rows.columns
    names = g.relations
    return [{"seen": int(g.item_ids[seen]), "seen_title": g.titles[seen], "rel1": names[rel1], "rel1_out": out1,
             "via": int(g.entity_ids[via]), "via_name": g.entity_names[via], "via_uri": None,
             "degree": int(g.entity_degree[via]), "rel2": names[rel2], "rel2_out": out2, "score": score}
            for seen, via, rel1, out1, rel2, out2, score in zip(
                c["seen"].tolist(), c["via"].tolist(), c["rel1"].tolist(), c["rel1_out"].tolist(),
                c["rel2"].tolist(), c["rel2_out"].tolist(), rows.scores.tolist(), strict=True)]


def _interest_dicts(g: ExplainGraph, rows: Paths) -> list[dict[str, Any]]:
    c, interests = rows.columns, g.interests
    return [{"set": interests.keys[n][0], "interest": interests.keys[n][1], "label": interests.labels[n],
             "size": int(interests.sizes[n]), "weight": weight, "peer": int(g.user_ids[peer]), "score": score}
            for n, peer, weight, score in zip(c["interest"].tolist(), c["peer"].tolist(), c["weight"].tolist(),
                                              rows.scores.tolist(), strict=True)]


FINDERS = {"interest": (interest_rows, _interest_dicts), "kg": (kg_rows, _kg_dicts),
           "collaborative": (collaborative_rows, _collaborative_dicts)}


def explain_held(g: ExplainGraph, user: int, item: int, top: int, max_paths: int = MAX_PATHS) -> Explanation | None:
    """``kg_store.explain.explain(store, g.dataset, user, item, top=top)`` from the arrays; None when they
    do not know the user or the item (one added since they were read, or none such)."""
    user_row, item_row = g.user_row(user), g.item_row(item)
    if user_row is None or item_row is None:
        return None
    rows: dict[str, list[dict[str, Any]]] = {}
    summary: dict[str, KindSummary] = {}
    named: list[int] = []
    for kind in KINDS:
        find, words = FINDERS[kind]
        summary[kind], leading = find(g, user_row, item_row).ranked(top, max_paths)
        rows[kind] = words(g, leading)
        named += leading.columns["interest"].tolist() if kind == "interest" else []
    interests = g.interests
    members = {interests.keys[n]: interests.member_items[n] for n in set(named) if n in interests.member_items}
    ends = (f"user {user}", user, item, item_name(item, g.titles[item_row]))
    found = assemble(g.dataset, ends, rows, members, top, max_paths)
    found.summary = summary
    return found
