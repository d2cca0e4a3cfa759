"""Language models through the :mod:`kgrec` facade: a backend by name, one prompt, the response cache.

What ``kgrec llm`` does, as calls. Every answer kgrec gets from a model is stored in the graph as
an ``(:LLMResponse)`` keyed by model and prompt, so asking again costs nothing and a long job can
resume; these calls move that cache to and from JSONL files and count what it holds. The LLM
stages themselves are :func:`kgrec.describe_items`, :func:`kgrec.infer_interests` and their kin.
A backend's module (and torch, for local models) loads only when the backend is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError
from kgrec.admin_results import CacheImport, PromptAnswer
from kgrec.pipeline import resolve_store
from kgrec.results import LLMRun

if TYPE_CHECKING:
    from knowledge.llm.base import ChatBackend

    Backend = str | type[ChatBackend] | ChatBackend


def llm_backend(backend: Backend = "transformers", model: str = "", *, endpoints: Sequence[str] = (),
                **options: Any) -> ChatBackend:
    """A chat backend: ``transformers`` (local; default model the packaged SmolLM2), ``llama-cpp``
    (the same GGUF file, quantised), ``openai`` (OpenAI-compatible endpoints, from
    ``KGREC_LLM_BASE_URL``, ``KGREC_LLM_MODEL``, ``KGREC_LLM_API_KEY``), ``openai-batch`` (the
    OpenAI Batch API, one resumable job), or a registered plugin.

    ``model``: a model name, folder or ``.gguf`` file ("" keeps the backend's default);
    ``endpoints``: server base URLs for the HTTP backends, several to spread the prompts over
    replicas of one model; ``options`` override the rest of its config. A class or instance is
    taken as it is.

    ```python
    import kgrec

    chat = kgrec.llm_backend("openai", model="m",
                             endpoints=["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"])
    kgrec.describe_items("ml100k", chat, domain="movie")
    ```
    """
    from knowledge.llm.base import ChatBackend, backend_class, create_backend

    if endpoints:
        cls = backend_class(backend) if isinstance(backend, str) else backend
        if isinstance(cls, type) and issubclass(cls, ChatBackend) and not cls.takes_endpoints:
            raise ConfigError(f"Endpoints apply to the HTTP backends (openai, openai-batch), not to {cls.name or cls}.")
        options["endpoints"] = tuple(endpoints)
    return create_backend(backend, **({"model": model} if model else {}), **options)


def ask(prompt: str, backend: Backend = "transformers", *, max_new_tokens: int = 64, task: str = "try",
        store: GraphStore | None = None) -> PromptAnswer:
    """Send one user ``prompt`` to ``backend`` (a name, class or instance), or answer it from the
    graph's cache; the answer is stored under ``task``.

    ```python
    import kgrec

    answer = kgrec.ask("Name three space opera novels.", "transformers", max_new_tokens=48)
    print(answer.text, answer.cached, answer.completion_tokens)
    ```
    """
    from knowledge.llm.base import ChatRequest, GenerationParams, create_backend
    from knowledge.llm.runner import run_prompts

    chat = create_backend(backend)
    request = ChatRequest.user(prompt, GenerationParams(max_new_tokens=max_new_tokens))
    report = run_prompts(resolve_store(store), chat, [("cli", task, request)], progress=False)
    response = next(iter(report.responses.values()))
    return PromptAnswer(task, chat.model_id, response.text, response.prompt_tokens, response.completion_tokens,
                        bool(report.cached), report.tokens_per_second, LLMRun.of(report), report)


def export_llm_cache(file: Path | str, *, task: str | None = None, store: GraphStore | None = None) -> int:
    """Write the cached responses (of one ``task``, or all) to ``file`` as JSONL, every field of each;
    returns how many.

    ```python
    import kgrec

    count = kgrec.export_llm_cache("interests.jsonl", task="interests:dbbook2014")
    ```
    """
    from knowledge.llm.cache import export_jsonl

    return export_jsonl(resolve_store(store), Path(file), task=task)


def import_llm_cache(file: Path | str, *, store: GraphStore | None = None) -> CacheImport:
    """Read a JSONL export into the cache; every line is checked before anything is written.

    ```python
    import kgrec

    done = kgrec.import_llm_cache("interests.jsonl")
    print(done.responses, done.created)
    ```
    """
    from knowledge.llm.cache import import_jsonl

    read, created = import_jsonl(resolve_store(store), Path(file))
    return CacheImport(Path(file), read, created)


def llm_cache_stats(*, store: GraphStore | None = None) -> list[dict[str, Any]]:
    """Responses and tokens per (model, task): ``model``, ``task``, ``responses``, ``prompt_tokens``,
    ``completion_tokens``, ``truncated_tokens``.

    ```python
    import kgrec

    for row in kgrec.llm_cache_stats():
        print(row["model"], row["task"], row["responses"])
    ```
    """
    from knowledge.llm.cache import stats

    return stats(resolve_store(store))
