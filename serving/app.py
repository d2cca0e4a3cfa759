"""The HTTP API: routes, bearer-token check and JSON errors (never a stack trace).

Routes (all JSON):

* ``GET  /health`` — 200 when Neo4j answers; while it does not, 200 (``stale``) if runs are held in
  memory, else 503 (the server itself stays up);
* ``GET  /datasets/{dataset}/users/{user}/recommendations?model=&k=`` — the stored ``TOP_K`` list, from
  memory once the run is held (a linked dataset's: its write-back relationships; ``{user}`` is then
  the owner's user key);
* ``GET  /datasets/{dataset}/users/{user}/explanations/{item}?top=`` — ``kg_store.explain`` paths, from
  the dataset's arrays in memory once a run of it is held (``serving.explanations``), else the graph's;
* ``POST /datasets/{dataset}/cold-start`` — top-K for a new user from stored item vectors, plus the
  run's interest vectors when interests are given or inferred (``serving.cold_start``).

Without ``model`` (query parameter or body field), recommendations and cold start use the dataset's
latest finished training run of any model, and the answer names that run's model; with ``model``, the
latest run of that model. No such run: 404 ``no_training_run``. Explanations are graph paths and need
no run (a held run only brings its dataset's graph into memory).

Errors come back as ``{"error": {"status", "code", "message"}}``. While Neo4j is down, answers from
memory (explanations included) carry ``X-Kgrec-Stale: true`` and the paths that need the graph answer
503 at once.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from kg_store.connection import GraphStore
from kg_store.errors import KgrecError, StoreError
from kg_store.explain import explain
from serving.answers import answer, check_k, check_request, load_parts
from serving.config import ServeConfig
from serving.errors import UnauthorizedError, status_of
from serving.explanations import DEFAULT_TOP, MAX_TOP, render
from serving.fast_path import CachedReads
from serving.registry import ModelRegistry, RunInfo, user_ref
from serving.schemas import MODEL_NAME, ColdStartRequest, ColdStartResponse, Health

log = logging.getLogger("kgrec.serve")
PING_SECONDS = 1.0              # a health check trusts a ping this recent

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
    """The API over ``store``; one registry (latest runs, run memory, response cache) per app.

    The FastAPI app sits behind :class:`CachedReads`, which answers reads and cold starts from memory
    before routing and marks answers stale while Neo4j is down; ``app.state`` is reachable as
    ``create_app(...).app.state``.
    """
    config = config or ServeConfig()
    registry = ModelRegistry(store, config)
    app = FastAPI(title="kgrec", version="1", dependencies=[], openapi_url="/openapi.json")
    app.state.registry = registry
    _install_error_handlers(app)
    guarded = [Depends(_auth(config))] if config.token else []

    answered = [float("-inf")]        # when Neo4j last answered a ping (a health check pings at most every second)

    @app.get("/health", response_model=Health, responses={503: {"model": Health}})
    def health() -> JSONResponse:
        return _health(store, registry, answered)

    @app.get("/datasets/{dataset}/users/{user}/recommendations", dependencies=guarded)
    async def recommendations(dataset: Dataset, user: User, model: Model | None = None,
                              k: Annotated[int, Query(ge=1)] = 20) -> Response:
        check_k(k, config)
        body = await run_in_threadpool(registry.recommendations, dataset, model, user, k)
        return Response(body, media_type="application/json")

    @app.get("/datasets/{dataset}/users/{user}/explanations/{item}", dependencies=guarded)
    def explanation(dataset: Dataset, user: User, item: User,
                    top: Annotated[int, Query(ge=1, le=MAX_TOP)] = DEFAULT_TOP) -> Response:
        user, item = user_ref(user), user_ref(item)
        found = registry.explanations.explain(dataset, user, item, top, wait=True)
        return Response(render(found or explain(store, dataset, user, item, top=top)), media_type="application/json")

    @app.post("/datasets/{dataset}/cold-start", response_model=ColdStartResponse, dependencies=guarded)
    def cold_start_user(dataset: Dataset, request: ColdStartRequest) -> Response:
        check_request(request, config)
        parts = load_parts(registry, dataset, request)
        found = answer(parts, dataset, request)
        if request.persist:
            found.fields["user"] = _persist(store, dataset, request, parts.run, found.items())
        return Response(found.render(), media_type="application/json")

    return CachedReads(app, registry, config)


def _health(store: GraphStore, registry: ModelRegistry, answered: list[float]) -> JSONResponse:
    """Up: 200. Down: 200 while runs held in memory still answer (marked stale), else 503."""
    up = not registry.neo4j.down and time.monotonic() - answered[0] < PING_SECONDS
    if not up and not registry.neo4j.down:
        try:
            store.read("serving/ping")
            up, answered[0] = True, time.monotonic()
        except StoreError:
            up = False
    held = registry.held()
    body = {"status": "ok" if up else "degraded", "neo4j": "up" if up else "down", "stale": not up,
            "runs_in_memory": held["runs"], "memory_bytes": held["bytes"]}
    return JSONResponse(body, status_code=200 if up or held["runs"] else 503)


def _persist(store: GraphStore, dataset: str, request: ColdStartRequest, run: RunInfo, items: list[dict]) -> int:
    """Keep the new user in the graph: train interactions with its items, and its top-K."""
    [row] = store.write("serving/persist_cold_start_user", dataset=dataset, model=run.model, run_id=run.run_id,
                        items=sorted(set(request.items)),
                        recommendations=[[i["item"], i["score"], i["rank"]] for i in items])
    return int(row["user"])
