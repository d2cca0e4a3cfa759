"""A cold-start answer from what the process holds, shared by the route and the fast path.

The route (``serving.app``) loads what is missing from the graph (in a worker thread) and may persist
the user; the fast path (``serving.fast_path``) answers only from what is already held and never
touches the graph, so it can run on the event loop. Both render the same bytes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from recommender.registry import model_names as ranking_models
from recommender.registry import model_spec
from serving.cold_start import METHOD, METHOD_WITH_INTERESTS, ColdStartResult, InterestIndex, ItemIndex, cold_start
from serving.config import ServeConfig
from serving.errors import InvalidRequestError
from serving.neighbours import InterestNeighbours
from serving.registry import ModelRegistry, RunInfo
from serving.schemas import ColdStartRequest

INFERRED_INTERESTS = 3          # infer_interests: this many interests, the most held by users of the items


@dataclass(frozen=True)
class ColdStartParts:
    """What a cold-start answer is computed from: the run, its item vectors and, when asked for, its
    interest vectors and item x interest weights."""

    run: RunInfo
    index: ItemIndex
    interests: InterestIndex | None = None
    neighbours: InterestNeighbours | None = None


def check_request(request: ColdStartRequest, config: ServeConfig) -> None:
    """Limits pydantic does not know: list sizes and ``k``."""
    if len(request.items) > config.max_items:
        raise InvalidRequestError(f"items: at most {config.max_items} item ids, got {len(request.items)}.")
    if request.interests is not None and len(request.interests) > config.max_items:
        raise InvalidRequestError(f"interests: at most {config.max_items} ids, got {len(request.interests)}.")
    check_k(request.k, config)


def check_k(k: int, config: ServeConfig) -> None:
    if k > config.max_k:
        raise InvalidRequestError(f"k: at most {config.max_k}, got {k}.")


def _wants_interests(request: ColdStartRequest) -> bool:
    return request.interests is not None or request.infer_interests


def load_parts(registry: ModelRegistry, dataset: str, request: ColdStartRequest) -> ColdStartParts:
    """The parts, read from the graph where not held yet; unknown items are a 404 before the interests load."""
    _check_vector_model(request.model)
    run, index = registry.vectors(dataset, request.model)     # no model: the latest run of any
    _check_dot_scores(run.model)
    index.rows(dataset, request.items)
    if not _wants_interests(request):
        return ColdStartParts(run, index)
    interests = registry.interests(dataset, run)
    neighbours = registry.neighbours(dataset, run) if request.infer_interests else None
    return ColdStartParts(run, index, interests, neighbours)


def held_parts(registry: ModelRegistry, dataset: str, request: ColdStartRequest) -> ColdStartParts | None:
    """The parts when all are held already (no graph query at all); else None."""
    run = registry.current(dataset, request.model)
    memory = registry.memory(dataset, run) if run is not None else None
    if memory is None or memory.index is None:
        return None
    index = memory.item_index()
    if not _wants_interests(request):
        return ColdStartParts(run, index)
    if memory.interests is None or (request.infer_interests and memory.neighbours is None):
        return None
    return ColdStartParts(run, index, memory.interest_index(), memory.neighbours)


@dataclass(frozen=True)
class ColdStartAnswer:
    """A cold-start response: ``fields`` (``ColdStartResponse``'s, but the items) and the ranked rows."""

    fields: dict[str, Any]
    index: ItemIndex
    found: ColdStartResult

    def items(self) -> list[dict[str, Any]]:
        index = self.index
        return [{"item": int(index.ids[row]), "title": index.title(row), "score": score, "rank": rank}
                for rank, (row, score) in enumerate(zip(self.found.rows, self.found.scores, strict=True), 1)]

    def render(self) -> bytes:
        """The JSON bytes (compact, as FastAPI writes a response model); the items from their pre-encoded heads."""
        head = json.dumps({**self.fields, "items": []}, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        heads, scores = self.index.heads, self.found.scores
        if not all(map(math.isfinite, scores)):     # as json.dumps(allow_nan=False) would refuse them
            raise ValueError("a cold-start score is not finite: the run's vectors hold NaN or infinity")
        items = ",".join(f"{heads[row]}{score!r},\"rank\":{rank}}}"
                         for rank, (row, score) in enumerate(zip(self.found.rows, scores, strict=True), 1))
        return f"{head[:-2]}{items}]}}".encode()


def answer(parts: ColdStartParts, dataset: str, request: ColdStartRequest) -> ColdStartAnswer:
    """The response (``user`` None until persisted)."""
    _check_vector_model(request.model)
    _check_dot_scores(parts.run.model)
    index = parts.index
    used = _interests(parts, dataset, request)
    vectors = parts.interests.matrix[parts.interests.rows(dataset, [u["id"] for u in used])] if used else None
    found = cold_start(index, dataset, request.items, request.k, vectors)
    fields = {"dataset": dataset, "model": parts.run.model, "run_id": parts.run.run_id,
              "method": METHOD_WITH_INTERESTS if used else METHOD, "user": None,
              "interest_set": parts.interests.set if parts.interests is not None else None, "interests": used}
    return ColdStartAnswer(fields, index, found)


def _interests(parts: ColdStartParts, dataset: str, request: ColdStartRequest) -> list[dict]:
    """The interests to aggregate: the given ids (validated: unknown ones are a 404), then, with
    ``infer_interests``, the run's set's interests most held by users of the given items."""
    interests = parts.interests
    if interests is None:
        return []
    given = list(dict.fromkeys(request.interests or []))
    used = [{"id": int(interests.ids[row]), "label": interests.label(row), "inferred": False}
            for row in interests.rows(dataset, given)] if given else []
    if request.infer_interests and parts.neighbours is not None:
        rows = parts.index.rows(dataset, sorted(set(request.items)))
        inferred = [i for i in parts.neighbours.infer(rows, interests, INFERRED_INTERESTS) if i not in given]
        used += [{"id": i, "label": interests.label(row), "inferred": True}
                 for i, row in zip(inferred, interests.rows(dataset, inferred), strict=True)]
    return used


def _check_vector_model(model: str | None) -> None:
    """Cold start reads a run's stored vectors, which only ranking models leave (``recommender.registry``)."""
    if model is not None and model not in ranking_models():
        raise InvalidRequestError(f"model: cold start needs a ranking model's vectors; {model!r} is none of "
                                  f"{', '.join(ranking_models())}.")


def _check_dot_scores(model: str) -> None:
    """Cold start ranks items by the dot product with the mean of the user's item vectors; a model
    that scores otherwise (CFKG's distance) would be served by a rule it was not trained for."""
    if model in ranking_models() and model_spec(model).score != "dot":
        raise InvalidRequestError(f"model: cold start ranks stored vectors by dot product, but {model} scores by "
                                  f"{model_spec(model).score}; name a model that scores by dot product.")
