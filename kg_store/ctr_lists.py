"""Rerank candidate lists on the graph: ``(:User)-[:CANDIDATE {list, position, label, score}]->(:Item)``.

One edge per candidate, ``position`` the initial (first-stage) order, ``score`` null for sampled
lists; the list names are kept in ``Dataset.ctr_candidate_lists``. A list is replaced whole in one
transaction, so a reader never sees half of one. Which candidates a list holds is decided by the
caller (``kgrec.ctr_training``); this module stores and reads them in graph ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kg_store.connection import GraphStore
from kg_store.ctr_arrays import CandidateReport, CandidateRows, check_list_name
from kg_store.cypher_files import load_query

WRITE_ROWS = 5000


def stored_list(store: GraphStore, dataset: str, name: str) -> CandidateReport | None:
    """The stored list ``name`` as a report (``written`` False), or None when it has no edge."""
    check_list_name(name)
    row = store.read("ctr/candidate_edges", dataset=dataset, list=name)[0]
    return CandidateReport(dataset, name, False, row["users"], row["edges"]) if row["edges"] else None


def write_candidate_list(store: GraphStore, dataset: str, name: str, rows: CandidateRows) -> None:
    """Replace list ``name`` with ``rows`` (graph ids) in one transaction; a NaN score is stored as null."""
    check_list_name(name)
    graph_rows = [[int(u), int(i), int(p), int(label), None if np.isnan(score) else float(score)]
                  for u, i, p, label, score in zip(rows.users, rows.items, rows.positions, rows.labels, rows.scores,
                                                   strict=True)]
    params = {"dataset": dataset, "list": name}

    def work(tx: Any) -> None:
        tx.run(load_query("ctr/delete_candidate_list"), params).consume()
        for start in range(0, len(graph_rows), WRITE_ROWS):
            tx.run(load_query("ctr/write_candidates"), {**params, "rows": graph_rows[start:start + WRITE_ROWS]}).consume()
        tx.run(load_query("ctr/record_candidate_list"), params).consume()

    store.write_with(work)


def read_candidate_list(store: GraphStore, dataset: str, name: str) -> CandidateRows:
    """Every candidate of list ``name`` grouped by user (ascending id), each user's in stored order;
    empty arrays when the list was never written."""
    check_list_name(name)
    rows = store.read("ctr/candidate_lists", dataset=dataset, list=name)
    flat = [(row["user"], k, c) for row in rows for k, c in enumerate(row["candidates"])]
    scores = np.array([np.nan if c[2] is None else c[2] for _, _, c in flat], dtype=np.float64)
    return CandidateRows(users=np.array([u for u, _, _ in flat], dtype=np.int64),
                         items=np.array([c[0] for _, _, c in flat], dtype=np.int64),
                         positions=np.array([k for _, k, _ in flat], dtype=np.int64),
                         labels=np.array([c[1] for _, _, c in flat], dtype=np.int64), scores=scores,
                         has_scores=any(c[2] is not None for _, _, c in flat))
