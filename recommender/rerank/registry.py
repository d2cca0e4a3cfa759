"""The rerankers by name: the one list that ``kgrec train rerank --model``, :func:`kgrec.train`
and the rerank trainer read.

Importing this module imports no torch; a reranker's module is imported when its name is used.
A ``RerankModel`` subclass with a ``name`` registers itself here when its class is defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg_store.registry import Registry, Target
from recommender.errors import UnknownModelError

if TYPE_CHECKING:
    from recommender.features.batch import FeatureSpec
    from recommender.rerank.base import RerankModel

RERANKERS: Registry[RerankModel] = Registry("reranker", {
    "dlcm": "recommender.rerank.dlcm:DLCM",
    "prm": "recommender.rerank.prm:PRM",
    "setrank": "recommender.rerank.setrank:SetRank",
}, error=UnknownModelError)


def names() -> list[str]:
    return RERANKERS.names()


def get(name: str) -> type[RerankModel]:
    """The reranker class of ``name``; an unknown name lists the known ones."""
    return RERANKERS.get(name)


def register(name: str, target: Target) -> None:
    """Add a reranker as ``"module:Class"`` (imported when named) or as a class."""
    RERANKERS.register(name, target)


def create(model: str | type[RerankModel] | RerankModel, spec: FeatureSpec | None = None,
           **overrides: Any) -> RerankModel:
    """A reranker from a name, a class or an instance; ``overrides`` change its config's defaults."""
    from recommender.rerank.base import build_rerank_model

    return build_rerank_model(model, spec, **overrides)
