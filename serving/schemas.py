"""Request and response bodies (pydantic): validated input, documented output."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAME = r"^[a-z][a-z0-9_-]{0,31}$"


class ColdStartRequest(BaseModel):
    """A new user named by a few item ids; ``persist`` keeps the user (and its top-K) in the graph.

    ``interests`` (ids in the run's interest set) and ``infer_interests`` (the interests most held by
    users of the given items, read from the graph) add interest neighbours, for models whose runs
    stored interest vectors (CIKGRec with interests on). Without ``model``, the dataset's latest run of
    any model is used (the response names its model).
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, pattern=MODEL_NAME, description="default: the latest run of any model")
    items: list[int] = Field(min_length=1)
    k: int = Field(20, ge=1)
    persist: bool = False
    interests: list[int] | None = Field(None, description="interest ids of the run's interest set")
    infer_interests: bool = Field(False, description="add the interests most held by users of the given items")


class RecommendedItem(BaseModel):
    item: int
    title: str | None
    score: float
    rank: int


class UsedInterest(BaseModel):
    id: int
    label: str | None
    inferred: bool = Field(description="inferred from the given items' users, rather than given")


class ColdStartResponse(BaseModel):
    dataset: str
    model: str
    run_id: str
    method: str
    user: int | None = Field(None, description="the persisted user's id, when persist was asked for")
    interest_set: str | None = Field(None, description="the run's interest set, when interests were used")
    interests: list[UsedInterest] = Field(default_factory=list, description="the interests aggregated, if any")
    items: list[RecommendedItem]


class Health(BaseModel):
    status: str = Field(description="ok, or degraded while Neo4j is unreachable")
    neo4j: str = Field(description="up or down")
    stale: bool = Field(description="answers come from memory without the graph: possibly stale")
    runs_in_memory: int = Field(description="training runs whose lists or vectors this process holds")
    memory_bytes: int = Field(description="bytes of the arrays held for those runs")
