"""Request and response bodies (pydantic): validated input, documented output."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MODEL_NAME = r"^[a-z][a-z0-9_-]{0,31}$"


class ColdStartRequest(BaseModel):
    """A new user named by a few item ids; ``persist`` keeps the user (and its top-K) in the graph."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("lightgcn", pattern=MODEL_NAME)
    items: list[int] = Field(min_length=1)
    k: int = Field(20, ge=1)
    persist: bool = False


class RecommendedItem(BaseModel):
    item: int
    title: str | None
    score: float
    rank: int


class ColdStartResponse(BaseModel):
    dataset: str
    model: str
    run_id: str
    method: str
    user: int | None = Field(None, description="the persisted user's id, when persist was asked for")
    items: list[RecommendedItem]


class Health(BaseModel):
    status: str
    neo4j: str
