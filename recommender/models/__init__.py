"""Ranking models, registered by name in ``recommender.models.base.MODELS``."""

from recommender.models.base import MODELS, RankingModel, build_model
from recommender.models.bprmf import BPRMF
from recommender.models.cikgrec import CIKGRec
from recommender.models.lightgcn import LightGCN, SimGCL

__all__ = ["BPRMF", "CIKGRec", "LightGCN", "MODELS", "RankingModel", "SimGCL", "build_model"]
