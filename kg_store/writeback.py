"""Results back into the graph: each user's top-K as one list per run, and a node per training run.

Canonical store: ``(:User)-[:TOP_K {items: [item ids, best first], scores: [...]}]->(:TrainingRun)``,
one relationship per (user, run); the run node carries model, run_id and a ``created`` time. One
write per user instead of one relationship per recommended item is what makes write-back fast
(at least 100k rows/s, where edges with four properties each manage 8-20k). The run node is made
first (``start_training_run``), batches of users are written as parallel lists, one transaction per
batch (MERGE + SET, so re-running a run id replaces, never duplicates; the same transaction deletes
those users' lists of older runs of the model), and after the last batch the older runs' lists left
on users the new run did not cover go. Readers take, per user, the list of the newest run (by
``created``) that has one, so they never see two runs mixed, and a crash mid-write leaves every user
with one consistent list (the new run's or the old one's).

``(:User)-[:RECOMMENDED {score, rank, model, run_id}]->(:Item)`` edges are an optional, derived view
for Neo4j Browser and explanation paths (``edges``: written by default for runs up to
``EDGES_AUTO_MAX_ROWS`` rows). ``(:TrainingRun)`` keeps the config and metrics as JSON text, and
where the run's model file and vectors are (``kg_store.embeddings`` writes the vectors).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.datasets import dataset_info, node_id
from kg_store.errors import ConfigError, UnknownUserError, UnsafeNameError
from kg_store.progress import Progress, stage
from kg_store.schema import apply_schema

log = logging.getLogger("kgrec.writeback")

# Users per transaction: 2,000 users x top-20 = 40,000 rows, a few MB of transaction state.
WRITE_BATCH_USERS = 2_000
# edges="auto" writes the RECOMMENDED view only up to this many rows (users x K) per run: enough for
# dbbook2014 and ml-100k, while an 846k-interaction set's 1.4 M edges would cost minutes.
EDGES_AUTO_MAX_ROWS = 200_000
EDGE_MODES = ("auto", "always", "never")


def _batches(user_ids: np.ndarray, item_ids: np.ndarray, top_items: Sequence[np.ndarray] | np.ndarray,
             top_scores: Sequence[np.ndarray] | np.ndarray, batch_users: int,
             positions: bool) -> Iterator[dict[str, list]]:
    """Parallel lists per batch of users: ``items`` (item ids per user, best first) and ``scores``;
    with ``positions`` also each distinct item once (``item_ids``) and the lists as positions into it."""
    square = isinstance(top_items, np.ndarray) and top_items.ndim == 2    # every list as long: no loop per user
    for start in range(0, len(top_items), batch_users):
        end = start + batch_users
        if square:
            block = top_items[start:end].astype(np.int64)
            items = item_ids[block].astype(np.int64).tolist()
            scores = np.asarray(top_scores[start:end], dtype=np.float64).tolist()
        else:
            block = [np.asarray(row, dtype=np.int64) for row in top_items[start:end]]
            items = [item_ids[row].astype(np.int64).tolist() for row in block]
            scores = [np.asarray(row, dtype=np.float64).tolist() for row in top_scores[start:end]]
        batch = {"users": user_ids[start:end].astype(np.int64).tolist(), "items": items, "scores": scores}
        if positions:
            lengths = [len(row) for row in block]
            flat = np.concatenate([np.ravel(row) for row in block]) if lengths else np.zeros(0, np.int64)
            used, inverse = np.unique(flat, return_inverse=True)
            batch["item_ids"] = item_ids[used].astype(np.int64).tolist()
            batch["positions"] = [part.tolist() for part in np.split(inverse.ravel(), np.cumsum(lengths)[:-1])]
        yield batch


def _edges_wanted(edges: str, rows: int, dataset: str, model: str) -> bool:
    if edges not in EDGE_MODES:
        raise ConfigError(f"edges must be one of {', '.join(EDGE_MODES)}, got {edges!r}.")
    if edges == "auto" and rows > EDGES_AUTO_MAX_ROWS:
        log.warning("%s: %s: skipped the RECOMMENDED edges (%s rows > %s; readers use the TOP_K lists); "
                    "force them with edges='always' (kgrec train --edges always).",
                    dataset, model, f"{rows:,}", f"{EDGES_AUTO_MAX_ROWS:,}")
        return False
    return edges != "never"


def start_training_run(store: GraphStore, dataset: str, model: str, run_id: str, config: dict[str, Any] | None = None,
                       started: datetime | None = None) -> None:
    """Make the run's node (if new) before its lists point at it; ``save_training_run`` completes it.

    A run id that already belongs to another model or dataset raises ``ConfigError``.
    """
    [row] = store.write("recommend/start_training_run", dataset=dataset, model=model, run_id=run_id,
                        config=None if config is None else json.dumps(config, sort_keys=True, default=str),
                        started=None if started is None else started.isoformat())
    if (row["model"], row["dataset"]) != (model, dataset):
        raise ConfigError(f"Run id {run_id!r} belongs to model {row['model']!r} on dataset {row['dataset']!r}, "
                          f"not {model!r} on {dataset!r}.")


def write_recommendations(store: GraphStore, dataset: str, model: str, run_id: str, user_ids: np.ndarray,
                          item_ids: np.ndarray, top_items: np.ndarray | Sequence[np.ndarray],
                          top_scores: np.ndarray | Sequence[np.ndarray], progress: Progress = None,
                          batch_users: int = WRITE_BATCH_USERS, edges: str = "auto") -> int:
    """Write ranked items per user as TOP_K lists of run ``run_id``; returns the number of rows (items).

    ``top_items``/``top_scores``: per user (aligned with ``user_ids``), indices into ``item_ids`` and
    their scores, best first: an (n_users, K) array, or a sequence of 1-D arrays of any lengths.
    The run node is made when missing (normally ``start_training_run`` made it with the config).
    ``edges``: "auto" also writes the RECOMMENDED view when the run has at most
    ``EDGES_AUTO_MAX_ROWS`` rows (else logs one line), "always" or "never". A linked dataset's lists go
    onto its graph's own nodes instead, as its mapping's write-back relationships (``kg_store.linked.writeback``).
    """
    info = dataset_info(store, dataset)
    apply_schema(store)
    if batch_users < 1:
        raise ConfigError(f"batch_users must be at least 1, got {batch_users}.")
    if len(top_items) != len(user_ids) or len(top_scores) != len(user_ids):
        raise ConfigError(f"{len(user_ids)} users but {len(top_items)} item lists and {len(top_scores)} score lists.")
    if info.get("linked"):     # onto the graph's own nodes, as its mapping's write-back type (kg_store.linked)
        from kg_store.linked.writeback import write_linked_recommendations

        start_training_run(store, dataset, model, run_id)
        return write_linked_recommendations(store, info, model, run_id, user_ids, item_ids, top_items, top_scores,
                                            progress, batch_users)
    square = isinstance(top_items, np.ndarray) and top_items.ndim == 2
    rows = int(top_items.size) if square else int(sum(len(row) for row in top_items))
    with_edges = _edges_wanted(edges, rows, dataset, model)
    start_training_run(store, dataset, model, run_id)
    lists, view = load_query("recommend/write_top_k"), load_query("recommend/replace_recommendations")
    params = {"dataset": dataset, "model": model, "run_id": run_id}

    def write(batch: dict[str, list]) -> None:
        def work(tx: Any) -> None:     # one transaction: a batch's lists, and their edges when wanted
            tx.run(lists, {**params, "rows": batch}).consume()
            if with_edges:
                tx.run(view, {**params, "rows": batch}).consume()
        store.write_with(work)

    with stage(f"{dataset}: recommendations of {model}", len(top_items), progress) as advance:
        for batch in _batches(np.asarray(user_ids), np.asarray(item_ids), top_items, top_scores, batch_users,
                              positions=with_edges):
            write(batch)
            advance(len(batch["users"]))
    store.autocommit("recommend/delete_older_top_k", **params)
    store.autocommit("recommend/delete_stale_recommendations", **params)
    return rows


def lists_from_edges(store: GraphStore, dataset: str) -> list[dict[str, Any]]:
    """Give TOP_K lists to a dataset whose runs have only RECOMMENDED edges: each run without lists gets
    them from its edges (kept). Returns ``{run_id, model, lists}`` per run it upgraded."""
    dataset_info(store, dataset)
    return store.write("recommend/lists_from_edges", dataset=dataset)


def save_training_run(store: GraphStore, dataset: str, model: str, run_id: str, config: dict[str, Any],
                      metrics: dict[str, Any], started: datetime, finished: datetime | None = None,
                      artifacts: dict[str, str | int] | None = None) -> None:
    """``artifacts``: scalar properties saying where the run's model and vectors live (``model_path``,
    ``model_sha256``, ``embedding_property`` ...), so a process that sees only the graph can find them."""
    finished = finished or datetime.now(UTC)
    store.write("recommend/save_training_run", dataset=dataset, model=model, run_id=run_id,
                config=json.dumps(config, sort_keys=True, default=str),
                metrics=json.dumps(metrics, sort_keys=True, default=str),
                started=started.isoformat(), finished=finished.isoformat(), artifacts=dict(artifacts or {}))


def require_user(store: GraphStore, dataset: str, user: int) -> None:
    """Raise ``UnknownUserError`` unless ``user`` is a user id of ``dataset``."""
    if not store.read("store/user_exists", dataset=dataset, user=user)[0]["exists"]:
        raise UnknownUserError(f"User {user} is not in dataset {dataset}.")


def read_recommendations(store: GraphStore, dataset: str, user: int | str, model: str | None = None,
                         limit: int = 100) -> list[dict[str, Any]]:
    """Stored recommendations of one user, best first per model: per model, the TOP_K list of its newest
    run that has one for the user (rows: model, rank, item, title, score, run_id). On a linked dataset
    ``user`` is the user's key, and the rows are the latest run's write-back relationships.

    An unknown dataset or user raises, so an empty list always means "not trained yet" rather
    than a mistyped id.
    """
    info = dataset_info(store, dataset)
    if info.get("linked"):     # the write-back relationships on the graph's own nodes; ``user`` is a key
        return _linked_recommendations(store, info, user, model, limit)
    user = node_id(user, dataset)
    require_user(store, dataset, user)
    return store.read("recommend/user_recommendations", dataset=dataset, user=user, model=model, limit=limit)


def _linked_recommendations(store: GraphStore, info: dict[str, Any], user: int | str, model: str | None,
                            limit: int) -> list[dict[str, Any]]:
    from kg_store.linked.recommendations import read_user_recommendations

    found = read_user_recommendations(store, info, user, model=model, limit=limit)
    if found.user is None:
        raise UnknownUserError(f"Dataset '{info['name']}' has no user {user!r} (no user node of its graph has that key).")
    return [{name: row[name] for name in ("model", "rank", "item", "title", "score", "run_id")} for row in found.items]


def training_runs(store: GraphStore, dataset: str) -> Sequence[dict[str, Any]]:
    """Finished runs, newest first (an unfinished one has no metrics yet)."""
    return store.read("recommend/training_runs", dataset=dataset)


def write_entity_embeddings(store: GraphStore, dataset: str, entity_ids: np.ndarray, vectors: np.ndarray,
                            property_name: str = "transe_embedding", batch_size: int = 2000) -> int:
    """Store one vector per entity as a list property (e.g. for Browser or vector indexes)."""
    if not property_name.replace("_", "").isalnum():
        raise UnsafeNameError(f"Property name {property_name!r} is not letters, digits and underscores.")
    rows = [[int(e), [float(x) for x in v]] for e, v in zip(entity_ids, vectors, strict=True)]
    write_in_batches(store, "recommend/set_entity_embeddings", rows, batch_size=batch_size,
                     description=f"{dataset}: entity vectors", dataset=dataset, property=property_name)
    return len(rows)
