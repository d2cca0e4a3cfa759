"""The HTTP API: routes, bearer-token check and JSON errors (never a stack trace).

Routes (all JSON):

* ``GET  /health`` — 200 when Neo4j answers, 503 when not (the server itself stays up);
* ``GET  /datasets/{dataset}/users/{user}/recommendations?model=&k=`` — the stored ``TOP_K`` list (a
  linked dataset's: its write-back relationships; ``{user}`` is then the owner's user key);
* ``GET  /datasets/{dataset}/users/{user}/explanations/{item}?top=`` — ``kg_store.explain`` paths;
* ``POST /datasets/{dataset}/cold-start`` — top-K for a new user from stored item vectors, plus the
  run's interest vectors when interests are given or inferred (``serving.cold_start``).

Without ``model`` (query parameter or body field), recommendations and cold start use the dataset's
latest finished training run of any model, and the answer names that run's model; with ``model``, the
latest run of that model. No such run: 404 ``no_training_run``. Explanations are graph paths and need
no run.

Errors come back as ``{"error": {"status", "code", "message"}}``.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from kg_store.connection import GraphStore
from kg_store.embeddings import embedding_keys
from kg_store.errors import KgrecError, StoreError
from kg_store.explain import explain
from recommender.registry import model_names as ranking_models
from recommender.registry import model_spec
from serving.cold_start import METHOD, METHOD_WITH_INTERESTS, InterestIndex, ItemIndex, cold_start
from serving.config import ServeConfig
from serving.errors import InvalidRequestError, UnauthorizedError, status_of
from serving.fast_path import CachedReads
from serving.registry import ModelRegistry, RunInfo, user_ref
from serving.schemas import MODEL_NAME, ColdStartRequest, ColdStartResponse, Health

log = logging.getLogger("kgrec.serve")
INFERRED_INTERESTS = 3          # infer_interests: this many interests, the most held by users of the items

Dataset = Annotated[str, Path(min_length=1, max_length=64)]
Model = Annotated[str, Query(pattern=MODEL_NAME)]
User = Annotated[str, Path(min_length=1, max_length=200)]     # an id, or a linked dataset's key


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "code": code, "message": message}}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KgrecError)
    async def kgrec_error(_: Request, exc: KgrecError) -> JSONResponse:
        status, code = status_of(exc)
        return _error(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "Internal error; the server log has the details.")


def _auth(config: ServeConfig):
    """A dependency that checks ``Authorization: Bearer <token>`` when a token is configured."""
    expected = f"Bearer {config.token}".encode() if config.token else None

    async def check(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get("authorization", "").encode()
        if not secrets.compare_digest(given, expected):
            raise UnauthorizedError("A valid 'Authorization: Bearer <token>' header is required.")

    return check


def create_app(store: GraphStore, config: ServeConfig | None = None) -> CachedReads:
    """The API over ``store``; one registry (latest runs, vectors, response cache) per app.

    The FastAPI app sits behind :class:`CachedReads`, which answers repeated reads from the cache;
    ``app.state`` is reachable as ``create_app(...).app.state``.
    """
    config = config or ServeConfig()
    registry = ModelRegistry(store, config)
    app = FastAPI(title="kgrec", version="1", dependencies=[], openapi_url="/openapi.json")
    app.state.registry = registry
    _install_error_handlers(app)
    guarded = [Depends(_auth(config))] if config.token else []

    @app.get("/health", response_model=Health)
    def health() -> JSONResponse:
        try:
            store.read("serving/ping")
        except StoreError:
            return JSONResponse({"status": "degraded", "neo4j": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "neo4j": "up"})

    @app.get("/datasets/{dataset}/users/{user}/recommendations", dependencies=guarded)
    async def recommendations(dataset: Dataset, user: User, model: Model | None = None,
                              k: Annotated[int, Query(ge=1)] = 20) -> Response:
        _check_k(k, config)
        run = registry.fresh(dataset, model)
        body = registry.cached((dataset, run.model, run.run_id, user_ref(user), k)) if run else None
        if body is None:
            body = await run_in_threadpool(registry.recommendations, dataset, model, user, k)
        return Response(body, media_type="application/json")

    @app.get("/datasets/{dataset}/users/{user}/explanations/{item}", dependencies=guarded)
    def explanation(dataset: Dataset, user: User, item: User, top: Annotated[int, Query(ge=1, le=50)] = 5) -> dict:
        return explain(store, dataset, user_ref(user), user_ref(item), top=top).to_dict()

    @app.post("/datasets/{dataset}/cold-start", response_model=ColdStartResponse, dependencies=guarded)
    def cold_start_user(dataset: Dataset, request: ColdStartRequest) -> ColdStartResponse:
        if len(request.items) > config.max_items:
            raise InvalidRequestError(f"items: at most {config.max_items} item ids, got {len(request.items)}.")
        if request.interests is not None and len(request.interests) > config.max_items:
            raise InvalidRequestError(f"interests: at most {config.max_items} ids, got {len(request.interests)}.")
        _check_k(request.k, config)
        run, index = _cold_start_vectors(registry, dataset, request)
        used, interest_set, interest_vectors = [], None, None
        if request.interests is not None or request.infer_interests:
            interests = registry.interests(dataset, run)
            used = _interests(store, dataset, request, run, interests)
            interest_set = interests.set
            interest_vectors = interests.matrix[interests.rows(dataset, [u["id"] for u in used])] if used else None
        found = cold_start(index, dataset, request.items, request.k, interest_vectors)
        items = [{"item": int(index.ids[row]), "title": index.title(row), "score": score, "rank": rank}
                 for rank, (row, score) in enumerate(zip(found.rows, found.scores, strict=True), 1)]
        user = _persist(store, dataset, request, run, items) if request.persist else None
        return ColdStartResponse(dataset=dataset, model=run.model, run_id=run.run_id,
                                 method=METHOD_WITH_INTERESTS if used else METHOD, user=user,
                                 interest_set=interest_set, interests=used, items=items)

    return CachedReads(app, registry, config)


def _interests(store: GraphStore, dataset: str, request: ColdStartRequest, run: RunInfo,
               interests: InterestIndex) -> list[dict]:
    """The interests to aggregate: the given ids (validated: unknown ones are a 404), then, with
    ``infer_interests``, the run's set's interests most held by users of the given items."""
    given = list(dict.fromkeys(request.interests or []))
    used = [{"id": int(interests.ids[row]), "label": interests.label(row), "inferred": False}
            for row in interests.rows(dataset, given)] if given else []
    if request.infer_interests:
        keys = embedding_keys(run.model)
        rows = store.read("serving/infer_interests", dataset=dataset, items=sorted(set(request.items)),
                          interest_set=interests.set, property=keys.property, run_property=keys.run_property,
                          run_id=run.run_id, limit=INFERRED_INTERESTS)
        used += [{"id": int(row["id"]), "label": row["label"], "inferred": True}
                 for row in rows if int(row["id"]) not in given]
    return used


def _check_vector_model(model: str | None) -> None:
    """Cold start reads a run's stored vectors, which only ranking models leave (``recommender.registry``)."""
    if model is not None and model not in ranking_models():
        raise InvalidRequestError(f"model: cold start needs a ranking model's vectors; {model!r} is none of "
                                  f"{', '.join(ranking_models())}.")


def _cold_start_vectors(registry: ModelRegistry, dataset: str, request: ColdStartRequest) -> tuple[RunInfo, ItemIndex]:
    """The run whose vectors serve a cold-start request, and its item index; unknown items are a 404
    before anything else is read."""
    _check_vector_model(request.model)
    run, index = registry.vectors(dataset, request.model)     # no model: the latest run of any
    _check_dot_scores(run.model)
    index.rows(dataset, request.items)
    return run, index


def _check_dot_scores(model: str) -> None:
    """Cold start ranks items by the dot product with the mean of the user's item vectors; a model
    that scores otherwise (CFKG's distance) would be served by a rule it was not trained for."""
    if model in ranking_models() and model_spec(model).score != "dot":
        raise InvalidRequestError(f"model: cold start ranks stored vectors by dot product, but {model} scores by "
                                  f"{model_spec(model).score}; name a model that scores by dot product.")


def _check_k(k: int, config: ServeConfig) -> None:
    if k > config.max_k:
        raise InvalidRequestError(f"k: at most {config.max_k}, got {k}.")


def _persist(store: GraphStore, dataset: str, request: ColdStartRequest, run: RunInfo, items: list[dict]) -> int:
    """Keep the new user in the graph: train interactions with its items, and its top-K."""
    [row] = store.write("serving/persist_cold_start_user", dataset=dataset, model=run.model, run_id=run.run_id,
                        items=sorted(set(request.items)),
                        recommendations=[[i["item"], i["score"], i["rank"]] for i in items])
    return int(row["user"])
