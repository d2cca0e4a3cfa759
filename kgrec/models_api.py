"""The model half of the :mod:`kgrec` facade: train (and estimate), evaluate, recommend, explain, export, serve.

:func:`train` finds a model's kind through the registries that already exist (ranking models in
``recommender.models``, CTR backbones in ``recommender.ctr.registry``, rerankers in
``recommender.rerank.registry``) and hands it to that kind's trainer (:mod:`kgrec.training` or
:mod:`kgrec.ctr_training`). torch is imported only when one of these calls runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError
from kg_store.registry import Registry
from kg_store.writeback import EDGE_MODES as EDGE_MODES  # the ``edges`` values train takes
from kg_store.writeback import EDGES_AUTO_MAX_ROWS as EDGES_AUTO_MAX_ROWS
from kgrec.admin_results import TrainingEstimateResult
from kgrec.pipeline import default_settings, resolve_store
from kgrec.results import (
    Evaluation,
    ExplanationResult,
    ExportResult,
    Recommendation,
    Recommendations,
    TrainingResult,
)

if TYPE_CHECKING:
    from serving.config import ServeConfig
    from serving.fast_path import CachedReads

KINDS = ("ranking", "ctr", "rerank", "kg")
KG_MODELS = ("transe",)         # trained on the KG alone; not in a model registry


# kind -> (package whose import registers every model, module holding the registry, its name);
# the CTR and rerank registries import no model until a name is looked up
REGISTRIES = {"ranking": ("recommender.models", "recommender.models.base", "MODELS"),
              "ctr": ("recommender.ctr.registry", "recommender.ctr.registry", "CTR_BACKBONES"),
              "rerank": ("recommender.rerank.registry", "recommender.rerank.registry", "RERANKERS")}


def _registry(kind: str) -> dict[str, type] | Registry:
    """The filled registry of one kind (importing only that kind's models)."""
    package, module, name = REGISTRIES[kind]
    importlib.import_module(package)
    return getattr(importlib.import_module(module), name)


def _registered_kind(model: str | type, kinds: list[str]) -> str | None:
    """The first kind whose registry holds ``model`` (a name, or a class under its ``name``)."""
    name = model if isinstance(model, str) else getattr(model, "name", "") or ""
    for kind in kinds:
        if kind == "kg":
            if name in KG_MODELS and isinstance(model, str):
                return kind
            continue
        registry = _registry(kind)
        found = registry.get(name) if name in registry else None
        if found is not None and (isinstance(model, str) or found is model):
            return kind
    return None


def resolve_model(model: str | type, kind: str | None = None) -> tuple[str, str]:
    """(kind, registered name) of a model given by name or by registered class."""
    from recommender.errors import UnknownModelError

    if kind is not None and kind not in KINDS:
        raise ConfigError(f"Unknown model kind {kind!r}; kinds: {', '.join(KINDS)}.")
    if not isinstance(model, str | type):
        raise TypeError(f"Give the model by name or class, not a {type(model).__name__} instance: the trainers "
                        "build the model from the graph's data, so an instance's parameters would be discarded.")
    kinds = [kind] if kind else ["kg", *REGISTRIES]
    found = _registered_kind(model, kinds)
    if found is not None:
        return found, model if isinstance(model, str) else model.name
    if isinstance(model, type):
        raise ConfigError(f"{model.__name__} is no registered model: register a RankingModel subclass with "
                          "recommender.registry.register_model(name, cls); give a CTRModel or RerankModel "
                          "subclass a `name`.")
    names = {k: sorted(_registry(k)) if k in REGISTRIES else list(KG_MODELS) for k in kinds}
    known = "; ".join(f"{k}: {', '.join(listed)}" for k, listed in names.items())
    raise UnknownModelError(f"No {f'{kind} model' if kind else 'model'} {model!r}; available: {known}.")


def train(model: str | type, dataset: str, *, kind: str | None = None, store: GraphStore | None = None,
          seeds: list[int] | None = None, k: int | None = None, write_back: bool = True,
          **options: Any) -> TrainingResult:
    """Train a model on a dataset of the graph; write its run and each user's top-``k`` back.

    ``model``: a registered name (ranking models as ``recommender.registry.model_names()`` lists
    them: ``cikgrec``, ``lightgcn``, ``bprmf``, ``simgcl``, and any a plugin registered; CTR ``din``,
    ``dien``, ``deepfm``; rerank ``dlcm``, ``prm``, ``setrank``; ``transe``) or a registered class
    (a ``RankingModel`` subclass added with ``recommender.registry.register_model``; a ``CTRModel``
    or ``RerankModel`` subclass with a ``name``, which registers it). Model *instances* are
    refused: every trainer builds its model from the graph's data (its sizes), afresh for each
    seed and protocol phase, so an instance's parameters could not be used. ``kind`` settles a
    name two registries share. ``options`` go to that kind's trainer: settings (``epochs``, ``lr``,
    ``batch_size``, ...) and, for ranking, ``interest_set``, ``preset``, ``protocol``, ``progress``,
    ``edges``; for CTR and rerank, ``text``, ``contrast``, ``max_history`` and rerank's
    ``list_name``. ``k`` defaults to 20 (ranking) or 10 (CTR, rerank). Several ``seeds`` give mean and std; the best seed on
    validation is written back. In a script started by ``torchrun`` every process calls this and
    trains its share of each batch (``dist_backend``: auto, gloo or nccl; ``dist_timeout`` seconds);
    rank 0 alone writes back (docs: "Beyond one machine").

    ```python
    import kgrec

    run = kgrec.train("cikgrec", "dbbook2014", interest_set="smollm2", epochs=20)
    print(run.run_id, run.summary["recall@20"]["mean"])
    ctr = kgrec.train("din", "ml1m", text="kellmrec", epochs=2)       # kind found: ctr
    ```
    """
    kind, name = resolve_model(model, kind)
    store = resolve_store(store)
    if kind == "ranking":
        from kgrec.training import train_and_write

        outcome = train_and_write(store, dataset, name, seeds=seeds, k=k or 20, write_back=write_back, **options)
        return TrainingResult(kind, name, dataset, outcome.run_id, list(outcome.seeds), outcome.selected_seed,
                              outcome.summary, outcome.metrics(), outcome.recommendations_written,
                              list(outcome.notes), outcome)
    if kind == "kg":
        from kgrec.training import train_transe_and_write

        seed = (seeds or [options.pop("seed", 2024)])[0]
        report = train_transe_and_write(store, dataset, seed=seed, write_back=write_back, **options)
        return TrainingResult(kind, name, dataset, None, [seed], seed, {}, report, outcome=report)
    from kgrec import ctr_training

    trainer = ctr_training.train_ctr if kind == "ctr" else ctr_training.train_rerank
    outcome = trainer(store, dataset, name, seeds=seeds, k=k or 10, write_back=write_back, **options)
    return TrainingResult(kind, name, dataset, outcome.run_id, list(outcome.seeds), outcome.selected_seed,
                          outcome.summary, outcome.metrics(), outcome.recommendations_written,
                          list(outcome.notes), outcome)


def evaluate(run: str | TrainingResult, *, dataset: str | None = None, store: GraphStore | None = None,
             rankings: Path | str | None = None, rankings_k: int = 100) -> Evaluation:
    """Recompute a saved ranking run's test metrics on the dataset as the graph holds it now.

    ``run``: a run id or a :func:`train` result. The run's own validation split and config are
    reused. ``rankings`` writes each test user's top ``rankings_k`` (train and validation masked)
    as ``user item rank score`` lines, to audit the metrics. CTR and rerank runs keep no model file.

    ```python
    import kgrec

    run = kgrec.train("lightgcn", "dbbook2014", epochs=5)
    again = kgrec.evaluate(run, rankings="rankings.tsv")
    print(again.test["recall@20"])
    ```
    """
    from kgrec.training import evaluate_saved

    if isinstance(run, TrainingResult):
        if run.kind != "ranking" or run.run_id is None:
            raise ConfigError(f"Only ranking runs keep a saved model to evaluate; {run.model} is a {run.kind} model.")
        run = run.run_id
    found = evaluate_saved(resolve_store(store), run, dataset=dataset,
                           rankings=Path(rankings) if rankings is not None else None, rankings_k=rankings_k)
    return Evaluation(found["run_id"], found["model"], found["dataset"], found["protocol"], found["test"],
                      found["sparsity_ndcg@50"], found.get("rankings"), found)


def recommend(dataset: str, user: int | str, *, model: str | None = None, limit: int = 20,
              store: GraphStore | None = None) -> Recommendations:
    """The stored top-K of one user: per model, the list of its newest run, best first.

    An unknown dataset or user raises, so an empty list means "no model trained yet". On a linked
    dataset ``user`` is the user's key and the list is the latest run's write-back relationships.

    ```python
    import kgrec

    for row in kgrec.recommend("dbbook2014", user=0, model="cikgrec", limit=5).items:
        print(row.rank, row.title, round(row.score, 3))
    ```
    """
    from kg_store.writeback import read_recommendations

    rows = read_recommendations(resolve_store(store), dataset, user, model, limit)
    return Recommendations(dataset, user, model, [
        Recommendation(r["rank"], r["item"], r["title"], r["score"], r["model"], r["run_id"]) for r in rows])


def training_runs(dataset: str, *, store: GraphStore | None = None) -> list[dict[str, Any]]:
    """The dataset's finished training runs, newest first, as stored (``metrics`` is JSON text).

    ```python
    import kgrec.models_api

    for run in kgrec.models_api.training_runs("dbbook2014"):
        print(run["run_id"], run["finished"])
    ```
    """
    from kg_store.writeback import training_runs as stored_runs

    return list(stored_runs(resolve_store(store), dataset))


def explain(dataset: str, user: int | str, item: int | str, *, interest_set: str | None = None, top: int = 5,
            store: GraphStore | None = None) -> ExplanationResult:
    """The ``top`` paths (interest, KG, collaborative) that explain why ``item`` may suit ``user``.

    ``interest_set`` limits interest paths to one set (default: every set of the dataset). On a
    linked dataset ``user`` and ``item`` are the owner's keys and the paths run through its graph.

    ```python
    import kgrec

    why = kgrec.explain("dbbook2014", user=0, item=1279, top=3)
    print(why.render())                # or why.to_json()
    ```
    """
    from kg_store.explain import explain as explain_paths

    return ExplanationResult.of(explain_paths(resolve_store(store), dataset, user, item, set=interest_set, top=top))


def export(dataset: str, format: str, out: Path | str, *, store: GraphStore | None = None) -> ExportResult:  # noqa: A002
    """Write a dataset as another tool's files (``cikg``, ``kgat``, ``recbole``, ``pykeen``) into ``out``.

    ``out`` must be absent or empty; the folder appears complete or not at all.

    ```python
    import kgrec

    done = kgrec.export("dbbook2014", "recbole", "out/dbbook2014")
    print([path.name for path in done.files])
    ```
    """
    from kgrec.export_api import export_files

    files = export_files(resolve_store(store), dataset, format, out)
    return ExportResult(dataset, format, Path(out), list(files))


def create_app(store: GraphStore | None = None, config: ServeConfig | None = None) -> CachedReads:
    """The HTTP app of ``kgrec serve`` (an ASGI app: run it with uvicorn or any ASGI server).

    Without ``store`` the app opens its own connection with serving timeouts, to the default
    connection's server; without ``config`` the settings come from the environment
    (``KGREC_SERVE_TOKEN``).

    ```python
    import kgrec
    import uvicorn

    uvicorn.run(kgrec.create_app(), host="127.0.0.1", port=8000)
    ```
    """
    from serving.app import create_app as make_app
    from serving.config import ServeConfig
    from serving.store import ServingStore

    config = config or ServeConfig.from_env()
    return make_app(store if store is not None else ServingStore(default_settings(), config), config)


def serve(*, host: str = "127.0.0.1", port: int = 8000, reload_check_seconds: float = 2.0, max_items: int = 100,
          preload: bool = True, workers: int = 1, access_log: bool = False, database: str | None = None,
          local_home: Path | None = None, announce: Callable[[str], None] | None = None) -> None:
    """Serve :func:`create_app`'s app under uvicorn on ``host``:``port`` until stopped, as ``kgrec serve`` does.

    Beyond localhost ``KGREC_SERVE_TOKEN`` must be set (a bearer token); that is checked before
    anything starts. Neo4j may start later: the app answers 503 until it is up. The settings are
    the default connection's, or with ``database`` / ``local_home`` the ones :func:`kgrec.connect`
    would use. ``preload``: hold each new run's lists and vectors in memory. ``workers`` > 1 starts
    that many processes on the port, sharing nothing but the graph (``serving.workers``).
    ``announce`` receives the one line saying where it serves (default: stderr).

    ```python
    import kgrec

    kgrec.serve(port=8000, workers=2)       # blocks; Ctrl-C stops it
    ```
    """
    import os

    import uvicorn

    from kg_store.settings import resolve_settings
    from serving.config import ServeConfig
    from serving.store import ServingStore
    from serving.workers import ENV, FACTORY, worker_environment

    config = ServeConfig.from_env(host=host, port=port, reload_check_seconds=reload_check_seconds,
                                  max_items=max_items, preload=preload, workers=workers)
    config.check_bind()
    settings = (resolve_settings(local_home=local_home, database=database) if local_home or database
                else default_settings())
    (announce or (lambda line: sys.stderr.write(line + "\n")))(
        f"kgrec serve on http://{host}:{port} (Neo4j {settings.uri}; token "
        f"{'required' if config.token else 'not required'}; {workers} process{'es' if workers > 1 else ''})")
    options = {"host": host, "port": port, "access_log": access_log, "log_level": "warning"}
    if workers > 1:
        os.environ[ENV] = worker_environment(config, local_home, database)
        uvicorn.run(FACTORY, factory=True, workers=workers, **options)
        return
    store = ServingStore(settings, config)
    try:
        uvicorn.run(create_app(store, config), **options)
    finally:
        store.close()


def estimate_training(model: str, dataset: str, *, interest_set: str | None = None, preset: str | None = None,
                      store: GraphStore | None = None, **overrides: Any) -> TrainingEstimateResult:
    """How long and how much memory training ``model`` on ``dataset`` would take, from a few
    calibration steps on the dataset's export, before committing to a long run.

    ``overrides`` are the settings :func:`train` would get (``epochs``, ``batch_size``, ``device``
    ...), so the estimate is of that run.

    ```python
    import kgrec

    guess = kgrec.estimate_training("cikgrec", "dbbook2014", epochs=100)
    print(guess.text)                          # or guess.figures["total_seconds"]
    ```
    """
    from kgrec.estimate import describe
    from kgrec.estimate import estimate_training as calibrate

    found = calibrate(resolve_store(store), dataset, model, interest_set=interest_set, preset=preset, **overrides)
    return TrainingEstimateResult(found.dataset, found.model, found.as_dict(), describe(found), found)


def set_threads(threads: int | None) -> None:
    """Cap the CPU threads torch uses in this process (a shared machine); None keeps torch's default.

    ```python
    import kgrec

    kgrec.set_threads(2)
    kgrec.train("din", "ml1m", epochs=2)
    ```
    """
    from kgrec.ctr_training import set_threads as cap

    cap(threads)
