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

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kg_store.errors import ConfigError
from kg_store.registry import Registry, load_target
from recommender.errors import UnknownModelError

if TYPE_CHECKING:
    from recommender.models.base import RankingModel
    from recommender.models.configs import RankingConfig

#: a name doubles as part of a node property and an index name, so it is a plain identifier
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
PROPERTY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
CONFIGS = "recommender.models.configs"
#: what a model's training draws on, beyond the interactions (the Models page's columns)
USES = ("kg", "interests", "contrast")


@dataclass(frozen=True)
class ModelSpec:
    """One ranking model: its class and config class (``"module:Class"`` or the class itself), the
    node property its final vectors are stored under, a one-line summary for ``kgrec train``, the
    paper it implements and what it uses beyond the interactions (a subset of :data:`USES`)."""

    name: str
    target: str | type
    config: str | type
    embedding_property: str
    summary: str = "top-K ranking"
    paper: str = ""
    uses: tuple[str, ...] = ()
    #: "dot": a user's score for an item is the dot product of their final vectors (what serving's
    #: cold start assumes); "distance": the model scores otherwise (CFKG's translation distance)
    score: str = "dot"


def _spec(name: str, target: str, config: str, summary: str, paper: str, *uses: str, score: str = "dot") -> ModelSpec:
    return ModelSpec(name, target, f"{CONFIGS}:{config}", f"emb_{name.replace('-', '_')}", summary, paper, uses,
                     score)


_M = "recommender.models"
_BUILTIN = (
    _spec("bprmf", f"{_M}.bprmf:BPRMF", "BPRMFConfig", "matrix factorization with BPR",
          "Rendle et al., UAI 2009"),
    _spec("lightgcn", f"{_M}.lightgcn:LightGCN", "LightGCNConfig", "graph convolution on the interactions",
          "He et al., SIGIR 2020"),
    _spec("sgl", f"{_M}.sgl:SGL", "SGLConfig", "LightGCN with edge- or node-dropout contrastive views",
          "Wu et al., SIGIR 2021", "contrast"),
    _spec("simgcl", f"{_M}.lightgcn:SimGCL", "SimGCLConfig", "LightGCN with noise-perturbed contrastive views",
          "Yu et al., SIGIR 2022", "contrast"),
    _spec("cke", f"{_M}.cke:CKE", "CKEConfig", "matrix factorization with TransR item knowledge",
          "Zhang et al., KDD 2016", "kg"),
    _spec("cfkg", f"{_M}.cfkg:CFKG", "CFKGConfig", "TransE on the interactions and the KG as one graph",
          "Ai et al., Algorithms 2018", "kg", score="distance"),
    _spec("kgat", f"{_M}.kgat:KGAT", "KGATConfig", "attentive propagation on the collaborative KG",
          "Wang et al., KDD 2019", "kg"),
    _spec("kgin", f"{_M}.kgin:KGIN", "KGINConfig", "user intents over relation paths",
          "Wang et al., WWW 2021", "kg"),
    _spec("kgcl", f"{_M}.kgcl:KGCL", "KGCLConfig", "KG-augmented contrast guided by KG consistency",
          "Yang et al., SIGIR 2022", "kg", "contrast"),
    _spec("mcclk", f"{_M}.mcclk:MCCLK", "MCCLKConfig", "cross-view contrast of structural, collaborative and "
          "semantic views", "Zou et al., SIGIR 2022", "kg", "contrast"),
    _spec("kgrec-sr", f"{_M}.kgrec_sr:KGRecSR", "KGRecSRConfig", "KG rationalization with masked "
          "autoencoding and contrast (KGRec)", "Yang et al., KDD 2023", "kg", "contrast"),
    _spec("cikgrec", f"{_M}.cikgrec:CIKGRec", "CIKGRecConfig", "LightGCN on the interest knowledge graph",
          "Hu et al., AAAI 2025", "kg", "interests", "contrast"),
)
#: the classes, by name (a generic :class:`~kg_store.registry.Registry`); ``_SPECS`` holds the rest
RANKING_MODELS: Registry[RankingModel] = Registry("ranking model", {s.name: s.target for s in _BUILTIN},
                                                  error=UnknownModelError)
_SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in _BUILTIN}


def model_names() -> list[str]:
    """Every registered ranking model, sorted."""
    return RANKING_MODELS.names()


def model_spec(name: str) -> ModelSpec:
    """The entry of ``name``; an :class:`UnknownModelError` lists the registered names otherwise."""
    if name not in _SPECS:
        raise UnknownModelError(f"No ranking model '{name}'; available: {', '.join(model_names())}.")
    return _SPECS[name]


def model_class(name: str) -> type[RankingModel]:
    """The class of ``name``, imported on first use."""
    model_spec(name)
    return RANKING_MODELS.get(name)


def config_class(name: str) -> type[RankingConfig]:
    """The config dataclass of ``name`` (torch-free for the built-in models)."""
    return load_target(model_spec(name).config)


def embedding_property(name: str) -> str:
    """The node property ``name``'s final vectors are stored under (``User``, ``Item``, ``Interest``)."""
    return model_spec(name).embedding_property


def register_model(name: str, target: str | type, *, config: str | type | None = None,
                   embedding_property: str | None = None, summary: str = "top-K ranking",
                   paper: str = "", uses: tuple[str, ...] = ()) -> ModelSpec:
    """Add a ranking model: ``target`` is its class or ``"module:Class"``.

    ``config`` defaults to the class's ``config_class`` (read now for a class; required with a
    string, so that the config is known without importing the model), ``embedding_property`` to
    ``emb_<name>`` (dashes as underscores). A taken name is refused: :func:`unregister_model` it first.
    """
    if not NAME_PATTERN.match(name):
        raise ConfigError(f"Model name {name!r} must match {NAME_PATTERN.pattern} (it names node properties).")
    if name in _SPECS:
        raise ConfigError(f"A ranking model named '{name}' is registered already; unregister it first.")
    clash = [taken for taken in _SPECS if taken.replace("-", "_") == name.replace("-", "_")]
    if clash:   # vector index names write '-' as '_'
        raise ConfigError(f"Model name '{name}' differs from '{clash[0]}' only in '-' against '_'; pick another.")
    if isinstance(target, type):
        declared = getattr(target, "name", "")
        if declared and declared != name:
            raise ConfigError(f"{target.__name__}.name is '{declared}', not '{name}'.")
        config = config or target.config_class
    elif config is None:
        raise ConfigError(f"Give the config class of '{name}' (config='module:Class') with a class path.")
    prop = embedding_property or f"emb_{name.replace('-', '_')}"
    if not PROPERTY_PATTERN.match(prop):
        raise ConfigError(f"Embedding property {prop!r} must match {PROPERTY_PATTERN.pattern}.")
    unknown = set(uses) - set(USES)
    if unknown:
        raise ConfigError(f"uses= names {sorted(unknown)}; known: {', '.join(USES)}.")
    spec = ModelSpec(name, target, config, prop, summary, paper, tuple(uses))
    RANKING_MODELS.register(name, target)
    _SPECS[name] = spec
    return spec


def unregister_model(name: str) -> None:
    """Remove ``name`` from the table (a plugin's or a test's registration); unknown names are ignored."""
    if _SPECS.pop(name, None) is not None:
        RANKING_MODELS.unregister(name)


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
    if name in _SPECS and model_class(name) is model:
        return name
    raise UnknownModelError(f"{model.__name__} is not a registered ranking model: "
                            f"register_model({name or '<name>'!r}, {model.__name__}) first.")
