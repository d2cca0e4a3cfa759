"""CTR backbones; their names are listed in :mod:`recommender.ctr.registry`."""

from recommender.ctr.models.base import BackboneConfig, CTRConfig, CTRModel, build_ctr_model, ctr_model_class
from recommender.ctr.models.deepfm import DeepFM
from recommender.ctr.models.dien import DIEN, DIENConfig
from recommender.ctr.models.din import DIN, DINConfig

__all__ = ["DIEN", "DIN", "BackboneConfig", "CTRConfig", "CTRModel", "DIENConfig", "DINConfig", "DeepFM",
           "build_ctr_model", "ctr_model_class"]
