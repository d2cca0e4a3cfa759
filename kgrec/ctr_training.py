"""Train CTR models and rerankers from the graph and write the results back; the glue between the
graph I/O of ``kg_store.ctr_*`` and the array-only ``recommender.ctr`` / ``recommender.rerank``.

Flow: CTR samples (and, for rerankers, stored candidate lists) from Neo4j -> optional text vectors
(``text_vec_NAME`` on items and, when present, on users) -> ``recommender.ctr.trainer`` or
``recommender.rerank.trainer`` per seed (epoch chosen on valid, test scored once) -> mean and std
over seeds -> a ``TrainingRun`` node (kind, protocol "valid", config, metrics) and each test user's
top-K list (``TOP_K`` to the run node, plus the optional ``RECOMMENDED`` view; see
``kg_store.writeback``) from the seed with the best validation score. In a process group
(``kgrec train ctr|rerank --nproc N``, torchrun) rank 0 alone reads the graph (and draws what is
missing) and sends the data to the others; each process trains its part of every batch
(``recommender.features.ddp``); rank 0 alone writes back.

**Users split 8:1:1.** Users with at least one interaction are split (seeded) into train, valid
and test. The split is drawn once and stored (``User.ctr_split``; seed, ratios and profile share on
``:Dataset`` as ``ctr_split_seed``, ``ctr_split_ratios``, ``ctr_profile_share``; the profile cut as
``User.ctr_profile_cut``, the count, and ``User.ctr_profile_ts``, the ``ts`` of the last profile
interaction), so every model sees the same split; later calls reuse it and refuse other settings
unless asked to redraw. It ignores the ``split`` property of ``INTERACTED`` edges (the ranking
split). Samples, labels and the leakage rule: ``recommender.features.data``.

**Rerank candidate lists** (``kg_store.ctr_lists``; drawn by ``recommender.rerank.lists``) are each
written once; later calls reuse a stored list unless asked to redraw. Redrawing the user split
deletes every candidate list, since they depend on the targets.

What the lists rank: not the whole catalogue. A CTR model ranks each test user's own **CTR
targets** (the interactions after the profile cut), a reranker each test user's **candidate
list**; each user's top ``k`` of those are written under the model's name, so lists differ in
length from user to user.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from kg_store.connection import GraphStore
from kg_store.ctr_arrays import (
    SAMPLED_LIST,
    SPLITS,
    CandidateReport,
    CTRSplitConfig,
    CTRSplitReport,
    check_list_name,
    draw_user_split,
)
from kg_store.ctr_data import read_ctr_graph
from kg_store.ctr_lists import read_candidate_list, stored_list, write_candidate_list
from kg_store.ctr_split import read_split_state, stored_split_sizes, write_split
from kg_store.errors import ConfigError
from kg_store.writeback import write_recommendations
from kgrec.runs import RunRecord, best_seed_index, mean_std, seed_metrics
from knowledge.text_features import WRITERS, MissingTextError, load_text_matrix
from knowledge.text_recipes import TEXT_RECIPES, prepare_text
from recommender import distributed
from recommender.ctr import registry as ctr_registry
from recommender.ctr.trainer import TRAIN_FIELDS, CTRTrainConfig, CTRTrainResult, score_ctr, train_ctr_model
from recommender.errors import DataError
from recommender.features.data import DEFAULT_MAX_HISTORY, CTRData, build_ctr_data
from recommender.rerank import registry as rerank_registry
from recommender.rerank.lists import (
    DEFAULT_NEGATIVES,
    CandidateLists,
    candidate_lists,
    check_ranker_arrays,
    ranker_lists,
    sampled_lists,
)
from recommender.rerank.trainer import score_lists, train_rerank_model

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
        return {"kind": self.kind, "protocol": "valid",
                **seed_metrics(self.seeds, self.results, self.summary, self.selected_seed, self.notes),
                "seconds_per_epoch": float(np.mean([r.seconds_per_epoch for r in self.results]))}


# -- graph <-> arrays -------------------------------------------------------------------------------
def prepare_ctr_split(store: GraphStore, dataset: str, config: CTRSplitConfig | None = None,
                      redraw: bool = False) -> CTRSplitReport:
    """Draw and store the user split and profile cuts once; reuse them on later calls.

    ``config`` None means "whatever is stored, else the defaults"; a config that differs from the
    stored one is refused unless ``redraw``, which also deletes every candidate list.
    """
    state = read_split_state(store, dataset)
    untimed = int((state.interactions - state.timed).sum())
    if untimed:
        raise DataError(f"Dataset '{dataset}' has {untimed} interactions without a timestamp; CTR histories "
                        "need time order (ML-1M's copy without timestamps cannot be used).")
    active = state.users[state.interactions > 0].tolist()
    if not active:
        raise DataError(f"Dataset '{dataset}' has no interactions to build CTR samples from.")
    idle = len(state.users) - len(active)
    if state.stored is not None and not redraw:
        if config is not None and config.check() != state.stored:
            raise ConfigError(f"Dataset '{dataset}' already has a CTR split drawn with {state.stored}; "
                              f"pass redraw=True to replace it with {config}.")
        return CTRSplitReport(dataset, False, state.stored, stored_split_sizes(store, dataset), idle)
    config = (config or CTRSplitConfig()).check()
    chosen = draw_user_split(active, config.ratios, config.seed)
    write_split(store, dataset, chosen, config)
    sizes = {name: sum(1 for s in chosen.values() if s == name) for name in SPLITS}
    return CTRSplitReport(dataset, True, config, sizes, idle)


def load_ctr_data(store: GraphStore, dataset: str, max_history: int = DEFAULT_MAX_HISTORY,
                  config: CTRSplitConfig | None = None, redraw: bool = False) -> CTRData:
    """CTR data for ``dataset``; draws and stores the user split first if it has none."""
    if max_history < 1:
        raise ConfigError(f"max_history must be at least 1; got {max_history}.")
    split = prepare_ctr_split(store, dataset, config, redraw)
    return build_ctr_data(read_ctr_graph(store, dataset), split, max_history)


def store_sampled_lists(store: GraphStore, data: CTRData, name: str = SAMPLED_LIST,
                        n_negatives: int = DEFAULT_NEGATIVES, seed: int = 2024,
                        max_positives: int | None = None, redraw: bool = False) -> CandidateReport:
    """The paper's lists: each split user's positive targets plus ``n_negatives`` never-seen items.

    Written once; a stored list of this name is reused (its settings are not re-checked) unless
    ``redraw``. ``max_positives`` keeps a seeded sample of at most that many positives per user.
    """
    check_list_name(name)
    if n_negatives < 0 or (max_positives is not None and max_positives < 1):
        raise ConfigError(f"n_negatives must be >= 0 and max_positives >= 1; got {n_negatives}, {max_positives}.")
    if not redraw and (stored := stored_list(store, data.dataset, name)) is not None:
        return stored
    drawn = sampled_lists(data, n_negatives, seed, max_positives)
    write_candidate_list(store, data.dataset, name, drawn.rows)
    return CandidateReport(data.dataset, name, True, drawn.users, len(drawn.rows.users),
                           drawn.users_without_positives, drawn.short_of_negatives)


def store_ranker_lists(store: GraphStore, data: CTRData, name: str, users: np.ndarray, items: np.ndarray,
                       scores: np.ndarray | None = None, redraw: bool = False) -> CandidateReport:
    """A first-stage ranker's top-K as candidate lists, labelled 1 where the item is a positive target.

    ``users`` (n,) and ``items`` (n, K) are indices into ``data`` in ranked order, -1 padding a
    shorter list; ``scores`` (n, K) are the ranker's scores. Written once, like sampled lists.
    """
    check_list_name(name)
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    check_ranker_arrays(data, users, items, scores)
    if not redraw and (stored := stored_list(store, data.dataset, name)) is not None:
        return stored
    drawn = ranker_lists(data, users, items, scores)
    write_candidate_list(store, data.dataset, name, drawn.rows)
    return CandidateReport(data.dataset, name, True, drawn.users, len(drawn.rows.users))


def load_candidate_lists(store: GraphStore, data: CTRData, name: str = SAMPLED_LIST) -> CandidateLists:
    """The stored list ``name``, grouped by the users' CTR split; a clear error if it was never written."""
    return candidate_lists(data, name, read_candidate_list(store, data.dataset, name))


# -- text -------------------------------------------------------------------------------------------

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
    best = best_seed_index([result.valid[result.select_metric] for result in results])
    record = RunRecord(data.dataset, model, config, started)
    outcome = CTROutcome(record.run_id, kind, model, data.dataset, seeds, results, mean_std(results),
                         config, seeds[best], notes)
    if write_back and distributed.is_main():   # rank 0 alone writes; the run node first, the TOP_K lists point at it
        record.start(store)
        outcome.recommendations_written = _write_top(store, data, model, outcome.run_id, top(results[best], k))
        record.finish(store, outcome.metrics())
    return outcome


def _config(kind: str, model: str, text: str | None, vectors: str | None, contrast: bool, max_history: int,
            train: dict[str, Any], model_settings: dict[str, Any], result: CTRTrainResult, **extra: Any) -> dict[str, Any]:
    train_config = {k: v for k, v in asdict(result.config).items() if k != "seed"}
    return {"kind": kind, "model": model, "text": text, "text_vectors": vectors, "contrast": contrast,
            "max_history": max_history,
            "train": train_config, "model_config": asdict(result.model.config), "overrides": {**train, **model_settings},
            **extra}


def _join(kind: str, model: str, dataset: str, backend: str, timeout_s: float | None, overrides: dict[str, Any],
          **facts: Any) -> None:
    """Under torchrun, this process joins the process group (``recommender.distributed.join``), and every
    process checks that the others run the same job (else one error naming the differences)."""
    distributed.join(backend, overrides.get("device") or "cpu", timeout_s)
    distributed.agree("the run", world_size=distributed.world_size(), kind=kind, model=model, dataset=dataset,
                      overrides=overrides, **facts)


def train_ctr(store: GraphStore, dataset: str, model: str, text: str | None = None, contrast: bool = False,
              seeds: list[int] | None = None, k: int = 10, write_back: bool = True,
              max_history: int = DEFAULT_MAX_HISTORY, dist_backend: str = "auto", dist_timeout: float | None = None,
              **overrides: Any) -> CTROutcome:
    """Train CTR ``model`` per seed; ``overrides`` mix trainer settings (lr, epochs, ...) and model ones.

    The top-K lists rank each test user's CTR targets (see the module docstring). Under torchrun each
    process joins the process group (``dist_backend``, ``dist_timeout`` seconds) and trains its part
    of every batch (``recommender.features.ddp``); rank 0 alone reads the graph and writes back.
    """
    ctr_registry.get(model)  # an unknown name fails before the graph is read
    started, seeds = datetime.now(UTC), list(seeds or DEFAULT_SEEDS)
    _join("ctr", model, dataset, dist_backend, dist_timeout, overrides, text=text, contrast=contrast, seeds=seeds,
          max_history=max_history)
    data, notes, vectors = distributed.from_main(lambda: _load(store, dataset, text, max_history),
                                                 f"the CTR data of {dataset}")
    train, model_settings = split_overrides(overrides)
    results = [train_ctr_model(data, model, CTRTrainConfig(**{**train, "seed": s, "contrast": contrast}), **model_settings)
               for s in seeds]
    config = _config("ctr", model, text, vectors, contrast, max_history, train, model_settings, results[0])
    return _finish(store, "ctr", model, data, seeds, results, config, notes, started,
                   lambda result, n: _ctr_top(result, data, n), k, write_back)


def _load_lists(store: GraphStore, dataset: str, list_name: str, text: str | None,
                max_history: int) -> tuple[CandidateLists, list[str], str | None]:
    """The candidate lists ``list_name`` over the CTR data (:func:`_load`), the sampled list written first
    when missing; notes; the vector name trained on."""
    data, notes, vectors = _load(store, dataset, text, max_history)
    if list_name == SAMPLED_LIST:
        report = store_sampled_lists(store, data)
        if report.written:
            notes.append(f"wrote candidate list '{list_name}': {report.users} users, {report.candidates} candidates")
    return load_candidate_lists(store, data, list_name), notes, vectors


def train_rerank(store: GraphStore, dataset: str, model: str, list_name: str = SAMPLED_LIST, text: str | None = None,
                 contrast: bool = False, seeds: list[int] | None = None, k: int = 10, write_back: bool = True,
                 max_history: int = DEFAULT_MAX_HISTORY, dist_backend: str = "auto", dist_timeout: float | None = None,
                 **overrides: Any) -> CTROutcome:
    """Train reranker ``model`` per seed on candidate list ``list_name``.

    The sampled list (positives plus 9 unseen items) is written first when missing; any other list
    must already be stored. The top-K lists rank each test user's candidate list. Under torchrun: as
    :func:`train_ctr`.
    """
    rerank_registry.get(model)  # an unknown name fails before the graph is read
    started, seeds = datetime.now(UTC), list(seeds or DEFAULT_SEEDS)
    _join("rerank", model, dataset, dist_backend, dist_timeout, overrides, text=text, contrast=contrast, seeds=seeds,
          max_history=max_history, list=list_name)
    lists, notes, vectors = distributed.from_main(lambda: _load_lists(store, dataset, list_name, text, max_history),
                                                  f"the candidate lists '{list_name}' of {dataset}")
    data = lists.data
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
