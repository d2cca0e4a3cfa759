"""Rerankers for KELLMRec, registered by name in ``recommender.rerank.base.RERANK_MODELS``."""

from recommender.rerank.base import (
    RERANK_MODELS,
    RerankConfig,
    RerankModel,
    SelfAttentionConfig,
    build_rerank_model,
    rerank_model_class,
)
from recommender.rerank.dlcm import DLCM, DLCMConfig
from recommender.rerank.prm import PRM, PRMConfig
from recommender.rerank.setrank import SetRank, SetRankConfig

__all__ = ["DLCM", "PRM", "RERANK_MODELS", "DLCMConfig", "PRMConfig", "RerankConfig", "RerankModel",
           "SelfAttentionConfig", "SetRank", "SetRankConfig", "build_rerank_model", "rerank_model_class"]
