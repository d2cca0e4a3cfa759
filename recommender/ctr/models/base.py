"""The contract every CTR model keeps, its registry, and the layers CTR and rerank backbones share.

A CTR model scores (user, target item) samples of a ``CTRBatch``: ``forward`` gives one logit per
sample, ``loss`` the terms the trainer logs with ``total`` to minimise (BCE with logits, plus the
knowledge contrast of ``recommender.ctr.contrast`` when partners are passed). ``user_representation``
and ``item_representation`` expose what that contrast pulls together. Config and defaults live on
the class (``config_class``); adding a backbone means writing its class with a ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from recommender.ctr.adapter import FeatureEmbedding
from recommender.ctr.batch import CTRBatch, FeatureSpec
from recommender.ctr.contrast import with_contrast
from recommender.errors import ModelConfigError, UnknownModelError


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


@dataclass(frozen=True)
class CTRConfig(BackboneConfig):
    mlp_dims: tuple[int, ...] = (200, 80)   # the DNN's hidden layers, ReLU + dropout


def make_config(config_class: type[BackboneConfig], overrides: dict[str, Any]) -> BackboneConfig:
    """The class's defaults with ``overrides``; an unknown key names the ones that exist."""
    known = {f.name for f in fields(config_class)}
    unknown = set(overrides) - known
    if unknown:
        raise ModelConfigError(f"Unknown setting(s) {sorted(unknown)} for {config_class.__name__}; "
                               f"known: {', '.join(sorted(known))}.")
    return config_class(**overrides)


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float) -> nn.Sequential:
    """Linear -> ReLU -> Dropout per hidden layer, then a plain Linear to ``out_dim``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = width
    return nn.Sequential(*layers, nn.Linear(in_dim, out_dim))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of the real positions; zero where none. (B, L, ...), (B, L) -> (B, ...)."""
    weights = mask.to(values.dtype).reshape(*mask.shape, *([1] * (values.dim() - 2)))
    return (values * weights).sum(1) / weights.sum(1).clamp(min=1)


def run_masked_gru(cell: nn.GRUCell, inputs: torch.Tensor, mask: torch.Tensor,
                   reverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A GRU that skips padded steps: the state carries over them unchanged, their outputs are 0.

    Exact for any mask (not only padding at the end), so padded inputs can never leak in.
    Shapes: (B, L, E), (B, L) -> outputs (B, L, H), final state (B, H) (zero with no real step).
    """
    state = inputs.new_zeros(len(inputs), cell.hidden_size)
    outputs = [state] * inputs.shape[1]
    if not outputs:
        return inputs.new_zeros(len(inputs), 0, cell.hidden_size), state
    steps = range(inputs.shape[1] - 1, -1, -1) if reverse else range(inputs.shape[1])
    for t in steps:
        real = mask[:, t, None]
        state = torch.where(real, cell(inputs[:, t], state), state)
        outputs[t] = state * real
    return torch.stack(outputs, dim=1), state


class FeatureModel(nn.Module):
    """What CTR models and rerankers share: a typed config checked at construction, the feature
    embedding with the text adapter, Eq. 4's loss with contrast, the user hook, and a registry per
    kind (each kind's base sets ``registry``; a subclass with a ``name`` is registered there)."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type[BackboneConfig]] = BackboneConfig
    registry: ClassVar[dict[str, type[FeatureModel]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            cls.registry[cls.name] = cls

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


def registered_class(registry: dict[str, type[FeatureModel]], name: str, kind: str) -> type[FeatureModel]:
    if name not in registry:
        raise UnknownModelError(f"No {kind} '{name}'; available: {', '.join(sorted(registry))}.")
    return registry[name]


CTR_MODELS: dict[str, type[CTRModel]] = {}


class CTRModel(FeatureModel):
    """Base of the CTR backbones: logits per (user, target item) sample, BCE by default."""

    config_class: ClassVar[type[CTRConfig]] = CTRConfig
    registry: ClassVar[dict[str, type[CTRModel]]] = CTR_MODELS

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


def ctr_model_class(name: str) -> type[CTRModel]:
    import recommender.ctr.models  # noqa: F401  (registers every CTR model)

    return registered_class(CTR_MODELS, name, "CTR model")


def build_ctr_model(name: str, spec: FeatureSpec, **overrides: Any) -> CTRModel:
    """The registered model ``name`` with its class defaults and ``overrides``."""
    cls = ctr_model_class(name)
    return cls(spec, make_config(cls.config_class, overrides))
