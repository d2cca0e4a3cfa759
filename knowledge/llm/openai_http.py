"""A chat backend for OpenAI-compatible ``/v1/chat/completions`` servers, one or several.

vLLM, Ollama, the llama.cpp server and hosted APIs all speak this protocol, so one client covers
local and remote models. Endpoints rate-limit (429), restart (5xx) and drop connections under
load; each request is retried with exponential back-off and jitter (honouring ``Retry-After``),
and an endpoint that stays down becomes one ``LLMUnavailableError`` naming its URL. Given several
endpoints (replicas of one model), requests are spread over them and a failed attempt moves to
another server at once (:mod:`knowledge.llm.pool`). The API key is kept out of reprs and messages.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import requests

from kg_store.errors import ConfigError, LLMError, LLMUnavailableError
from knowledge.llm.base import ChatBackend, ChatRequest, Completion, PartialCompletionError, canonical_json
from knowledge.llm.budget import estimate_tokens, fit_messages
from knowledge.llm.pool import EndpointPool, Outcome, SingleFlight

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"  # vLLM's default; Ollama is :11434/v1, llama.cpp :8080/v1
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_BUSY_STATUS = frozenset({408, 409, 425, 429})  # the server is up: retry, but it is not failing


@dataclass(frozen=True)
class OpenAIConfig:
    """Endpoint settings; empty strings are filled from the environment by :meth:`resolved`."""

    base_url: str = ""  # KGREC_LLM_BASE_URL, then OPENAI_BASE_URL, then DEFAULT_BASE_URL; commas: several
    endpoints: tuple[str, ...] = ()  # replicas of one model, requests spread over them (default: base_url)
    model: str = ""  # KGREC_LLM_MODEL
    api_key: str = field(default="", repr=False)  # KGREC_LLM_API_KEY, then OPENAI_API_KEY
    max_concurrency: int = 4  # requests in flight per endpoint
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    max_attempts: int = 5
    backoff_base: float = 0.5  # seconds before the second attempt; doubles each time
    backoff_max: float = 30.0
    context_tokens: int = 8192  # the server's context; prompts are cut to this minus max_new_tokens
    unhealthy_after: int = 3  # failures in a row that mark one of several endpoints unhealthy
    unhealthy_seconds: float = 5.0  # how long a marked endpoint rests before a probe; doubles per mark
    unhealthy_max_seconds: float = 300.0

    def resolved(self) -> OpenAIConfig:
        """This config with empty fields taken from the environment; a missing model is an error."""
        env = os.environ.get
        given = split_urls(self.endpoints) if isinstance(self.endpoints, str) else tuple(self.endpoints)
        urls = (given or split_urls(self.base_url) or split_urls(env("KGREC_LLM_BASE_URL", ""))
                or split_urls(env("OPENAI_BASE_URL", "")) or (DEFAULT_BASE_URL,))
        urls = tuple(dict.fromkeys(check_url(url) for url in urls))
        config = replace(self, endpoints=urls, base_url=urls[0], model=self.model or env("KGREC_LLM_MODEL", ""),
                         api_key=self.api_key or env("KGREC_LLM_API_KEY") or env("OPENAI_API_KEY", ""))
        if not config.model:
            raise ConfigError("No LLM model name for the HTTP backend: set KGREC_LLM_MODEL or pass model=.")
        if config.max_concurrency < 1 or config.max_attempts < 1 or config.unhealthy_after < 1:
            raise ConfigError("max_concurrency, max_attempts and unhealthy_after must be at least 1.")
        return config

    @property
    def url(self) -> str:
        """The chat URL of the first endpoint."""
        return chat_url(self.base_url)


def split_urls(text: str) -> tuple[str, ...]:
    """``"http://a/v1, http://b/v1"`` -> both URLs: a setting or variable may list several endpoints."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def check_url(url: str) -> str:
    """An endpoint base URL without its trailing slash; anything but http(s) is a ConfigError naming it."""
    given = str(url).strip()
    parts = urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"An LLM endpoint is an http(s) URL such as {DEFAULT_BASE_URL}, not {given!r}.")
    return given.rstrip("/")


def chat_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


class _Retry(Exception):
    """An attempt failed in a way that may pass; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, reason: str, wait: float | None = None, outcome: Outcome = Outcome.FAILED):
        super().__init__(reason)
        self.wait = wait
        self.outcome = outcome


class OpenAIChatBackend(ChatBackend):
    """Sends each request as one HTTP call, up to ``max_concurrency`` at a time per endpoint."""

    name = "openai"
    takes_endpoints = True

    def __init__(self, config: OpenAIConfig | None = None, **overrides: Any):
        self.config = replace(config or OpenAIConfig(), **overrides).resolved()
        self.pool = EndpointPool(self.config.endpoints, self.config.max_concurrency,
                                 unhealthy_after=self.config.unhealthy_after,
                                 backoff_seconds=self.config.unhealthy_seconds,
                                 backoff_max_seconds=self.config.unhealthy_max_seconds)
        self._flight = SingleFlight()  # identical requests in flight at once are sent once
        self._local = threading.local()  # one requests.Session per worker thread

    @property
    def model_id(self) -> str:
        return self.config.model

    def complete(self, requests_: Sequence[ChatRequest]) -> list[Completion]:
        workers = min(self.config.max_concurrency * len(self.config.endpoints), len(requests_))
        if workers <= 1:
            return [self._complete_one(request) for request in requests_]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._complete_one, request) for request in requests_]
        failures = [future.exception() for future in futures if future.exception() is not None]
        if failures:
            done = [None if future.exception() else future.result() for future in futures]
            raise PartialCompletionError(done, failures[0])
        return [future.result() for future in futures]

    def _complete_one(self, request: ChatRequest) -> Completion:
        identity = canonical_json([request.messages_list(), request.params.as_dict()])
        return self._flight.run(identity, lambda: self._ask(request))

    def _ask(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        payload, messages, cut = chat_payload(self.config.model, request, self.config.context_tokens)
        body, url = self._post_with_retries(payload)
        text, prompt_tokens, completion_tokens = parse_answer(body, messages, url)
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                          model=self.model_id, seconds=time.perf_counter() - started, truncated_tokens=cut)

    def _post_with_retries(self, payload: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The answer and the chat URL that gave it; a failed attempt moves to another endpoint when one is free."""
        reason, tried = "", []
        for attempt in range(self.config.max_attempts):
            endpoint = self.pool.acquire(avoid=tried)  # NoHealthyEndpointError when every endpoint is marked
            url = chat_url(endpoint.url)
            try:
                body = self._post(url, payload)
            except _Retry as retry:
                self.pool.release(endpoint, retry.outcome, str(retry))
                reason, tried = f"{retry} from {endpoint.url}", [*tried, endpoint.url]
                if attempt + 1 < self.config.max_attempts and not self.pool.has_alternative(tried):
                    time.sleep(retry.wait if retry.wait is not None else self._backoff(attempt))
                continue
            except BaseException:
                self.pool.release(endpoint, Outcome.NEUTRAL)
                raise
            self.pool.release(endpoint, Outcome.OK)
            return body, url
        where = (f"endpoint at {self.config.url}" if len(self.config.endpoints) == 1
                 else f"endpoints {', '.join(self.config.endpoints)}")
        raise LLMUnavailableError(f"The LLM {where} did not answer after {self.config.max_attempts} attempts "
                                  f"(last: {reason}).")

    def _backoff(self, attempt: int) -> float:
        """Exponential with jitter in [50 %, 100 %], so parallel workers do not retry in lockstep."""
        return min(self.config.backoff_max, self.config.backoff_base * 2 ** attempt) * random.uniform(0.5, 1.0)

    def _post(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._session().post(url, json=payload,
                                            timeout=(self.config.connect_timeout, self.config.read_timeout))
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retry(f"{type(exc).__name__}") from exc
        if response.status_code in RETRY_STATUS:
            outcome = Outcome.NEUTRAL if response.status_code in _BUSY_STATUS else Outcome.FAILED
            raise _Retry(f"HTTP {response.status_code}", retry_after(response), outcome)
        if response.status_code != 200:
            raise LLMError(f"The LLM endpoint at {url} refused the request: "
                           f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise _Retry("a body that is not JSON") from exc

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = api_session(self.config.api_key)
            self._local.session = session
        return session


def api_session(api_key: str) -> requests.Session:
    """A session that sends the API key (when there is one) as a bearer token."""
    session = requests.Session()
    if api_key:
        session.headers["Authorization"] = f"Bearer {api_key}"
    return session


def chat_payload(model: str, request: ChatRequest, context_tokens: int) -> tuple[dict[str, Any], list[dict[str, str]], int]:
    """The /chat/completions body, with the messages cut to fit the context; and those messages, and tokens cut."""
    params = request.params
    messages, cut = fit_messages(request.messages_list(), estimate_tokens, context_tokens - params.max_new_tokens)
    payload = {"model": model, "messages": messages, "max_tokens": params.max_new_tokens,
               "temperature": params.temperature, "top_p": params.top_p, "seed": params.seed}
    if params.repetition_penalty != 1.0:  # not OpenAI's API; vLLM, llama.cpp server and others read it
        payload["repetition_penalty"] = params.repetition_penalty
    return payload, messages, cut


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a numeric Retry-After header (the HTTP-date form falls back to back-off)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def parse_answer(body: dict[str, Any], messages: list[dict[str, str]], url: str) -> tuple[str, int, int]:
    """Text and token counts; counts are estimated when the server sends no ``usage``."""
    try:
        text = body["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMError(f"The LLM endpoint at {url} answered without choices[0].message.content.") from exc
    usage = body.get("usage") or {}
    prompt_tokens = usage.get("prompt_tokens")
    completion_tokens = usage.get("completion_tokens")
    if prompt_tokens is None:
        prompt_tokens = sum(estimate_tokens(m["content"]) + 4 for m in messages)  # ~4 tokens of role markup
    if completion_tokens is None:
        completion_tokens = estimate_tokens(text)
    return text, int(prompt_tokens), int(completion_tokens)
