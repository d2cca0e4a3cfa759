"""Every LLM answer kept in Neo4j, keyed by what produced it, so no prompt is ever paid for twice.

A response is ``(:LLMResponse {key, ...})`` where ``key`` is the sha256 of (model id, canonical
JSON of the messages, canonical JSON of the generation params). Equal requests to the same model
hit the same node, whichever task or run asks. Responses move between machines as JSONL (one
object per line, every field); an import validates the whole file before writing anything and
MERGEs on the key, so importing twice changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.errors import BadInputError
from kg_store.schema import apply_schema
from knowledge.llm.base import ChatRequest, Completion, canonical_json

LOOKUP_CHUNK = 1_000
WRITE_BATCH = 500


@dataclass(frozen=True)
class CachedResponse:
    """One stored answer; ``params`` and ``prompt`` are JSON text (Neo4j has no nested maps)."""

    key: str
    prompt_hash: str
    model: str
    params: str
    prompt: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    truncated_tokens: int
    created: str  # ISO 8601, UTC
    task: str
    subject: str

    @classmethod
    def from_completion(cls, request: ChatRequest, completion: Completion, model_id: str, *,
                        task: str, subject: str) -> CachedResponse:
        return cls(key=request_key(model_id, request), prompt_hash=prompt_hash(request), model=model_id,
                   params=canonical_json(request.params.as_dict()), prompt=request.canonical_messages(),
                   text=completion.text, prompt_tokens=completion.prompt_tokens,
                   completion_tokens=completion.completion_tokens, truncated_tokens=completion.truncated_tokens,
                   created=datetime.now(UTC).isoformat(timespec="seconds"), task=task, subject=subject)

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


_FIELD_TYPES: dict[str, type] = {f.name: (int if f.type == "int" else str) for f in fields(CachedResponse)}


def request_key(model_id: str, request: ChatRequest) -> str:
    """sha256 of (model, messages, params) in canonical JSON: the cache's identity of a request."""
    return _sha256(canonical_json([model_id, request.messages_list(), request.params.as_dict()]))


def prompt_hash(request: ChatRequest) -> str:
    """sha256 of the messages alone: finds one prompt's answers across models."""
    return _sha256(request.canonical_messages())


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ensure_cache_schema(store: GraphStore) -> None:
    """Apply ``cypher/knowledge/schema.cypher`` once per process and database (it is idempotent)."""
    apply_schema(store, schema="knowledge/schema")


def lookup(store: GraphStore, keys: Sequence[str]) -> dict[str, CachedResponse]:
    """The cached responses among ``keys``, by key."""
    found: dict[str, CachedResponse] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        rows = store.read("knowledge/get_responses", keys=list(keys[start:start + LOOKUP_CHUNK]))
        found.update((row["response"]["key"], _from_node(row["response"])) for row in rows)
    return found


def save(store: GraphStore, responses: Sequence[CachedResponse]) -> int:
    """Store responses (the first answer per key wins); returns how many nodes were new."""
    ensure_cache_schema(store)
    counters = write_in_batches(store, "knowledge/merge_responses", [r.as_row() for r in responses],
                                batch_size=WRITE_BATCH, progress=False)
    return counters.nodes_created


def delete_task(store: GraphStore, task: str) -> int:
    """Drop every response stored under ``task``; returns how many."""
    return store.write("knowledge/delete_responses", task=task)[0]["deleted"]


def stats(store: GraphStore) -> list[dict[str, Any]]:
    """Responses and tokens per (model, task)."""
    return store.read("knowledge/response_stats")


def iter_responses(store: GraphStore, task: str | None = None, page: int = 1_000) -> Iterator[CachedResponse]:
    """All responses (of one task) in key order, read a page at a time."""
    after = ""
    while rows := store.read("knowledge/export_responses", after=after, task=task, limit=page):
        for row in rows:
            yield _from_node(row["response"])
        after = rows[-1]["response"]["key"]


def export_jsonl(store: GraphStore, path: Path, task: str | None = None) -> int:
    """Write responses as JSONL (one object per line, every field); returns how many."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for response in iter_responses(store, task):
            out.write(json.dumps(response.as_row(), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def import_jsonl(store: GraphStore, path: Path) -> tuple[int, int]:
    """Read a JSONL export into the cache; (lines read, nodes created). Validates every line first."""
    responses = list(read_jsonl(Path(path)))
    return len(responses), save(store, responses)


def read_jsonl(path: Path) -> Iterable[CachedResponse]:
    """Every line parsed and checked (fields, types, key) before the caller writes any of them."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(path, None, f"cannot read the file: {exc}") from exc
    return [_parse_line(path, number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _parse_line(path: Path, number: int, line: str) -> CachedResponse:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInputError(path, number, f"not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise BadInputError(path, number, "expected a JSON object")
    for name, kind in _FIELD_TYPES.items():
        if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
            raise BadInputError(path, number, f"missing or not a {kind.__name__}", field=name)
    response = CachedResponse(**{name: data[name] for name in _FIELD_TYPES})
    if response.key != _sha256(canonical_json([response.model, _json_field(path, number, response, "prompt"),
                                               _json_field(path, number, response, "params")])):
        raise BadInputError(path, number, "does not match sha256 of (model, prompt, params)", field="key")
    return response


def _json_field(path: Path, number: int, response: CachedResponse, name: str) -> Any:
    try:
        return json.loads(getattr(response, name))
    except json.JSONDecodeError as exc:
        raise BadInputError(path, number, "not JSON text", field=name) from exc


def _from_node(node: dict[str, Any]) -> CachedResponse:
    return CachedResponse(**{name: node.get(name) for name in _FIELD_TYPES})
