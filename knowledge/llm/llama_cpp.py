"""A chat backend that runs a GGUF model in this process with llama.cpp (``llama-cpp-python``).

Why a second local backend: ``transformers`` de-quantises a GGUF file to float32 and runs it in
PyTorch, which is the reference path but slow on a CPU. llama.cpp runs the quantised weights
directly, several times faster on one core, so long offline jobs (descriptions of every item, the
interests of every user) fit in a session. The default model is the same packaged SmolLM2 file.

The two backends do not share cached answers: their arithmetic differs, so a greedy answer can
differ too, and the model id says which runtime produced it (``llama.cpp:<folder>/<file>``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kg_store.errors import ConfigError, LLMUnavailableError
from knowledge.llm.base import ChatBackend, ChatRequest, Completion
from knowledge.llm.budget import fit_messages
from knowledge.llm.local import packaged_gguf

RUNTIME = "llama.cpp"


@dataclass(frozen=True)
class LlamaCppConfig:
    """Which GGUF file and how to run it; the defaults run the packaged SmolLM2 on all given threads."""

    model: str = ""  # a .gguf file, or a folder holding one (with gguf_file); empty: the packaged SmolLM2
    gguf_file: str = ""
    context_tokens: int = 0  # 0: the model's trained context
    num_threads: int = 0  # 0: llama.cpp's default (the physical cores)
    batch_size: int = 8  # requests per cache write (llama.cpp answers them one after another)
    gpu_layers: int = 0  # layers offloaded to a GPU build of llama.cpp; -1 for all


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


@functools.lru_cache(maxsize=2)
def load_llama(path: str, context_tokens: int, num_threads: int, gpu_layers: int) -> Any:
    """The model, loaded once per process and setting."""
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise LLMUnavailableError("The llama.cpp backend needs the 'llama-cpp-python' package "
                                  "(make setup installs it).") from exc
    kwargs: dict[str, Any] = {"model_path": path, "n_ctx": context_tokens, "n_gpu_layers": gpu_layers,
                              "verbose": False}
    if num_threads:
        kwargs.update(n_threads=num_threads, n_threads_batch=num_threads)
    try:
        with _quiet_stderr():
            return Llama(**kwargs)
    except (OSError, ValueError, RuntimeError) as exc:
        raise LLMUnavailableError(f"llama.cpp could not load {path}: {exc}") from exc


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp's C code prints its load log to file descriptor 2 even when told not to."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class LlamaCppChatBackend(ChatBackend):
    """Greedy (or seeded sampled) chat completion with the GGUF file's own chat template."""

    name = "llama-cpp"

    def __init__(self, config: LlamaCppConfig | None = None, **overrides: Any):
        self.config = replace(config or LlamaCppConfig(), **overrides)
        self.path = resolve_gguf(self.config)
        self.llama = load_llama(str(self.path), self.config.context_tokens, self.config.num_threads,
                                self.config.gpu_layers)

    @property
    def model_id(self) -> str:
        """Runtime, folder name and file: stable across machines, and apart from transformers' answers."""
        return f"{RUNTIME}:{self.path.parent.name}/{self.path.name}"

    @property
    def context_tokens(self) -> int:
        return int(self.llama.n_ctx())

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def complete(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [self._complete_one(request) for request in requests]

    def _fit(self, request: ChatRequest) -> tuple[list[dict[str, str]], int]:
        """Messages cut to the context minus the answer and the template's overhead; tokens cut."""
        messages = request.messages_list()
        budget = self.context_tokens - request.params.max_new_tokens
        overhead = self.count_tokens(self.render(messages)) - sum(self.count_tokens(m["content"]) for m in messages)
        return fit_messages(messages, self.count_tokens, budget, max(0, overhead) + 1)

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text the GGUF file's chat template makes (with any default system message)."""
        return self._formatter(messages=messages).prompt

    @functools.cached_property
    def _formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        metadata = self.llama.metadata
        template = metadata.get("tokenizer.chat_template")
        if not template:
            raise LLMUnavailableError(f"{self.path.name} has no chat template.")
        return Jinja2ChatFormatter(template, eos_token=self._token_text(self.llama.token_eos()),
                                   bos_token=self._token_text(self.llama.token_bos()))

    def _token_text(self, token: int) -> str:
        return self.llama.detokenize([token], special=True).decode("utf-8", errors="replace") if token >= 0 else ""

    def _complete_one(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        messages, cut = self._fit(request)
        params = request.params
        response = self.llama.create_chat_completion(
            messages=messages, max_tokens=params.max_new_tokens, temperature=params.temperature,
            top_p=params.top_p, top_k=0 if params.greedy else 40, seed=params.seed,
            repeat_penalty=params.repetition_penalty)
        usage = response.get("usage") or {}
        return Completion(text=(response["choices"][0]["message"].get("content") or "").strip(),
                          prompt_tokens=int(usage.get("prompt_tokens", 0)),
                          completion_tokens=int(usage.get("completion_tokens", 0)),
                          model=self.model_id, seconds=time.perf_counter() - started, truncated_tokens=cut)
