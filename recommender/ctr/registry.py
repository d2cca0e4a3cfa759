"""The CTR backbones by name: the one list that ``kgrec train ctr --model``, :func:`kgrec.train`
and the CTR trainer read.

Importing this module imports no torch; a backbone's module is imported when its name is used.
A ``CTRModel`` subclass with a ``name`` registers itself here when its class is defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kg_store.registry import Registry, Target
from recommender.errors import UnknownModelError

if TYPE_CHECKING:
    from recommender.ctr.models.base import CTRModel
    from recommender.features.batch import FeatureSpec

CTR_BACKBONES: Registry[CTRModel] = Registry("CTR model", {
    "deepfm": "recommender.ctr.models.deepfm:DeepFM",
    "din": "recommender.ctr.models.din:DIN",
    "dien": "recommender.ctr.models.dien:DIEN",
}, error=UnknownModelError)


def names() -> list[str]:
    return CTR_BACKBONES.names()


def get(name: str) -> type[CTRModel]:
    """The backbone class of ``name``; an unknown name lists the known ones."""
    return CTR_BACKBONES.get(name)


def register(name: str, target: Target) -> None:
    """Add a backbone as ``"module:Class"`` (imported when named) or as a class."""
    CTR_BACKBONES.register(name, target)


def create(model: str | type[CTRModel] | CTRModel, spec: FeatureSpec | None = None, **overrides: Any) -> CTRModel:
    """A backbone from a name, a class or an instance; ``overrides`` change its config's defaults."""
    from recommender.ctr.models.base import build_ctr_model

    return build_ctr_model(model, spec, **overrides)
