"""Answers from memory before routing: a plain ASGI layer in front of FastAPI.

* ``GET .../recommendations`` of a user the held lists know (or whose answer was cached), under the
  latest run as last checked: a slice of the run's lists, any ``k`` up to ``max_k``;
* ``POST .../cold-start`` without ``persist``, once the run's vectors (and the interests and
  neighbours it asks for) are held: computed on the event loop when scoring the catalogue is
  cheap (at most ``INLINE_SCORES`` multiply-adds), else left to the route's worker thread;
* ``GET .../users/{user}/explanations/{item}`` while the dataset's explanation arrays are held and
  know the user and the item (``serving.explanations``): joins of a few sorted arrays.

Anything else — first reads of a run, odd query strings, bad input, a stale run check, errors —
goes on to the FastAPI routes, which validate, read the graph where needed and answer errors; so
both give the same bytes, and routing and the thread hop cost nothing on the hot paths. While Neo4j
is down every 200 carries ``X-Kgrec-Stale: true``: it comes from memory, not from a fresh look.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from kg_store.errors import KgrecError
from serving.answers import answer, check_request, held_parts
from serving.config import ServeConfig
from serving.explanations import DEFAULT_TOP, MAX_TOP, render
from serving.registry import ModelRegistry, user_ref
from serving.schemas import ColdStartRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]
DEFAULTS = {"k": "20"}
PARAMETERS = {"model", *DEFAULTS}                   # no model: the dataset's latest run of any model
INLINE_SCORES = 2_000_000                           # items x dimensions scored on the event loop
MAX_BODY = 64 * 1024                                # larger cold-start bodies go to the route
STALE = (b"x-kgrec-stale", b"true")
_K = re.compile(r"[0-9]{1,9}")


class CachedReads:
    def __init__(self, app: ASGIApp, registry: ModelRegistry, config: ServeConfig):
        self.app = app
        self.registry = registry
        self.config = config
        self.expected = f"Bearer {config.token}".encode() if config.token else None

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = None
        if scope["method"] == "GET":
            body = self._read(scope)
        elif scope["method"] == "POST" and (dataset := self._cold_start_dataset(scope)) is not None:
            raw, receive = await _buffered(receive)
            body = self._cold_start(dataset, raw) if raw is not None else None
        if body is None:
            await self.app(scope, receive, self._marking(send))
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200,
                    "headers": headers + [STALE] if self.registry.neo4j.down else headers})
        await send({"type": "http.response.body", "body": body})

    def _marking(self, send: Callable) -> Callable:
        """``send`` that marks a 200 stale while Neo4j is down."""
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200 and self.registry.neo4j.down:
                message = {**message, "headers": [*message.get("headers", []), STALE]}
            await send(message)
        return marked

    def _read(self, scope: Scope) -> bytes | None:
        parts = scope["path"].split("/")
        if len(parts) == 7 and parts[1] == "datasets" and parts[3] == "users" and parts[5] == "explanations":
            return self._explanation(scope, parts)
        if len(parts) != 6 or parts[1] != "datasets" or parts[3] != "users" or parts[5] != "recommendations":
            return None
        if self.expected is not None and not self._authorized(scope):
            return None
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(query)
        if len(params) != len(query) or not set(params) <= PARAMETERS:
            return None
        params = {**DEFAULTS, **params}
        if not _K.fullmatch(params["k"]) or not 1 <= int(params["k"]) <= self.config.max_k:
            return None
        dataset, user, k = parts[2], user_ref(parts[4]), int(params["k"])
        try:
            run = self.registry.current(dataset, params.get("model"))
        except KgrecError:
            return None
        if run is None:
            return None
        return (self.registry.from_memory(dataset, run, user, k)
                or self.registry.cached((dataset, run.model, run.run_id, user, k)))

    def _explanation(self, scope: Scope, parts: list[str]) -> bytes | None:
        """An explanation from the held arrays (``?top=`` only, 1 to ``MAX_TOP``); None for the route."""
        if self.expected is not None and not self._authorized(scope):
            return None
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        params = dict(query)
        if len(params) != len(query) or not set(params) <= {"top"}:
            return None
        top = params.get("top", str(DEFAULT_TOP))
        if not _K.fullmatch(top) or not 1 <= int(top) <= MAX_TOP:
            return None
        try:
            found = self.registry.explanations.explain(parts[2], user_ref(parts[4]), user_ref(parts[6]), int(top),
                                                       wait=False)
            return render(found) if found is not None else None
        except (KgrecError, ValueError):
            return None

    def _cold_start_dataset(self, scope: Scope) -> str | None:
        """The dataset of a cold-start POST with a JSON body this layer may answer; else None."""
        parts = scope["path"].split("/")
        if len(parts) != 4 or parts[1] != "datasets" or parts[3] != "cold-start":
            return None
        if self.expected is not None and not self._authorized(scope):
            return None
        headers = dict(scope["headers"])
        if b"json" not in headers.get(b"content-type", b""):
            return None
        length = headers.get(b"content-length", b"")
        return parts[2] if length.isdigit() and int(length) <= MAX_BODY else None

    def _cold_start(self, dataset: str, raw: bytes) -> bytes | None:
        try:
            request = ColdStartRequest.model_validate_json(raw)
        except ValidationError:
            return None
        if request.persist:
            return None
        try:
            check_request(request, self.config)
            parts = held_parts(self.registry, dataset, request)
            if parts is None or parts.index.matrix.size > INLINE_SCORES:
                return None
            return answer(parts, dataset, request).render()
        except KgrecError:
            return None

    def _authorized(self, scope: Scope) -> bool:
        given = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        return secrets.compare_digest(given, self.expected)


async def _buffered(receive: Callable) -> tuple[bytes | None, Callable]:
    """The whole request body, and a ``receive`` that hands it on again (to the route)."""
    chunks, messages = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    complete = messages[-1]["type"] == "http.request"

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return (b"".join(chunks) if complete else None), replay
