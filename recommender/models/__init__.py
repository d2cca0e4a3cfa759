"""Ranking models, listed by name in :mod:`recommender.registry`.

The classes load on first use (``from recommender.models import CIKGRec``), so that importing
``recommender.models.configs`` (the config dataclasses) loads no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"BPRMF": "recommender.models.bprmf", "CIKGRec": "recommender.models.cikgrec",
         "LightGCN": "recommender.models.lightgcn", "SimGCL": "recommender.models.lightgcn",
         "MODELS": "recommender.models.base", "RankingModel": "recommender.models.base",
         "build_model": "recommender.models.base"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
