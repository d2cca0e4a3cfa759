"""Each ranking model's config dataclass, on one base; numpy and torch free.

A model reads only its own settings: BPR-MF the embedding and its L2 weight, LightGCN its layers,
SimGCL its contrastive view, CIKGRec every part of its objective and the switches of its fidelity
options and ablations. Kept apart from the model code so that ``resolve_config`` and the command
line (which offers each model only the options its config has) run without importing torch.
``recommender.config.MODEL_DEFAULTS`` then overrides these dataclass defaults per model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from recommender.schedules import MaskSchedule


@dataclass(frozen=True)
class RankingConfig:
    """What every ranking model has: its embedding size and the L2 weight on batch embeddings."""

    embedding_dim: int = 64          # D, as in the paper
    l2: float = 1e-4                 # weight of the L2 penalty on batch embeddings

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RankingConfig:
        """The config a saved run recorded (JSON values: nested configs as dicts, tuples as lists).

        Keys this class lacks are dropped: runs saved before each model had its own config recorded
        one shared config with every model's settings, of which this model read only its own.
        """
        defaults = cls()
        kept: dict[str, Any] = {}
        for name in cls.field_names() & set(values):
            value, default = values[name], getattr(defaults, name)
            if dataclasses.is_dataclass(default) and isinstance(value, dict):
                value = type(default)(**value)
            elif isinstance(default, tuple) and isinstance(value, list):
                value = tuple(value)
            kept[name] = value
        return cls(**kept)


@dataclass(frozen=True)
class BPRMFConfig(RankingConfig):
    """BPR-MF: free user and item embeddings; nothing beyond the common settings."""


@dataclass(frozen=True)
class LightGCNConfig(RankingConfig):
    n_layers: int = 2                # l: propagation layers


@dataclass(frozen=True)
class SimGCLConfig(LightGCNConfig):
    noise_eps: float = 0.1           # gamma: perturbation norm of the contrastive views
    temperature: float = 0.2         # tau
    cl_weight: float = 0.1           # lambda of the contrastive term


@dataclass(frozen=True)
class CIKGRecConfig(SimGCLConfig):
    """CIKGRec (Eq. 3-12): SimGCL's contrast fields are Eq. 8-9's (``cl_weight`` is lambda_3)."""

    # interest reconstruction (CIKGRec Eq. 3-7)
    mask: MaskSchedule = field(default_factory=MaskSchedule)
    eta: float = 2.0                 # scaling factor of the scaled cosine error
    reconstruction_weight: float = 0.1   # lambda_2
    bpr_weight: float = 1.0          # lambda_1
    # TransE on the KG (Eq. 12), alternating with the main objective, with its own optimizer
    transe_batch_size: int = 8192
    kg_lr: float = 2e-3
    transe_l2: float = 1e-3
    self_loops: bool = False         # add I to the propagation graph before normalizing
    # fidelity options: each names one difference from the reference code (laowangzi/CIKGRec);
    # these defaults are kgrec's own (CIKGRec's MODEL_DEFAULTS take the reference's TransE, chosen on
    # validation), ``PRESETS["cikgrec"]["reference"]`` switches all of them to the reference's
    replace_rate: float = 0.0        # share of masked interests given another interest's embedding, not the token
    reconstruction_edge_dropout: float = 0.0  # undirected edge dropout (+ self-loops) of the reconstruction graph
    projection_init: str = "torch"   # torch (nn.Linear's default) | xavier: the encoder-to-decoder projection
    contrast_mode: str = "batch"     # batch | paper (Eq. 8-9 over all users and items) | reference (as coded)
    transe_triples: str = "forward"  # forward: KG triples | reference: + inverse KG + user->item + item->user
    transe_distance: str = "l2"      # l2 (Eq. 12) | squared_l2 (the reference's)
    transe_steps: str = "epoch"      # epoch: one pass over the triples | reference: n_kg_triples // 4096 random heads
    # switches for the paper's ablations
    use_interests: bool = True       # off = "w/o UIK": interests leave the graph and the views
    use_kg: bool = True
    use_reconstruction: bool = True  # off = "w/o UIR"
    use_contrastive: bool = True     # off = "w/o CL"
    use_transe: bool = True
