"""Typed configuration for ranking models and their training.

Precedence, lowest first: the dataclass defaults here -> the model's defaults
(``MODEL_DEFAULTS``) -> the dataset's defaults (``DATASET_DEFAULTS``) -> explicit overrides
(Python keyword arguments or CLI options). ``resolve_config`` applies exactly that order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from recommender.errors import ModelConfigError
from recommender.schedules import MaskSchedule


@dataclass(frozen=True)
class ModelConfig:
    embedding_dim: int = 64          # D, as in the paper
    n_layers: int = 2                # l: LightGCN layers
    l2: float = 1e-4                 # weight of the L2 penalty on batch embeddings
    # contrastive learning (SimGCL, CIKGRec Eq. 8-9)
    noise_eps: float = 0.1           # gamma: SimGCL perturbation norm
    temperature: float = 0.2         # tau
    cl_weight: float = 0.1           # lambda_3 (SimGCL's lambda)
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
    # switches for the paper's ablations
    use_interests: bool = True       # off = "w/o UIK": interests leave the graph and the views
    use_kg: bool = True
    use_reconstruction: bool = True  # off = "w/o UIR"
    use_contrastive: bool = True     # off = "w/o CL"
    use_transe: bool = True


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 200
    batch_size: int = 2048
    lr: float = 1e-3
    seed: int = 2024
    device: str = "auto"             # auto = CUDA when present
    threads: int | None = None       # CPU threads (None: torch's default)
    eval_every: int = 1
    patience: int = 10               # evaluations without improvement before stopping
    select_metric: str = "recall@50" # on the validation split, never on test
    ks: tuple[int, ...] = (20, 50, 100)
    valid_ratio: float = 1 / 8       # the paper's 7:1:2 split carves 1/8 of train
    eval_batch_size: int = 1024
    # record test metrics at every evaluation too (never used for selection), to report the
    # paper's protocol of picking the best epoch on test, clearly labelled as such
    track_test: bool = False


MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "bprmf": {"l2": 1e-4, "lr": 5e-3},
    "lightgcn": {"n_layers": 2, "lr": 5e-3},
    # lambda and lr picked on the validation split of dbbook2014 (0.2 / 2e-3 gave valid R@50 ~0.30)
    "simgcl": {"n_layers": 2, "cl_weight": 0.02, "noise_eps": 0.1, "temperature": 0.2, "lr": 1e-3},
    # the reference implementation's settings for DBbook2014 (weights, rates, schedule)
    "cikgrec": {"n_layers": 3, "l2": 1e-5, "lr": 2e-3, "bpr_weight": 1.5, "cl_weight": 0.01, "reconstruction_weight": 0.03,
                "mask": MaskSchedule("exponential", alpha=0.05, omega=0.75, horizon=150), "self_loops": True},
}
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "dbbook2014": {"batch_size": 2048},
}


def _split(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    model_keys = {f.name for f in fields(ModelConfig)}
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - model_keys - train_keys
    if unknown:
        raise ModelConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return ({k: v for k, v in overrides.items() if k in model_keys},
            {k: v for k, v in overrides.items() if k in train_keys})


def resolve_config(model: str, dataset: str, **overrides: Any) -> tuple[ModelConfig, TrainConfig]:
    merged = {**MODEL_DEFAULTS.get(model, {}), **DATASET_DEFAULTS.get(dataset, {}),
              **{k: v for k, v in overrides.items() if v is not None}}
    model_part, train_part = _split(merged)
    return replace(ModelConfig(), **model_part), replace(TrainConfig(), **train_part)


def config_dict(model_config: ModelConfig, train_config: TrainConfig) -> dict[str, Any]:
    return {"model": asdict(model_config), "train": asdict(train_config)}
