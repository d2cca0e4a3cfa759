"""A backend for the OpenAI Batch API: a whole prompt set in one file, answered within a window, at a lower price.

The un-cached prompts become one JSONL file (``custom_id`` = the cache key), uploaded with
``POST /files`` (purpose ``batch``); ``POST /batches`` starts it; ``GET /batches/{id}`` is polled,
with progress, until it ends; then its output and error files are read and every answer is stored
in the response cache. Each step is recorded on the job's ``(:LLMBatchJob)`` node
(:mod:`knowledge.llm.batch_jobs`), so a run killed at any point resumes: it polls the same batch
instead of submitting again. A kill between the provider acting and the graph recording it is
covered as well: before uploading or creating, a job looks on the provider for its own file (by
name) or batch (by ``metadata.kgrec_job``). A batch that expires or partly fails keeps every answer
that came back; the others stay un-cached, so the next run sends only those.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import requests

from kg_store.connection import GraphStore
from kg_store.errors import ConfigError, LLMError, LLMUnavailableError
from kg_store.progress import Progress, note, stage
from knowledge.llm.base import Completion, JobBackend, PromptItem
from knowledge.llm.batch_jobs import BatchJob, create_job, new_job, open_jobs, update_job
from knowledge.llm.cache import CachedResponse, ensure_cache_schema
from knowledge.llm.openai_http import RETRY_STATUS, OpenAIConfig, api_session, chat_payload, parse_answer, retry_after

T = TypeVar("T")
CHAT_ROUTE = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "expired", "failed", "cancelled", "missing"})  # missing: the provider forgot it
LIST_PAGES = 50  # pages of 100 read when looking for a job's own file or batch
LIST_SLACK_S = 3600.0  # entries this much older than the job cannot be its own (allows for clock skew)


@dataclass(frozen=True)
class BatchConfig(OpenAIConfig):
    """The HTTP settings plus how to run a batch; one endpoint only (a batch lives on one provider)."""

    poll_seconds: float = 30.0
    max_wait_seconds: float = 0.0  # 0: poll until every batch ends; else stop (resumable) after this long
    completion_window: str = "24h"
    max_requests: int = 50_000  # per batch (the OpenAI limit); a larger prompt set becomes several batches


class BatchRequestError(LLMError):
    """The provider refused a call (HTTP 4xx other than 408/409/425/429); ``status`` is its code."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class _Transient(Exception):
    """A call that may pass when tried again (connection, timeout, 429, 5xx)."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.wait = wait


class BatchApi:
    """The Files and Batches routes of one endpoint. Reads retry; each create first looks for its result."""

    def __init__(self, config: BatchConfig):
        self.config = config
        self.session = api_session(config.api_key)

    def request(self, method: str, route: str, **kwargs: Any) -> requests.Response:
        """One attempt: _Transient for what may pass, BatchRequestError (naming the URL) for a refusal."""
        url = self.config.base_url + route
        try:
            response = self.session.request(method, url, timeout=(self.config.connect_timeout, self.config.read_timeout),
                                            **kwargs)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"{type(exc).__name__} from {url}") from exc
        if response.status_code in RETRY_STATUS:
            raise _Transient(f"HTTP {response.status_code} from {url}", retry_after(response))
        if response.status_code >= 400:
            raise BatchRequestError(f"The batch endpoint refused {method} {url}: HTTP {response.status_code}: "
                                    f"{response.text[:200]}", response.status_code)
        return response

    def upload_once(self, job: BatchJob, data: bytes) -> str:
        """The id of the job's input file: found on the provider by its name, or uploaded now."""
        found = self._find("/files", {"purpose": "batch"}, lambda f: f.get("filename") == job.filename, job)
        if found:
            return found["id"]
        files = {"file": (job.filename, data, "application/jsonl")}
        return self.request("POST", "/files", data={"purpose": "batch"}, files=files).json()["id"]

    def create_once(self, job: BatchJob) -> dict[str, Any]:
        """The job's batch: found on the provider (by metadata or input file), or created now."""
        found = self._find("/batches", {}, lambda b: (b.get("metadata") or {}).get("kgrec_job") == job.id
                           or b.get("input_file_id") == job.input_file_id, job)
        if found:
            return found
        body = {"input_file_id": job.input_file_id, "endpoint": CHAT_ROUTE,
                "completion_window": self.config.completion_window, "metadata": {"kgrec_job": job.id}}
        return self.request("POST", "/batches", json=body).json()

    def poll(self, batch_id: str) -> dict[str, Any]:
        try:
            return retrying(self.config, lambda: self.request("GET", f"/batches/{batch_id}").json(), "report the batch")
        except BatchRequestError as exc:
            if exc.status != 404:
                raise
            return {"id": batch_id, "status": "missing"}

    def content(self, file_id: str) -> str:
        return retrying(self.config, lambda: self.request("GET", f"/files/{file_id}/content").text, "send a result file")

    def _find(self, route: str, params: dict[str, Any], match: Callable[[dict[str, Any]], bool],
              job: BatchJob) -> dict[str, Any] | None:
        """The newest entry of a list route that ``match``es, read newest first down to the job's creation."""
        after = None
        for _ in range(LIST_PAGES):
            try:
                body = self.request("GET", route, params={**params, "limit": 100, **({"after": after} if after else {})})
            except BatchRequestError as exc:  # a server without the list route: there is nothing to find
                if exc.status in (404, 405):
                    return None
                raise
            body = body.json()
            entries = body.get("data") or []
            found = next((entry for entry in entries if match(entry)), None)
            oldest = entries[-1].get("created_at", 0) if entries else 0
            if found or not body.get("has_more") or not entries or oldest < job.created_at - LIST_SLACK_S:
                return found
            after = entries[-1]["id"]
        return None


def retrying(config: OpenAIConfig, call: Callable[[], T], what: str) -> T:
    """``call()`` tried up to ``max_attempts`` times with exponential back-off on _Transient failures."""
    reason = ""
    for attempt in range(config.max_attempts):
        try:
            return call()
        except _Transient as exc:
            reason = str(exc)
            if attempt + 1 < config.max_attempts:
                wait = min(config.backoff_max, config.backoff_base * 2 ** attempt) * random.uniform(0.5, 1.0)
                time.sleep(exc.wait if exc.wait is not None else wait)
    raise LLMUnavailableError(f"The batch endpoint did not {what} after {config.max_attempts} attempts (last: "
                              f"{reason}); the job is kept in the graph, so running again resumes it.")


class OpenAIBatchBackend(JobBackend):
    """Sends every missing prompt through the Batch API and resumes its own jobs; see the module docstring."""

    name = "openai-batch"
    takes_endpoints = True

    def __init__(self, config: BatchConfig | None = None, **overrides: Any):
        self.config = replace(config or BatchConfig(), **overrides).resolved()
        if len(self.config.endpoints) != 1:
            raise ConfigError(f"The openai-batch backend sends a job to one endpoint, got "
                              f"{len(self.config.endpoints)}: {', '.join(self.config.endpoints)}.")
        if self.config.poll_seconds < 0 or self.config.max_wait_seconds < 0 or self.config.max_requests < 1:
            raise ConfigError("poll_seconds and max_wait_seconds must be >= 0 and max_requests >= 1.")
        self.api = BatchApi(self.config)

    @property
    def model_id(self) -> str:
        return self.config.model

    def run_job(self, store: GraphStore, prompts: Mapping[str, PromptItem],
                keep: Callable[[Sequence[CachedResponse]], None], progress: Progress = None) -> None:
        ensure_cache_schema(store)
        jobs = [self._submit(store, job, progress) for job in self._jobs_for(store, prompts, progress)]
        unanswered = {key: why for key, why in self._wait(store, jobs, keep, progress).items() if key in prompts}
        if unanswered:
            raise LLMError(f"{len(unanswered):,} of {len(prompts):,} prompts came back from the batch API without "
                           f"an answer (first: {next(iter(unanswered.values()))}); the answers that came back are "
                           "cached, so running again sends only these.")

    def _jobs_for(self, store: GraphStore, prompts: Mapping[str, PromptItem], progress: Progress) -> list[BatchJob]:
        """The open jobs holding any of ``prompts`` (resumed), then new jobs for the rest, recorded before sending."""
        resumed = [job for job in open_jobs(store, self.config.base_url, self.model_id)
                   if not prompts.keys().isdisjoint(job.keys)]
        covered = {key for job in resumed for key in job.keys}
        fresh = [key for key in prompts if key not in covered]
        size = self.config.max_requests
        created = [create_job(store, new_job(self.config.base_url, self.model_id,
                                             {key: prompts[key] for key in fresh[start:start + size]}))
                   for start in range(0, len(fresh), size)]
        for job in resumed:
            note(f"Resuming batch job {job.id} ({len(job.keys):,} prompts, {job.state}"
                 f"{', batch ' + job.batch_id if job.batch_id else ''}).", progress)
        return resumed + created

    def _submit(self, store: GraphStore, job: BatchJob, progress: Progress) -> BatchJob:
        """Carry a job from its recorded step to ``submitted``: upload its file, then create its batch."""
        if job.state == "prepared":
            data = self._input_file(job)
            file_id = retrying(self.config, lambda: self.api.upload_once(job, data), "take the input file")
            job = update_job(store, job, state="uploaded", input_file_id=file_id)
        if job.state == "uploaded":
            batch = retrying(self.config, lambda: self.api.create_once(job), "create the batch")
            job = update_job(store, job, state="submitted", batch_id=batch["id"], status=batch.get("status", ""))
            note(f"Batch {job.batch_id}: {len(job.keys):,} prompts submitted (job {job.id}).", progress)
        return job

    def _input_file(self, job: BatchJob) -> bytes:
        lines = []
        for key in job.keys:
            payload, _, _ = chat_payload(self.config.model, job.items[key][2], self.config.context_tokens)
            lines.append(json.dumps({"custom_id": key, "method": "POST", "url": CHAT_ROUTE, "body": payload},
                                    ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode("utf-8")

    def _wait(self, store: GraphStore, jobs: list[BatchJob], keep: Callable[[Sequence[CachedResponse]], None],
              progress: Progress) -> dict[str, str]:
        """Poll until every batch ends, keeping each one's answers as it ends; the unanswered keys and why."""
        unanswered: dict[str, str] = {}
        pending = {job.id: job for job in jobs}
        seen = dict.fromkeys(pending, 0)
        deadline = time.monotonic() + self.config.max_wait_seconds if self.config.max_wait_seconds else None
        with stage(f"LLM batch ({self.model_id})", sum(len(job.keys) for job in jobs), progress,
                   unit="prompts") as advance:
            while pending:
                for job in list(pending.values()):
                    batch = self.api.poll(job.batch_id)
                    counts = batch.get("request_counts") or {}
                    done = int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
                    advance(max(0, done - seen[job.id]))
                    seen[job.id] = max(seen[job.id], done)
                    if batch.get("status") in TERMINAL:
                        unanswered |= self._finish(store, job, batch, keep)
                        del pending[job.id]
                    elif batch.get("status", "") != job.status:
                        pending[job.id] = update_job(store, job, status=batch.get("status", ""))
                if pending and deadline is not None and time.monotonic() >= deadline:
                    raise LLMUnavailableError(self._still_running(pending.values(), seen))
                if pending:
                    time.sleep(self.config.poll_seconds)
        return unanswered

    def _still_running(self, jobs: Iterable[BatchJob], seen: Mapping[str, int]) -> str:
        states = ", ".join(f"{job.batch_id} {job.status or 'submitted'} ({seen[job.id]:,}/{len(job.keys):,})"
                           for job in jobs)
        return (f"The batch API has not finished after {self.config.max_wait_seconds:g} s: {states}. The jobs are "
                "kept in the graph: run the same command again to resume polling them.")

    def _finish(self, store: GraphStore, job: BatchJob, batch: dict[str, Any],
                keep: Callable[[Sequence[CachedResponse]], None]) -> dict[str, str]:
        """Read the output and error files, keep every answer, close the job; the unanswered keys and why."""
        answers: dict[str, CachedResponse] = {}
        reasons: dict[str, str] = {}
        files = {"output_file_id": batch.get("output_file_id") or "", "error_file_id": batch.get("error_file_id") or ""}
        for file_id in filter(None, files.values()):
            found, failed = self._read_results(job, file_id)
            answers |= found
            reasons |= failed
        keep(list(answers.values()))  # in the cache before the job is closed: a kill here re-reads the files
        default = _batch_reason(batch)
        unanswered = {key: reasons.get(key, default) for key in job.keys if key not in answers}
        update_job(store, job, state="done", status=batch.get("status", ""), answered=len(answers),
                   failed=len(unanswered), **files)
        return unanswered

    def _read_results(self, job: BatchJob, file_id: str) -> tuple[dict[str, CachedResponse], dict[str, str]]:
        """The answers in one result file by key, and why the other keys it names failed.

        A line that cannot be read names no key for sure, so its prompt stays un-cached (sent again).
        """
        answers: dict[str, CachedResponse] = {}
        reasons: dict[str, str] = {}
        where = f"{self.config.base_url}/files/{file_id}/content"
        for line in self.api.content(file_id).splitlines():
            try:
                row = json.loads(line)
                key = row["custom_id"]
            except (ValueError, KeyError, TypeError):
                continue
            if key not in job.items:
                continue
            response = row.get("response") or {}
            if row.get("error") or response.get("status_code") != 200:
                reasons[key] = _line_reason(row)
                continue
            subject, task, request = job.items[key]
            _, messages, cut = chat_payload(self.config.model, request, self.config.context_tokens)
            try:
                text, prompt_tokens, completion_tokens = parse_answer(response.get("body") or {}, messages, where)
            except LLMError as exc:
                reasons[key] = str(exc)
                continue
            completion = Completion(text, prompt_tokens, completion_tokens, self.model_id, 0.0, cut)
            answers[key] = CachedResponse.from_completion(request, completion, self.model_id, task=task, subject=subject)
        return answers, reasons


def _line_reason(row: dict[str, Any]) -> str:
    """Why one request of a batch failed, from its result line."""
    error = row.get("error") or ((row.get("response") or {}).get("body") or {}).get("error") or {}
    status = (row.get("response") or {}).get("status_code")
    detail = f"{error.get('code') or ''}: {error.get('message') or ''}".strip(": ") if isinstance(error, dict) else error
    return f"HTTP {status}: {detail}" if status else str(detail or "no answer")


def _batch_reason(batch: dict[str, Any]) -> str:
    """Why a batch left requests unanswered, from its status and errors."""
    errors = (batch.get("errors") or {}).get("data") or []
    detail = f": {errors[0].get('message', '')}" if errors else ""
    return f"batch {batch.get('id', '')} {batch.get('status', '')}{detail}"
