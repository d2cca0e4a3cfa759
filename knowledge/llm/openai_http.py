"""A chat backend for any OpenAI-compatible ``/v1/chat/completions`` server.

vLLM, Ollama, the llama.cpp server and hosted APIs all speak this protocol, so one client covers
local and remote models. Endpoints rate-limit (429), restart (5xx) and drop connections under
load; each request is retried with exponential back-off and jitter (honouring ``Retry-After``),
and an endpoint that stays down becomes one ``LLMUnavailableError`` naming its URL. The API key is
kept out of reprs and messages.
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

import requests

from kg_store.errors import ConfigError, LLMError, LLMUnavailableError
from knowledge.llm.base import ChatBackend, ChatRequest, Completion, PartialCompletionError
from knowledge.llm.budget import estimate_tokens, fit_messages

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"  # vLLM's default; Ollama is :11434/v1, llama.cpp :8080/v1
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class OpenAIConfig:
    """Endpoint settings; empty strings are filled from the environment by :meth:`resolved`."""

    base_url: str = ""  # KGREC_LLM_BASE_URL, then OPENAI_BASE_URL, then DEFAULT_BASE_URL
    model: str = ""  # KGREC_LLM_MODEL
    api_key: str = field(default="", repr=False)  # KGREC_LLM_API_KEY, then OPENAI_API_KEY
    max_concurrency: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    max_attempts: int = 5
    backoff_base: float = 0.5  # seconds before the second attempt; doubles each time
    backoff_max: float = 30.0
    context_tokens: int = 8192  # the server's context; prompts are cut to this minus max_new_tokens

    def resolved(self) -> OpenAIConfig:
        """This config with empty fields taken from the environment; a missing model is an error."""
        env = os.environ.get
        config = replace(
            self,
            base_url=(self.base_url or env("KGREC_LLM_BASE_URL") or env("OPENAI_BASE_URL") or DEFAULT_BASE_URL),
            model=self.model or env("KGREC_LLM_MODEL", ""),
            api_key=self.api_key or env("KGREC_LLM_API_KEY") or env("OPENAI_API_KEY", ""),
        )
        if not config.model:
            raise ConfigError("No LLM model name for the HTTP backend: set KGREC_LLM_MODEL or pass model=.")
        if config.max_concurrency < 1 or config.max_attempts < 1:
            raise ConfigError("max_concurrency and max_attempts must be at least 1.")
        return config

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


class _Retry(Exception):
    """An attempt failed in a way that may pass; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


class OpenAIChatBackend(ChatBackend):
    """Sends each request as one HTTP call, up to ``max_concurrency`` at a time."""

    name = "openai"

    def __init__(self, config: OpenAIConfig | None = None, **overrides: Any):
        self.config = replace(config or OpenAIConfig(), **overrides).resolved()
        self._local = threading.local()  # one requests.Session per worker thread

    @property
    def model_id(self) -> str:
        return self.config.model

    def complete(self, requests_: Sequence[ChatRequest]) -> list[Completion]:
        if len(requests_) <= 1:
            return [self._complete_one(request) for request in requests_]
        with ThreadPoolExecutor(max_workers=min(self.config.max_concurrency, len(requests_))) as pool:
            futures = [pool.submit(self._complete_one, request) for request in requests_]
        failures = [future.exception() for future in futures if future.exception() is not None]
        if failures:
            done = [None if future.exception() else future.result() for future in futures]
            raise PartialCompletionError(done, failures[0])
        return [future.result() for future in futures]

    def _complete_one(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        budget = self.config.context_tokens - request.params.max_new_tokens
        messages, cut = fit_messages(request.messages_list(), estimate_tokens, budget)
        body = self._post_with_retries(self._payload(request, messages))
        text, prompt_tokens, completion_tokens = _parse_answer(body, messages, self.config.url)
        return Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                          model=self.model_id, seconds=time.perf_counter() - started, truncated_tokens=cut)

    def _payload(self, request: ChatRequest, messages: list[dict[str, str]]) -> dict[str, Any]:
        params = request.params
        payload = {"model": self.config.model, "messages": messages, "max_tokens": params.max_new_tokens,
                   "temperature": params.temperature, "top_p": params.top_p, "seed": params.seed}
        if params.repetition_penalty != 1.0:  # not OpenAI's API; vLLM, llama.cpp server and others read it
            payload["repetition_penalty"] = params.repetition_penalty
        return payload

    def _post_with_retries(self, payload: dict[str, Any]) -> dict[str, Any]:
        reason = ""
        for attempt in range(self.config.max_attempts):
            try:
                return self._post(payload)
            except _Retry as retry:
                reason = str(retry)
                if attempt + 1 < self.config.max_attempts:
                    time.sleep(retry.wait if retry.wait is not None else self._backoff(attempt))
        raise LLMUnavailableError(f"The LLM endpoint at {self.config.url} did not answer after "
                                  f"{self.config.max_attempts} attempts (last: {reason}).")

    def _backoff(self, attempt: int) -> float:
        """Exponential with jitter in [50 %, 100 %], so parallel workers do not retry in lockstep."""
        return min(self.config.backoff_max, self.config.backoff_base * 2 ** attempt) * random.uniform(0.5, 1.0)

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._session().post(self.config.url, json=payload,
                                            timeout=(self.config.connect_timeout, self.config.read_timeout))
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retry(f"{type(exc).__name__}") from exc
        if response.status_code in _RETRY_STATUS:
            raise _Retry(f"HTTP {response.status_code}", _retry_after(response))
        if response.status_code != 200:
            raise LLMError(f"The LLM endpoint at {self.config.url} refused the request: "
                           f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise _Retry("a body that is not JSON") from exc

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            if self.config.api_key:
                session.headers["Authorization"] = f"Bearer {self.config.api_key}"
            self._local.session = session
        return session


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a numeric Retry-After header (the HTTP-date form falls back to back-off)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _parse_answer(body: dict[str, Any], messages: list[dict[str, str]], url: str) -> tuple[str, int, int]:
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
