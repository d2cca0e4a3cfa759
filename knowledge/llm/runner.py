"""Run many prompts through a backend with the Neo4j cache in front of it.

Enrichment jobs send thousands of prompts for hours; a crash or a kill must not mean paying for
them again. So every key is looked up first, only missing prompts are sent, in batches, and each
batch's answers are written to Neo4j as soon as it returns: a kill loses at most the batch in
flight, and a restart sends no answered prompt twice.

A long job can be split over processes or machines that share one Neo4j: ``Shard(k, n)`` keeps
the prompts whose cache key falls in part k of n. The parts are fixed by the key alone, so they
never overlap and stay the same across restarts, whatever has been answered meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError
from kg_store.progress import Progress, stage
from knowledge.llm.base import ChatBackend, Completion, JobBackend, PartialCompletionError, PromptItem
from knowledge.llm.cache import CachedResponse, ensure_cache_schema, lookup, request_key, save


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (0-based) of ``count`` disjoint parts of a prompt set."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(f"A shard is K/N with 0 <= K < N; got {self.index}/{self.count}.")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"K/N"`` (as the CLI takes it) -> Shard(K, N)."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ConfigError(f"A shard is written K/N (e.g. 0/2), not {text!r}.")
        return cls(int(index), int(count))

    def owns(self, key: str) -> bool:
        """Whether the prompt with cache ``key`` (a sha256 hex digest) belongs to this part."""
        return int(key[:12], 16) % self.count == self.index


@dataclass
class RunReport:
    """What a run did; ``responses`` holds every answer (cached or new) by cache key."""

    prompts: int = 0  # distinct prompts asked for
    cached: int = 0
    sent: int = 0
    would_send: int = 0  # missing prompts (before ``limit``)
    prompt_tokens: int = 0  # of the prompts sent in this run
    completion_tokens: int = 0
    truncated_tokens: int = 0
    seconds: float = 0.0  # wall time spent waiting for the backend
    pending: list[PromptItem] = field(default_factory=list)  # dry run: what would be sent
    responses: dict[str, CachedResponse] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of backend time (0 when nothing was sent)."""
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def run_prompts(store: GraphStore, backend: ChatBackend, items: Iterable[PromptItem], *, limit: int | None = None,
                dry_run: bool = False, batch_size: int = 8, progress: Progress = None,
                shard: Shard | None = None) -> RunReport:
    """Answer every (subject, task, request), from the cache where possible; see the module docstring.

    Duplicate prompts in ``items`` are sent once (the first item's subject and task are stored).
    ``limit`` caps how many prompts are sent; ``dry_run`` sends nothing and lists them in ``pending``.
    With ``shard`` only that part's missing prompts are sent (and counted in ``would_send``); the
    report still holds every cached answer, whichever process wrote it. A :class:`JobBackend` (a
    provider's batch API) gets every missing prompt in one job, whatever ``batch_size``.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}.")
    unique = _unique_by_key(backend.model_id, items)
    report = RunReport(prompts=len(unique))
    ensure_cache_schema(store)
    report.responses = lookup(store, list(unique))
    report.cached = len(report.responses)
    missing = [(key, item) for key, item in unique.items()
               if key not in report.responses and (shard is None or shard.owns(key))]
    report.would_send = len(missing)
    if limit is not None:
        missing = missing[:max(0, limit)]
    if dry_run:
        report.pending = [item for _, item in missing]
        return report
    if isinstance(backend, JobBackend):
        if missing:
            _run_job(store, backend, missing, report, progress)
    else:
        with stage(f"LLM prompts ({backend.model_id})", len(missing), progress, unit="prompts") as advance:
            for start in range(0, len(missing), batch_size):
                _send_batch(store, backend, missing[start:start + batch_size], report)
                advance(len(missing[start:start + batch_size]))
    if shard is not None:  # the other parts may have answered since the first look-up
        report.responses = lookup(store, list(unique))
    return report


def _unique_by_key(model_id: str, items: Iterable[PromptItem]) -> dict[str, PromptItem]:
    unique: dict[str, PromptItem] = {}
    for item in items:
        unique.setdefault(request_key(model_id, item[2]), item)
    return unique


def _send_batch(store: GraphStore, backend: ChatBackend, batch: list[tuple[str, PromptItem]],
                report: RunReport) -> None:
    """Send one batch and store its answers before the next batch goes out."""
    started = time.perf_counter()
    failure: BaseException | None = None
    try:
        completions: list[Completion | None] = list(backend.complete([item[2] for _, item in batch]))
    except PartialCompletionError as partial:  # keep what was answered before passing the failure on
        completions, failure = partial.completions, partial.cause
    report.seconds += time.perf_counter() - started
    responses = [CachedResponse.from_completion(request, completion, backend.model_id, task=task, subject=subject)
                 for (_, (subject, task, request)), completion in zip(batch, completions, strict=True)
                 if completion is not None]
    save(store, responses)
    for response in responses:
        _record(report, response)
    if failure is not None:
        raise failure


def _run_job(store: GraphStore, backend: JobBackend, missing: list[tuple[str, PromptItem]], report: RunReport,
             progress: Progress) -> None:
    """Hand every missing prompt to a job backend at once; each answer is stored the moment it is kept.

    The backend may also keep answers of its own earlier, resumed jobs that this run did not ask
    for: they are stored (they were paid for) but not counted in this run's report.
    """
    wanted = {key for key, _ in missing}

    def keep(responses: Sequence[CachedResponse]) -> None:
        save(store, list(responses))
        for response in responses:
            if response.key in wanted and response.key not in report.responses:
                _record(report, response)

    started = time.perf_counter()
    try:
        backend.run_job(store, dict(missing), keep, progress)
    finally:
        report.seconds += time.perf_counter() - started


def _record(report: RunReport, response: CachedResponse) -> None:
    report.responses[response.key] = response
    report.sent += 1
    report.prompt_tokens += response.prompt_tokens
    report.completion_tokens += response.completion_tokens
    report.truncated_tokens += response.truncated_tokens
