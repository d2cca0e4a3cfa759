"""Train CTR models and rerankers from the graph and write the results back.

Flow: CTR samples (and, for rerankers, stored candidate lists) from Neo4j -> optional text vectors
(``text_vec_NAME`` on items and, when present, on users) -> ``recommender.ctr.trainer`` per seed
(epoch chosen on valid, test scored once) -> mean and std over seeds -> a ``TrainingRun`` node
(kind, protocol "valid", config, metrics) and each test user's top-K list (``TOP_K`` to the run
node, plus the optional ``RECOMMENDED`` view; see ``kg_store.writeback``) from the seed with the
best validation score.

What the lists rank: not the whole catalogue. A CTR model ranks each test user's own **CTR
targets** (the interactions after the profile cut), a reranker each test user's **candidate
list**; each user's top ``k`` of those are written under the model's name, so lists differ in
length from user to user.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from kg_store.connection import GraphStore
from kg_store.writeback import save_training_run, start_training_run, write_recommendations
from knowledge.text_features import WRITERS, MissingTextError, load_text_matrix
from knowledge.text_recipes import TEXT_RECIPES, prepare_text
from recommender.ctr.data import (
    DEFAULT_MAX_HISTORY,
    SAMPLED_LIST,
    CandidateLists,
    CTRData,
    load_candidate_lists,
    load_ctr_data,
    store_sampled_lists,
)
from recommender.ctr.trainer import (
    TRAIN_FIELDS,
    CTRTrainConfig,
    CTRTrainResult,
    score_ctr,
    score_lists,
    train_ctr_model,
    train_rerank_model,
)

DEFAULT_SEEDS = (2024,)


@dataclass
class CTROutcome:
    """Every seed's result, their summary, and what was written."""

    run_id: str
    kind: str
    model: str
    dataset: str
    seeds: list[int]
    results: list[CTRTrainResult]
    summary: dict[str, dict[str, float]]      # test metric -> {mean, std}
    config: dict[str, Any]
    selected_seed: int
    notes: list[str] = field(default_factory=list)
    recommendations_written: int = 0

    def metrics(self) -> dict[str, Any]:
        return {"kind": self.kind, "protocol": "valid", "test_mean_std": self.summary,
                "per_seed": [r.metrics() for r in self.results], "seeds": self.seeds,
                "selected_seed": self.selected_seed, "notes": self.notes,
                "seconds_per_epoch": float(np.mean([r.seconds_per_epoch for r in self.results]))}


# User text properties written from the ranking split's train history (``kgrec enrich users``): that
# history is not cut at the CTR profile, so it can mention a user's CTR targets (the leakage rule).
TRAIN_SPLIT_USER_TEXTS = frozenset({"description"})


def profile_text(data: CTRData, item_vectors: np.ndarray) -> np.ndarray:
    """Each user's mean item vector over its profile history only (the leakage rule); zeros without one."""
    profile = data.profile_matrix()
    counts = np.asarray(profile.sum(axis=1)).ravel()
    return np.asarray(profile @ item_vectors, dtype=np.float32) / np.maximum(counts, 1)[:, None].astype(np.float32)


def attach_text(store: GraphStore, data: CTRData, name: str, user_name: str | None = None) -> tuple[CTRData, list[str]]:
    """``data`` with item vectors ``text_vec_NAME`` (required) and user vectors (``user_name``'s, by
    default ``name``'s).

    The backbones read user text whenever they read item text, so users without any stored
    vector, or whose vectors were encoded from a text that can see CTR targets
    (:data:`TRAIN_SPLIT_USER_TEXTS`), get the mean item vector of their profile history. Missing item vectors raise
    ``MissingTextError`` naming ``kgrec text encode``.
    """
    items = load_text_matrix(store, data.dataset, "item", name, ids=data.item_ids)
    notes = [f"{items.missing} of {len(items.ids)} items have no '{name}' vector (zeros)"] if items.missing else []
    users, note = _stored_user_text(store, data, user_name or name)
    if note:
        notes.append(note)
    user_text = profile_text(data, items.vectors) if users is None else users
    return data.with_text(user_text=user_text, item_text=items.vectors), notes


def _stored_user_text(store: GraphStore, data: CTRData, name: str) -> tuple[np.ndarray | None, str | None]:
    """The users' stored vectors ``name`` when they may be used (else None: the profile mean), and a note."""
    fallback = "user text is the mean item vector of the profile history"
    try:
        users = load_text_matrix(store, data.dataset, "user", name, ids=data.user_ids)
    except MissingTextError:
        return None, f"no user has a '{name}' vector: {fallback}"
    leaky = users.sources & TRAIN_SPLIT_USER_TEXTS
    if leaky:
        return None, (f"user vectors '{name}' were encoded from User.{', '.join(sorted(leaky))}, written from the "
                      f"ranking train split, which can hold CTR targets; they are not used: {fallback}")
    missing = f"{users.missing} of {len(users.ids)} users have no '{name}' vector (zeros)" if users.missing else None
    return users.vectors, missing


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(trainer settings, model settings) from one flat dict of overrides."""
    train = {k: v for k, v in overrides.items() if k in TRAIN_FIELDS}
    return train, {k: v for k, v in overrides.items() if k not in TRAIN_FIELDS}


def _summary(results: list[CTRTrainResult]) -> dict[str, dict[str, float]]:
    return {name: {"mean": float(np.mean([r.test[name] for r in results])),
                   "std": float(np.std([r.test[name] for r in results]))} for name in results[0].test}


def _load(store: GraphStore, dataset: str, text: str | None, max_history: int) -> tuple[CTRData, list[str], str | None]:
    """The CTR data with text attached; ``text`` may be a recipe (``kellmrec``, ...), encoded on demand.
    Returns the data, notes, and the vector name trained on."""
    data = load_ctr_data(store, dataset, max_history=max_history)
    if not text:
        return data, [], None
    prepared = prepare_text(store, dataset, text)
    notes = []
    if prepared.vectors != text:
        notes.append(f"--text {text}: {TEXT_RECIPES[text].what}, as vectors '{prepared.vectors}' "
                     f"({prepared.coverage:.1%} of the items have it; {prepared.encoded:,} encoded now)")
    if prepared.user_vectors:
        recipe = TEXT_RECIPES[text]
        notes.append(f"user text: User.{recipe.user_prop} as vectors '{prepared.user_vectors}' "
                     f"({prepared.user_coverage:.1%} of the users have it"
                     + (f"; write it with `{WRITERS[recipe.user_prop].format(kind='user', dataset=dataset)}`)"
                        if not prepared.user_coverage else ")"))
    data, attached = attach_text(store, data, prepared.vectors, prepared.user_vectors)
    return data, notes + attached, prepared.vectors


def _run_id(model: str) -> str:
    return f"{model}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _top_k(users: np.ndarray, items: np.ndarray, scores: np.ndarray, k: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per user index: its best ``k`` distinct items (indices) and scores, best first."""
    best: dict[int, dict[int, float]] = {}
    for user, item, score in zip(users.tolist(), items.tolist(), scores.tolist(), strict=True):
        mine = best.setdefault(user, {})
        mine[item] = max(score, mine.get(item, -np.inf))
    out = {}
    for user, mine in best.items():
        ranked = sorted(mine.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
        out[user] = (np.array([i for i, _ in ranked], np.int64), np.array([s for _, s in ranked], np.float64))
    return out


def _write_top(store: GraphStore, data: CTRData, model: str, run_id: str,
               top: dict[int, tuple[np.ndarray, np.ndarray]]) -> int:
    """Every user's list, whatever its length: a TOP_K list holds any number of items."""
    users = sorted(top)
    return write_recommendations(store, data.dataset, model, run_id, data.user_ids[users], data.item_ids,
                                 [top[u][0] for u in users], [top[u][1] for u in users], progress=False)


def _ctr_top(result: CTRTrainResult, data: CTRData, k: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    _, probs = score_ctr(result.model, data, "test", result.config.eval_batch_size, result.config.device)
    samples = data.splits["test"]
    return _top_k(samples.users, samples.items, probs, k)


def _rerank_top(result: CTRTrainResult, lists: CandidateLists, k: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    arrays = lists.splits["test"]
    scores = score_lists(result.model, lists, "test", result.config.eval_batch_size, result.config.device)
    rows = np.nonzero(arrays.mask)
    return _top_k(arrays.users[rows[0]], arrays.items[rows], scores[rows], k)


def _finish(store: GraphStore, kind: str, model: str, data: CTRData, seeds: list[int],
            results: list[CTRTrainResult], config: dict[str, Any], notes: list[str], started: datetime,
            top: Any, k: int, write_back: bool) -> CTROutcome:
    """Summarise seeds, pick the best on valid, write its top-K and the ``TrainingRun``."""
    best = max(range(len(results)), key=lambda n: results[n].valid[results[n].select_metric])
    outcome = CTROutcome(_run_id(model), kind, model, data.dataset, seeds, results, _summary(results),
                         config, seeds[best], notes)
    if write_back:      # the run node first: the TOP_K lists point at it; metrics and finished after them
        start_training_run(store, data.dataset, model, outcome.run_id, config, started)
        outcome.recommendations_written = _write_top(store, data, model, outcome.run_id, top(results[best], k))
        save_training_run(store, data.dataset, model, outcome.run_id, config, outcome.metrics(), started)
    return outcome


def _config(kind: str, model: str, text: str | None, vectors: str | None, contrast: bool, max_history: int,
            train: dict[str, Any], model_settings: dict[str, Any], result: CTRTrainResult, **extra: Any) -> dict[str, Any]:
    train_config = {k: v for k, v in asdict(result.config).items() if k != "seed"}
    return {"kind": kind, "model": model, "text": text, "text_vectors": vectors, "contrast": contrast,
            "max_history": max_history,
            "train": train_config, "model_config": asdict(result.model.config), "overrides": {**train, **model_settings},
            **extra}


def train_ctr(store: GraphStore, dataset: str, model: str, text: str | None = None, contrast: bool = False,
              seeds: list[int] | None = None, k: int = 10, write_back: bool = True,
              max_history: int = DEFAULT_MAX_HISTORY, **overrides: Any) -> CTROutcome:
    """Train CTR ``model`` per seed; ``overrides`` mix trainer settings (lr, epochs, ...) and model ones.

    The top-K lists rank each test user's CTR targets (see the module docstring).
    """
    started, seeds = datetime.now(UTC), list(seeds or DEFAULT_SEEDS)
    data, notes, vectors = _load(store, dataset, text, max_history)
    train, model_settings = split_overrides(overrides)
    results = [train_ctr_model(data, model, CTRTrainConfig(**{**train, "seed": s, "contrast": contrast}), **model_settings)
               for s in seeds]
    config = _config("ctr", model, text, vectors, contrast, max_history, train, model_settings, results[0])
    return _finish(store, "ctr", model, data, seeds, results, config, notes, started,
                   lambda result, n: _ctr_top(result, data, n), k, write_back)


def train_rerank(store: GraphStore, dataset: str, model: str, list_name: str = SAMPLED_LIST, text: str | None = None,
                 contrast: bool = False, seeds: list[int] | None = None, k: int = 10, write_back: bool = True,
                 max_history: int = DEFAULT_MAX_HISTORY, **overrides: Any) -> CTROutcome:
    """Train reranker ``model`` per seed on candidate list ``list_name``.

    The sampled list (positives plus 9 unseen items) is written first when missing; any other list
    must already be stored. The top-K lists rank each test user's candidate list.
    """
    started, seeds = datetime.now(UTC), list(seeds or DEFAULT_SEEDS)
    data, notes, vectors = _load(store, dataset, text, max_history)
    if list_name == SAMPLED_LIST:
        report = store_sampled_lists(store, data)
        if report.written:
            notes.append(f"wrote candidate list '{list_name}': {report.users} users, {report.candidates} candidates")
    lists = load_candidate_lists(store, data, list_name)
    train, model_settings = split_overrides(overrides)
    results = [train_rerank_model(lists, model, CTRTrainConfig(**{**train, "seed": s, "contrast": contrast}),
                                  **model_settings) for s in seeds]
    config = _config("rerank", model, text, vectors, contrast, max_history, train, model_settings, results[0], list=list_name)
    return _finish(store, "rerank", model, data, seeds, results, config, notes, started,
                   lambda result, n: _rerank_top(result, lists, n), k, write_back)


def set_threads(threads: int | None) -> None:
    """Cap torch's CPU threads (shared machines)."""
    if threads:
        torch.set_num_threads(threads)
