"""The contract every chat backend keeps, and the registry that finds a backend by name.

A backend turns a list of :class:`ChatRequest` into one :class:`Completion` each, in order. Keeping
the request frozen and its parameters explicit is what lets the cache key a response by
(model, messages, params): the same request always means the same key. The registry maps names to
modules that are imported only when named, so ``import knowledge.llm`` stays free of torch.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from kg_store.errors import ConfigError
from kg_store.registry import Registry

if TYPE_CHECKING:
    from kg_store.connection import GraphStore
    from kg_store.progress import Progress
    from knowledge.llm.cache import CachedResponse

Message = Mapping[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}

_ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True)
class GenerationParams:
    """How to generate; part of the cache key, so two settings never share an answer."""

    max_new_tokens: int = 64
    temperature: float = 0.0  # 0 means greedy: the same prompt gives the same answer
    top_p: float = 1.0
    seed: int = 0
    # > 1 discourages repeating tokens: small models decoding greedily fall into loops without it
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}.")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ConfigError(f"temperature must be >= 0 and top_p in (0, 1], got {self.temperature}, {self.top_p}.")
        if self.repetition_penalty <= 0:
            raise ConfigError(f"repetition_penalty must be > 0, got {self.repetition_penalty}.")

    def as_dict(self) -> dict[str, Any]:
        """The settings that shape an answer; the penalty only when set, so keys cached before it existed hold."""
        values = asdict(self)
        if self.repetition_penalty == 1.0:
            del values["repetition_penalty"]
        return values

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass(frozen=True)
class ChatRequest:
    """One conversation to complete: messages in order, and how to generate the answer."""

    messages: tuple[Message, ...]
    params: GenerationParams = field(default_factory=GenerationParams)

    def __post_init__(self) -> None:
        messages = tuple({"role": str(m["role"]), "content": str(m["content"])} for m in self.messages)
        if not messages:
            raise ConfigError("A chat request needs at least one message.")
        for message in messages:
            if message["role"] not in _ROLES:
                raise ConfigError(f"Unknown chat role {message['role']!r} (expected one of {sorted(_ROLES)}).")
        object.__setattr__(self, "messages", messages)

    @classmethod
    def user(cls, prompt: str, params: GenerationParams | None = None, system: str | None = None) -> ChatRequest:
        """The common case: one user prompt, optionally after a system message."""
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return cls(tuple(messages), params or GenerationParams())

    def messages_list(self) -> list[dict[str, str]]:
        return [dict(message) for message in self.messages]

    def canonical_messages(self) -> str:
        """JSON text that is equal for equal conversations (the cache hashes it)."""
        return canonical_json(self.messages_list())


@dataclass(frozen=True)
class Completion:
    """One answer and what it cost; ``seconds`` is this request's share of its batch's wall time."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    seconds: float
    truncated_tokens: int = 0  # prompt tokens cut to fit the model's context


class PartialCompletionError(Exception):
    """A batch failed part-way: ``completions`` holds the answers that did arrive (None elsewhere).

    Raised by backends that answer a batch's requests independently (HTTP), so the runner can
    store what was paid for before passing ``cause`` on; nothing answered is ever asked again.
    """

    def __init__(self, completions: list[Completion | None], cause: BaseException):
        super().__init__(str(cause))
        self.completions = completions
        self.cause = cause


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, unicode kept: one text per value, for hashing and storage."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ChatBackend(ABC):
    """Completes chat requests with one model; subclasses set ``name`` and implement the two methods."""

    name: str = ""
    takes_endpoints: bool = False  # whether the config takes ``endpoints`` (server URLs)

    @property
    @abstractmethod
    def model_id(self) -> str:
        """A stable name of the model (part of the cache key): the same weights, the same id."""

    @abstractmethod
    def complete(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """One completion per request, in the same order."""


#: (subject, task, request): one prompt of a job and what its answer is stored under
PromptItem = tuple[str, str, ChatRequest]


class JobBackend(ChatBackend):
    """Answers a whole prompt set as one queued job (a provider's batch API) instead of call by call.

    A job runs for minutes to hours and is paid once submitted, so the backend keeps its state in
    the graph and a re-run resumes it; the runner hands it every missing prompt at once and stores
    each answer it is given through ``keep`` as soon as it arrives.
    """

    @abstractmethod
    def run_job(self, store: GraphStore, prompts: Mapping[str, PromptItem],
                keep: Callable[[Sequence[CachedResponse]], None], progress: Progress = None) -> None:
        """Answer ``prompts`` (cache key -> item), passing answers to ``keep``; after keeping what came
        back, raise an LLMError naming how many prompts got no answer."""

    def complete(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        raise ConfigError(f"The {self.name} backend answers whole prompt sets through the response cache "
                          "(knowledge.llm.runner.run_prompts, the kgrec enrich and interests commands), "
                          "not single calls.")


#: the one list of LLM backends (name -> "module:Class"), each imported only when its name is used
LLM_BACKENDS: Registry[ChatBackend] = Registry("LLM backend", {
    "openai": "knowledge.llm.openai_http:OpenAIChatBackend",
    "transformers": "knowledge.llm.local:TransformersChatBackend",
    "llama-cpp": "knowledge.llm.llama_cpp:LlamaCppChatBackend",
    "openai-batch": "knowledge.llm.openai_batch:OpenAIBatchBackend",
})


def backend_names() -> list[str]:
    return LLM_BACKENDS.names()


def backend_class(name: str) -> type[ChatBackend]:
    """The class registered under ``name``; a ConfigError lists the known names otherwise."""
    return LLM_BACKENDS.get(name)


def create_backend(backend: str | type[ChatBackend] | ChatBackend, **config: Any) -> ChatBackend:
    """A backend from a name, a class or an instance; ``config`` overrides its config's defaults."""
    if isinstance(backend, ChatBackend):
        if config:
            raise ConfigError("Config options were given with a backend instance; pass a name or class instead.")
        return backend
    cls = backend_class(backend) if isinstance(backend, str) else backend
    return cls(**config)
