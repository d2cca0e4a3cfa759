"""Rerankers for KELLMRec; their names are listed in :mod:`recommender.rerank.registry`.

The classes are loaded on first access (``from recommender.rerank import PRM``), so the registry
module of this package can be imported without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RerankConfig": "base", "RerankModel": "base", "SelfAttentionConfig": "base", "build_rerank_model": "base",
    "rerank_model_class": "base", "DLCM": "dlcm", "DLCMConfig": "dlcm", "PRM": "prm", "PRMConfig": "prm",
    "SetRank": "setrank", "SetRankConfig": "setrank",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
