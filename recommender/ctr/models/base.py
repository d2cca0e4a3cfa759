"""The contract every CTR model keeps.

A CTR model scores (user, target item) samples of a ``CTRBatch``: ``forward`` gives one logit per
sample, ``loss`` the terms the trainer logs with ``total`` to minimise (BCE with logits, plus the
knowledge contrast of ``recommender.features.contrast`` when partners are passed). ``user_representation``
and ``item_representation`` expose what that contrast pulls together. What CTR models share with the
rerankers (config, feature embedding, registry mechanics, layers) is in ``recommender.features``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from kg_store.registry import Registry
from recommender.ctr.registry import CTR_BACKBONES
from recommender.features.batch import CTRBatch, FeatureSpec
from recommender.features.model import BackboneConfig, FeatureModel, create_feature_model

__all__ = ["BackboneConfig", "CTRConfig", "CTRModel", "build_ctr_model", "ctr_model_class"]


@dataclass(frozen=True)
class CTRConfig(BackboneConfig):
    mlp_dims: tuple[int, ...] = (200, 80)   # the DNN's hidden layers, ReLU + dropout


class CTRModel(FeatureModel):
    """Base of the CTR backbones: logits per (user, target item) sample, BCE by default."""

    config_class: ClassVar[type[CTRConfig]] = CTRConfig
    registry: ClassVar[Registry] = CTR_BACKBONES

    def forward(self, batch: CTRBatch) -> torch.Tensor:
        """Logits, (B,)."""
        raise NotImplementedError

    def task_loss(self, batch: CTRBatch) -> dict[str, torch.Tensor]:
        """The backbone's own objective; ``task`` is its weighted sum. Default: mean BCE with logits."""
        bce = F.binary_cross_entropy_with_logits(self(batch), batch.labels.float())
        return {"bce": bce, "task": bce}

    def predict(self, batch: CTRBatch) -> torch.Tensor:
        """Click probabilities, (B,)."""
        return torch.sigmoid(self(batch))

    def item_representation(self, batch: CTRBatch) -> torch.Tensor:
        """(B, D): adapted target-item text (ID embedding when text is off)."""
        return self.features.item_representation(batch.items, batch.item_text)

    def field_vectors(self, batch: CTRBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, n_user_fields, D) and (B, n_item_fields, D) of the sample."""
        f = self.features
        return (f.user(batch.users, batch.user_fields, batch.user_text),
                f.item(batch.items, batch.item_fields, batch.genres, batch.item_text))


def ctr_model_class(model: str | type[CTRModel]) -> type[CTRModel]:
    """The class of a registered name (or the class itself)."""
    return CTR_BACKBONES.class_of(model)


def build_ctr_model(model: str | type[CTRModel] | CTRModel, spec: FeatureSpec | None, **overrides: Any) -> CTRModel:
    """The backbone ``model`` (a registered name, a class, or an instance returned as is) with its
    class defaults and ``overrides``."""
    return create_feature_model(CTR_BACKBONES, model, spec, overrides)
