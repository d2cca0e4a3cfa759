"""A chat backend that runs a GGUF model in this process with llama.cpp (the ``xllamacpp`` wheel).

Why a second local backend: ``transformers`` de-quantises a GGUF file to float32 and runs it in
PyTorch, which is the reference path. llama.cpp runs the quantised weights directly, with
kernels made for them, for long offline jobs (descriptions of every item, the interests of every
user). The default model is the same packaged SmolLM2 file.

Why ``xllamacpp``: it ships prebuilt manylinux CPU wheels, so set-up compiles nothing, and the one
binary picks the CPU's instruction set when it loads, so the same install runs on Intel and AMD.
It embeds llama.cpp's own C++ server: chat completions go through ``Server.handle_chat_completions``
in process, and the server's token and template endpoints (on a loopback port, behind a random
per-process API key) give exact token counts for fitting a prompt into the context.

Cached answers are keyed by the model id (``llama.cpp:<folder>/<file>``) and the generation
parameters, never by the runtime build: a cache made on one machine answers on every other. A
*live* answer from another llama.cpp build can differ: the builds round differently, and greedy
decoding carries a changed token into everything after it. The transformers backend's answers
carry a different id and are never mixed in.
"""

from __future__ import annotations

import functools
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from kg_store.errors import ConfigError, LLMUnavailableError
from knowledge.llm.base import ChatBackend, ChatRequest, Completion
from knowledge.llm.budget import fit_messages
from knowledge.llm.local import packaged_gguf

RUNTIME = "llama.cpp"
PROBE_TIMEOUT_S = 300


@dataclass(frozen=True)
class LlamaCppConfig:
    """Which GGUF file and how to run it; the defaults run the packaged SmolLM2 on all given threads."""

    model: str = ""  # a .gguf file, or a folder holding one (with gguf_file); empty: the packaged SmolLM2
    gguf_file: str = ""
    context_tokens: int = 0  # 0: the model's trained context
    num_threads: int = 0  # 0: llama.cpp's default (the physical cores)
    batch_size: int = 8  # requests per cache write
    parallel: int = 1  # requests decoded together in server slots; each slot gets context_tokens
    gpu_layers: int = 0  # layers offloaded to a GPU build of xllamacpp; -1 for all

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise ConfigError(f"parallel must be at least 1, got {self.parallel}.")


def resolve_gguf(config: LlamaCppConfig) -> Path:
    """The .gguf file a config names."""
    if not config.model:
        if config.gguf_file:
            raise ConfigError("gguf_file needs model= (the folder that holds it).")
        folder, name = packaged_gguf()
        return Path(folder) / name
    path = Path(config.model)
    if path.is_dir():
        files = [path / config.gguf_file] if config.gguf_file else sorted(path.glob("*.gguf"))
        path = files[0] if files else path / "<no .gguf file>"
    if path.suffix != ".gguf" or not path.is_file():
        raise LLMUnavailableError(f"The llama.cpp backend needs a .gguf file; {path} is not one.")
    return path


def _import_runtime() -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise LLMUnavailableError("The llama.cpp backend needs the 'xllamacpp' package "
                                  "(make setup installs it; pip install 'kgrec[llamacpp]').") from exc
    return xllamacpp


_PROBE = """
import sys, xllamacpp as x
p = x.CommonParams(); p.model.path = sys.argv[1]; p.n_ctx = 64; p.verbosity = -1; p.warmup = False
p.cpuparams.n_threads = 1; p.cpuparams_batch.n_threads = 1; p.ui = False
s = x.Server(p)
r = s.handle_completions({"prompt": "Hello", "max_tokens": 1, "temperature": 0.0, "cache_prompt": False})
sys.exit(0 if "choices" in r else 3)
"""


@functools.cache
def probe_runtime(path: str) -> None:
    """Load the model and decode one token in a child process, once per process and file.

    A native runtime that cannot run on this CPU dies with a signal rather than an exception; the
    child takes the crash, and this process gets an error that names the cause instead of dying.
    """
    _import_runtime()
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, path], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise LLMUnavailableError(f"llama.cpp did not answer one token from {path} in {PROBE_TIMEOUT_S} s.") from exc
    if done.returncode == 0:
        return
    cause = (f"killed by signal {-done.returncode}" if done.returncode < 0
             else f"exit status {done.returncode}")
    detail = done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []
    raise LLMUnavailableError(f"The llama.cpp runtime (xllamacpp) failed to run {path} on this CPU "
                              f"({cause}){': ' + detail[0] if detail else ''}.")


class _Runtime:
    """One embedded llama.cpp server and a client for its loopback token/template endpoints."""

    def __init__(self, path: str, context_tokens: int, num_threads: int, parallel: int, gpu_layers: int):
        xllamacpp = _import_runtime()
        params = xllamacpp.CommonParams()
        params.model.path = path
        params.n_ctx = context_tokens * parallel if context_tokens else 0
        params.n_parallel = parallel
        params.n_gpu_layers = gpu_layers
        params.verbosity = -1  # no per-request log lines on stderr
        params.warmup = False
        params.ui = False
        params.endpoint_slots = False
        self._key = secrets.token_urlsafe(24)  # the loopback port answers only this process
        params.api_keys = [self._key]
        if num_threads:
            params.cpuparams.n_threads = params.cpuparams_batch.n_threads = num_threads
        try:
            self.server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain exceptions for unreadable files
            raise LLMUnavailableError(f"llama.cpp could not load {path}: {exc}") from exc
        self.http = httpx.Client(base_url=self.server.listening_address, timeout=60.0,
                                 headers={"Authorization": f"Bearer {self._key}"})
        props = self._call("GET", "/props")
        self.slot_context = int(props["default_generation_settings"]["n_ctx"])

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(method, route, json=body)
        if response.status_code != 200:
            raise LLMUnavailableError(f"llama.cpp's {route} answered HTTP {response.status_code}: {response.text[:200]}")
        return response.json()

    def tokenize(self, text: str) -> list[int]:
        return self._call("POST", "/tokenize", {"content": text, "add_special": False,
                                                "parse_special": True})["tokens"]

    def render(self, messages: list[dict[str, str]]) -> str:
        return self._call("POST", "/apply-template", {"messages": messages})["prompt"]


@functools.lru_cache(maxsize=2)
def load_runtime(path: str, context_tokens: int, num_threads: int, parallel: int, gpu_layers: int) -> _Runtime:
    """The model, loaded once per process and setting, after a child process showed it runs here."""
    probe_runtime(path)
    return _Runtime(path, context_tokens, num_threads, parallel, gpu_layers)


class LlamaCppChatBackend(ChatBackend):
    """Greedy (or seeded sampled) chat completion with the GGUF file's own chat template."""

    name = "llama-cpp"

    def __init__(self, config: LlamaCppConfig | None = None, **overrides: Any):
        self.config = replace(config or LlamaCppConfig(), **overrides)
        self.path = resolve_gguf(self.config)
        self.runtime = load_runtime(str(self.path), self.config.context_tokens, self.config.num_threads,
                                    self.config.parallel, self.config.gpu_layers)

    @property
    def model_id(self) -> str:
        """Runtime, folder name and file: stable across machines and builds, apart from transformers'."""
        return f"{RUNTIME}:{self.path.parent.name}/{self.path.name}"

    @property
    def context_tokens(self) -> int:
        """Tokens one request may use (prompt and answer)."""
        return self.runtime.slot_context

    def count_tokens(self, text: str) -> int:
        return len(self.runtime.tokenize(text))

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text the GGUF file's chat template makes (with any default system message)."""
        return self.runtime.render(messages)

    def complete(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        if self.config.parallel == 1 or len(requests) < 2:
            return [self._complete_one(request) for request in requests]
        with ThreadPoolExecutor(self.config.parallel) as pool:  # the server batches the slots' decoding
            return list(pool.map(self._complete_one, requests))

    def _fit(self, request: ChatRequest) -> tuple[list[dict[str, str]], int]:
        """Messages cut to the context minus the answer and the template's overhead; tokens cut."""
        messages = request.messages_list()
        budget = self.context_tokens - request.params.max_new_tokens
        overhead = self.count_tokens(self.render(messages)) - sum(self.count_tokens(m["content"]) for m in messages)
        return fit_messages(messages, self.count_tokens, budget, max(0, overhead) + 1)

    def _complete_one(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        messages, cut = self._fit(request)
        params = request.params
        body: dict[str, Any] = {
            "messages": messages, "max_tokens": params.max_new_tokens, "temperature": params.temperature,
            "top_p": params.top_p, "top_k": 0 if params.greedy else 40, "seed": params.seed,
            "repeat_penalty": params.repetition_penalty,
            "cache_prompt": False,  # an answer never depends on which prompt came before it
        }
        response = self.runtime.server.handle_chat_completions(body)
        if "choices" not in response:
            raise LLMUnavailableError(f"llama.cpp answered without a completion: {str(response)[:200]}")
        usage = response.get("usage") or {}
        return Completion(text=(response["choices"][0]["message"].get("content") or "").strip(),
                          prompt_tokens=int(usage.get("prompt_tokens", 0)),
                          completion_tokens=int(usage.get("completion_tokens", 0)),
                          model=self.model_id, seconds=time.perf_counter() - started, truncated_tokens=cut)
