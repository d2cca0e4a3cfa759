"""The base every CTR model and reranker builds on: a typed config, the feature embedding with the
text adapter, Eq. 4's loss with the knowledge contrast, and a registry per kind.

``recommender.ctr`` and ``recommender.rerank`` each subclass ``FeatureModel`` with their own
contract (logits per sample, logits per candidate list) and registry; neither imports the other.
Config and defaults live on the class (``config_class``); adding a backbone means writing its class
with a ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch
from torch import nn

from kg_store.registry import Registry
from recommender.errors import ModelConfigError
from recommender.features.adapter import FeatureEmbedding
from recommender.features.batch import FeatureSpec
from recommender.features.contrast import with_contrast


@dataclass(frozen=True)
class BackboneConfig:
    """Settings every CTR and rerank backbone has; each backbone subclasses it with its own."""

    embedding_dim: int = 16          # D: every field vector, and the adapter's output
    dropout: float = 0.1             # in the DNN (and attention blocks)
    use_text: bool = True            # read text vectors when the spec has them (spec.text_dim > 0)
    adapter_hidden: int = 128        # hidden width of the two-layer text adapter (§3.3)
    contrast_weight: float = 0.004   # w of Eq. 4; used when partners are passed, 0 turns it off
    temperature: float = 0.03        # tau of Eq. 3
    contrast_reduction: str = "sum"  # sum over the batch as in Eq. 3, or mean
    # not in the paper: score the contrast on a 2-layer projection of the representations (as
    # SimCLR does) instead of on the adapter's output itself, which the backbone also reads
    contrast_head: bool = False

    def __post_init__(self) -> None:
        if self.embedding_dim < 1 or self.adapter_hidden < 1:
            raise ModelConfigError("embedding_dim and adapter_hidden must be >= 1")
        if not 0 <= self.dropout < 1 or self.temperature <= 0 or self.contrast_weight < 0:
            raise ModelConfigError("need 0 <= dropout < 1, temperature > 0, contrast_weight >= 0")
        if self.contrast_reduction not in ("sum", "mean"):
            raise ModelConfigError(f"contrast_reduction must be sum or mean, not {self.contrast_reduction!r}")


def make_config(config_class: type[BackboneConfig], overrides: dict[str, Any]) -> BackboneConfig:
    """The class's defaults with ``overrides``; an unknown key names the ones that exist."""
    known = {f.name for f in fields(config_class)}
    unknown = set(overrides) - known
    if unknown:
        raise ModelConfigError(f"Unknown setting(s) {sorted(unknown)} for {config_class.__name__}; "
                               f"known: {', '.join(sorted(known))}.")
    return config_class(**overrides)


class FeatureModel(nn.Module):
    """What CTR models and rerankers share: a typed config checked at construction, the feature
    embedding with the text adapter, Eq. 4's loss with contrast, the user hook, and a registry per
    kind (each kind's base sets ``registry``; a subclass with a ``name`` is registered there)."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[BackboneConfig]] = BackboneConfig
    registry: ClassVar[Registry | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name and cls.registry is not None:
            cls.registry.register(cls.name, cls)

    def __init__(self, spec: FeatureSpec, config: BackboneConfig | None = None):
        super().__init__()
        config = self.config_class() if config is None else config
        if not isinstance(config, self.config_class):
            raise ModelConfigError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.spec, self.config = spec, config
        self.text_on = config.use_text and spec.text_dim > 0
        self.features = FeatureEmbedding(spec, config.embedding_dim, self.text_on, config.adapter_hidden)
        dim = config.embedding_dim
        self.contrast_head = (nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
                              if config.contrast_head else None)

    def task_loss(self, batch: Any) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, batch: Any, partners: Any = None) -> dict[str, torch.Tensor]:
        """Eq. 4: task loss + w * (l_uu + l_ii) when ``partners`` (the SWING positives) are given."""
        return with_contrast(self.task_loss(batch), self, batch, partners, self.config.contrast_weight,
                             self.config.temperature, self.config.contrast_reduction)

    def user_representation(self, batch: Any) -> torch.Tensor:
        """(B, D): adapted user text (ID embedding when text is off)."""
        return self.features.user_representation(batch.users, batch.user_text)

    def contrast_projection(self, vectors: torch.Tensor) -> torch.Tensor:
        """What InfoNCE scores: the representations, or their projection with ``contrast_head``. (N, D)."""
        return vectors if self.contrast_head is None else self.contrast_head(vectors)


def create_feature_model(registry: Registry, model: str | type[FeatureModel] | FeatureModel,
                         spec: FeatureSpec | None, overrides: dict[str, Any]) -> FeatureModel:
    """A backbone of ``registry`` from a name, a class or an instance (returned as is: it takes no
    spec or overrides); a class gets its config defaults with ``overrides``."""
    if isinstance(model, FeatureModel):
        if spec is not None or overrides:
            raise ModelConfigError(f"A spec or settings were given with a {type(model).__name__} instance; "
                                   "pass a name or class instead.")
        return model
    if spec is None:
        raise ModelConfigError(f"Building a {registry.kind} needs the data's FeatureSpec.")
    cls = registry.class_of(model)
    return cls(spec, make_config(cls.config_class, overrides))
