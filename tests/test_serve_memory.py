"""Lists held in memory answer byte for byte as the graph path's JSON does (``serving.registry._body`` over
the rows of ``serving/user_recommendations``): any k, ties, scores float32 cannot hold, items gone from the
graph, users without a list, titles beyond ASCII, scores that are not finite."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.memory import body_prefix, lists_from_rows
from serving.registry import _body

TITLES = [{"id": 30, "title": "Dune"}, {"id": 10, "title": "Ætna \"quoted\" ☃"}, {"id": 20, "title": None},
          {"id": 40, "title": "Emma"}]
RUN = "lightgcn-20260101T000000-abcdef"
F32 = [float(np.float32(x)) for x in (0.75, 0.5, 0.5, 0.25)]


def _graph_answer(user: int, rows: list[dict], k: int) -> bytes:
    """What the graph path returns: the first k positions, an item gone from the graph dropped (its MATCH
    finds nothing), ranks kept by position."""
    titles = {row["id"]: row["title"] for row in TITLES}
    entry = next(row for row in rows if row["user"] == user)
    items = [{"item": i, "title": titles[i], "score": s, "rank": n + 1, "run_id": entry["run_id"]}
             for n, (i, s) in enumerate(zip((entry["items"] or [])[:k], (entry["scores"] or [])[:k], strict=True))
             if i in titles]
    return _body("books", user, "lightgcn", RUN, items)


@pytest.mark.parametrize("scores", [F32, [0.1, 0.2, 0.30000000000000004, 1e-300], [float("inf"), 1.0, float("nan"),
                                                                                     -float("inf")]],
                         ids=["float32", "float64", "not finite"])
def test_every_k_answers_as_the_graph_path(scores: list[float]) -> None:
    rows = [{"user": 7, "items": [30, 10, 20, 40], "scores": scores, "run_id": RUN},
            {"user": 2, "items": [10, 99, 40], "scores": scores[:3], "run_id": "older-run"},     # 99: gone
            {"user": 5, "items": None, "scores": None, "run_id": None}]                       # no list
    lists = lists_from_rows(TITLES, rows)
    narrow = np.array_equal(np.float32(scores).astype(np.float64), scores, equal_nan=True)
    assert lists.scores.dtype == (np.float32 if narrow else np.float64)
    for user in (7, 2, 5):
        row = lists.row(user)
        for k in (1, 2, 3, 4, 100):
            held = lists.body(body_prefix("books", user, "lightgcn", RUN), row, k)
            expected = _graph_answer(user, rows, k)
            assert held == expected, (user, k)
            assert json.loads(held)["user"] == user
    assert lists.row(3) is None and lists.row(99) is None          # unknown here: the graph decides


def test_memory_per_user_is_18_plus_8_bytes_per_listed_item() -> None:
    rows = [{"user": u, "items": [10, 20, 30, 40], "scores": F32, "run_id": RUN} for u in range(100)]
    lists = lists_from_rows(TITLES, rows)
    arrays = (lists.users, lists.offsets, lists.runs, lists.items, lists.scores)
    assert sum(a.nbytes for a in arrays) == 100 * (18 + 8 * 4) + 8     # offsets hold one more
