"""The state of Batch-API jobs, kept on ``(:LLMBatchJob)`` nodes so a killed run resumes its job.

A batch is paid for when the provider accepts it, and it runs for minutes to hours, so losing track
of one means paying twice. A job is written to the graph *before* anything is uploaded and updated
after every step (``prepared`` -> ``uploaded`` -> ``submitted`` -> ``done``); a re-run finds the jobs
that hold its prompts and carries each on from its last step. Each job holds its own prompts (the
subject, task, messages and parameters of every cache key), so an answer that comes back is stored
in the cache even when the run that resumes the job asks for other prompts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from kg_store.connection import GraphStore
from knowledge.llm.base import ChatRequest, GenerationParams, PromptItem, canonical_json

STATES = ("prepared", "uploaded", "submitted", "done")


@dataclass(frozen=True)
class BatchJob:
    """One submitted prompt set; ``prompts`` are JSON texts ``{key, subject, task, messages, params}``."""

    id: str
    base_url: str
    model: str
    keys: tuple[str, ...]
    prompts: tuple[str, ...]
    state: str = "prepared"
    created: str = ""  # ISO 8601, UTC
    created_at: float = 0.0  # seconds since the epoch: the provider's lists are dated this way
    input_file_id: str = ""
    batch_id: str = ""
    status: str = ""  # the provider's status, as last seen
    output_file_id: str = ""
    error_file_id: str = ""
    answered: int = 0
    failed: int = 0

    @property
    def filename(self) -> str:
        """The name its input file is uploaded under: a re-run finds an upload by it."""
        return f"kgrec-{self.id}.jsonl"

    @cached_property
    def items(self) -> dict[str, PromptItem]:
        """Cache key -> (subject, task, request), rebuilt from the stored prompts."""
        return {record["key"]: _item(record) for record in map(json.loads, self.prompts)}

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["keys"], row["prompts"] = list(self.keys), list(self.prompts)
        return row


def new_job(base_url: str, model: str, prompts: Mapping[str, PromptItem]) -> BatchJob:
    """A job for ``prompts`` (cache key -> item), not yet written anywhere."""
    records = tuple(canonical_json({"key": key, "subject": subject, "task": task, "messages": request.messages_list(),
                                    "params": request.params.as_dict()})
                    for key, (subject, task, request) in prompts.items())
    return BatchJob(id=uuid.uuid4().hex, base_url=base_url, model=model, keys=tuple(prompts), prompts=records,
                    created=datetime.now(UTC).isoformat(timespec="seconds"), created_at=time.time())


def _item(record: Mapping[str, Any]) -> PromptItem:
    request = ChatRequest(tuple(record["messages"]), GenerationParams(**record["params"]))
    return record["subject"], record["task"], request


def create_job(store: GraphStore, job: BatchJob) -> BatchJob:
    store.write("knowledge/batch_job_create", job=job.as_row())
    return job


def update_job(store: GraphStore, job: BatchJob, **changes: Any) -> BatchJob:
    """Write the fields one step changed, and return the job with them."""
    store.write("knowledge/batch_job_update", id=job.id, changes=changes)
    return replace(job, **changes)


def open_jobs(store: GraphStore, base_url: str, model: str) -> list[BatchJob]:
    """The jobs sent to ``base_url`` for ``model`` that have not ended, oldest first."""
    rows = store.read("knowledge/batch_jobs_open", base_url=base_url, model=model)
    return [_from_node(row["job"]) for row in rows]


def job_summaries(store: GraphStore, model: str) -> list[dict[str, Any]]:
    """Every job of ``model``: ids, state, provider status, requests, answered, failed."""
    return [row["job"] for row in store.read("knowledge/batch_jobs", model=model)]


def delete_jobs(store: GraphStore, model: str) -> int:
    """Drop the job records of ``model`` (cached answers stay); returns how many."""
    return store.write("knowledge/delete_batch_jobs", model=model)[0]["deleted"]


def _from_node(node: Mapping[str, Any]) -> BatchJob:
    values = {name: node[name] for name in BatchJob.__dataclass_fields__ if node.get(name) is not None}
    values["keys"], values["prompts"] = tuple(node["keys"]), tuple(node["prompts"])
    return BatchJob(**values)
