"""The one list of ranking models: name -> where the model class and its config class live.

Everything that needs a ranking-model name reads this table: ``kgrec train <model>`` (one command
per name), ``resolve_config`` (the model's config class), the node property its vectors are stored
under (``kg_store.embeddings``), serving's cold start and the test battery. Importing this module
loads no torch: a class is named as ``"module:Class"`` and imported on first use, so the command line,
the graph store and serving can list models and their properties without the model code.

The metadata is declared in the table rather than read from the classes for that reason: the
embedding property (what the graph stores, and what serving reads back) and the config class (a
torch-free dataclass, which the command line's options and ``resolve_config`` need) are known
before any model is imported. A plugin registers its class directly::

    register_model("tinymf", TinyMF)              # config: TinyMF.config_class; vectors: emb_tinymf
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg_store.errors import ConfigError
from recommender.errors import UnknownModelError

if TYPE_CHECKING:
    from recommender.models.base import RankingModel
    from recommender.models.configs import RankingConfig

#: a name doubles as part of a node property and an index name, so it is a plain identifier
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
CONFIGS = "recommender.models.configs"


@dataclass(frozen=True)
class ModelSpec:
    """One ranking model: its class and config class (``"module:Class"`` or the class itself), the
    node property its final vectors are stored under, and a one-line summary for ``kgrec train``."""

    name: str
    target: str | type
    config: str | type
    embedding_property: str
    summary: str = "top-K ranking"


_BUILTIN = (
    ModelSpec("bprmf", "recommender.models.bprmf:BPRMF", f"{CONFIGS}:BPRMFConfig", "emb_bprmf",
              "matrix factorization with BPR"),
    ModelSpec("lightgcn", "recommender.models.lightgcn:LightGCN", f"{CONFIGS}:LightGCNConfig", "emb_lightgcn",
              "graph convolution on the interactions"),
    ModelSpec("simgcl", "recommender.models.lightgcn:SimGCL", f"{CONFIGS}:SimGCLConfig", "emb_simgcl",
              "LightGCN with noise-perturbed contrastive views"),
    ModelSpec("cikgrec", "recommender.models.cikgrec:CIKGRec", f"{CONFIGS}:CIKGRecConfig", "emb_cikgrec",
              "LightGCN on the interest knowledge graph"),
)
_REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _BUILTIN}


def model_names() -> list[str]:
    """Every registered ranking model, sorted."""
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The entry of ``name``; an :class:`UnknownModelError` lists the registered names otherwise."""
    if name not in _REGISTRY:
        raise UnknownModelError(f"No ranking model '{name}'; available: {', '.join(model_names())}.")
    return _REGISTRY[name]


def _load(target: str | type) -> Any:
    if isinstance(target, type):
        return target
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def model_class(name: str) -> type[RankingModel]:
    """The class of ``name``, imported on first use."""
    return _load(model_spec(name).target)


def config_class(name: str) -> type[RankingConfig]:
    """The config dataclass of ``name`` (torch-free for the built-in models)."""
    return _load(model_spec(name).config)


def embedding_property(name: str) -> str:
    """The node property ``name``'s final vectors are stored under (``User``, ``Item``, ``Interest``)."""
    return model_spec(name).embedding_property


def register_model(name: str, target: str | type, *, config: str | type | None = None,
                   embedding_property: str | None = None, summary: str = "top-K ranking") -> ModelSpec:
    """Add a ranking model: ``target`` is its class or ``"module:Class"``.

    ``config`` defaults to the class's ``config_class`` (read now for a class; required with a
    string, so that the config is known without importing the model), ``embedding_property`` to
    ``emb_<name>``. A taken name is refused: :func:`unregister_model` it first.
    """
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"Model name {name!r} must match {NAME_PATTERN.pattern} (it names node properties).")
    if name in _REGISTRY:
        raise ConfigError(f"A ranking model named '{name}' is registered already; unregister it first.")
    if isinstance(target, type):
        declared = getattr(target, "name", "")
        if declared and declared != name:
            raise ConfigError(f"{target.__name__}.name is '{declared}', not '{name}'.")
        config = config or target.config_class
    elif config is None:
        raise ConfigError(f"Give the config class of '{name}' (config='module:Class') with a class path.")
    prop = embedding_property or f"emb_{name}"
    if not NAME_PATTERN.match(prop):
        raise ConfigError(f"Embedding property {prop!r} must match {NAME_PATTERN.pattern}.")
    spec = ModelSpec(name, target, config, prop, summary)
    _REGISTRY[name] = spec
    return spec


def unregister_model(name: str) -> None:
    """Remove ``name`` from the table (a plugin's or a test's registration); unknown names are ignored."""
    _REGISTRY.pop(name, None)


def model_label(model: str | type) -> str:
    """The name a model is reported under: its name, a class's ``name``, else its class name."""
    if isinstance(model, str):
        return model
    return getattr(model, "name", "") or model.__name__.lower()


def model_name(model: str | type) -> str:
    """The registered name of a model given by name or by registered class.

    Runs are recorded under a name and rebuilt from it (``kgrec evaluate``, serving), so a class
    must be registered: an unregistered one is refused with the line that registers it.
    """
    if isinstance(model, str):
        model_spec(model)
        return model
    if not isinstance(model, type):
        raise TypeError(f"Give the ranking model by name or class, not a {type(model).__name__} instance: it is "
                        "built from the data's sizes, once per seed and protocol phase.")
    name = getattr(model, "name", "") or ""
    if name in _REGISTRY and model_class(name) is model:
        return name
    raise UnknownModelError(f"{model.__name__} is not a registered ranking model: "
                            f"register_model({name or '<name>'!r}, {model.__name__}) first.")
