"""CTR backbones, registered by name in ``recommender.ctr.models.base.CTR_MODELS``."""

from recommender.ctr.models.base import (
    CTR_MODELS,
    BackboneConfig,
    CTRConfig,
    CTRModel,
    build_ctr_model,
    ctr_model_class,
)
from recommender.ctr.models.deepfm import DeepFM
from recommender.ctr.models.dien import DIEN, DIENConfig
from recommender.ctr.models.din import DIN, DINConfig

__all__ = ["CTR_MODELS", "DIEN", "DIN", "BackboneConfig", "CTRConfig", "CTRModel", "DIENConfig", "DINConfig",
           "DeepFM", "build_ctr_model", "ctr_model_class"]
