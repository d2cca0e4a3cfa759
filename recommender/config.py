"""Typed configuration for ranking models and their training.

Each model has its own config dataclass (``recommender.models.configs``, found through
``recommender.registry``); training settings are ``TrainConfig``, shared by every model.
Precedence, lowest first: the dataclass defaults -> the dataset's defaults (``DATASET_DEFAULTS``)
-> the model's defaults (``MODEL_DEFAULTS``: a model's published settings beat a dataset-wide one,
e.g. KGIN's batch of 1,024) -> a named preset (``PRESETS``, e.g. ``reference``) -> explicit
overrides (Python keyword arguments or CLI options). ``resolve_config`` applies exactly
that order; a setting neither the model's config nor ``TrainConfig`` has is an error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from recommender import registry
from recommender.errors import ModelConfigError
from recommender.schedules import MaskSchedule

if TYPE_CHECKING:
    from recommender.models.configs import RankingConfig


@dataclass(frozen=True)
class TrainConfig:
    # valid: pick the epoch on a validation split carved from train, score test once;
    # refit: the same, then retrain on all of train for the chosen epoch count and score test once;
    # test-selected: the paper's protocol (all of train, best epoch picked on test), labelled as such
    protocol: str = "valid"
    epochs: int = 200
    batch_size: int = 2048
    lr: float = 1e-3
    seed: int = 2024
    device: str = "auto"             # auto = CUDA when present
    threads: int | None = None       # CPU threads (None: torch's default)
    eval_every: int = 1
    patience: int = 10               # evaluations without improvement before stopping
    min_epochs: int = 0              # early stopping may not end a run before this many epochs
    select_metric: str = "recall@50" # on the validation split, never on test
    ks: tuple[int, ...] = (20, 50, 100)
    valid_ratio: float = 1 / 8       # the paper's 7:1:2 split carves 1/8 of train
    eval_batch_size: int = 1024
    # record test metrics at every evaluation too (never used for selection), to report the
    # paper's protocol of picking the best epoch on test, clearly labelled as such
    track_test: bool = False
    # none | compile | cuda-graph: the training step compiled, or replayed as a CUDA graph (recommender.capture)
    capture: str = "none"


MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "bprmf": {"l2": 1e-4, "lr": 5e-3},
    # the settings behind every LightGCN figure in the docs; a validation grid (dbbook2014, seed 2024,
    # refit, bench/results/table1_variants.jsonl) ranks them last of four: valid R@50 0.3902 here,
    # 0.4019 at lr 1e-3, 0.4048 at 3 layers and lr 1e-3 (the authors'), 0.4061 at 3 layers and lr 5e-3
    "lightgcn": {"n_layers": 2, "lr": 5e-3},
    # lambda and lr picked on the validation split of dbbook2014 (0.2 / 2e-3 gave valid R@50 ~0.30)
    "simgcl": {"n_layers": 2, "cl_weight": 0.02, "noise_eps": 0.1, "temperature": 0.2, "lr": 1e-3},
    # the authors' conf/SGL.ini (wujcan/SGL-Torch): aug_type ED, ssl_ratio 0.1, ssl_temp 0.2, ssl_reg 0.1,
    # reg 1e-4, 3 layers, lr 1e-3, batch 2048 (both losses and the L2 are batch sums there: the same ratios)
    "sgl": {"augmentation": "edge", "drop_ratio": 0.1, "temperature": 0.2, "cl_weight": 0.1, "l2": 1e-4,
            "n_layers": 3, "lr": 1e-3, "batch_size": 2048},
    # the KGAT authors' CKE (xiangwang1223/knowledge_graph_attention_network, Model/utility/parser.py):
    # embed 64, kge 64, KG batch 2048, regs 1e-5 on a batch *sum* at batch 1024 (= l2 1e-2 on kgrec's
    # batch mean); batch 2048 is RecBole's CKE default; lr 1e-3 (RecBole's) chosen on the validation split
    # (dbbook2014, seed 2024, bench/results/table1_variants.jsonl): valid R@50 0.3093 / 0.3481 / 0.3491 at
    # lr 1e-4 (the KGAT authors' default) / 5e-4 / 1e-3
    "cke": {"relation_dim": 64, "kg_batch_size": 2048, "kg_weight": 1.0, "l2": 1e-2, "lr": 1e-3, "batch_size": 2048},
    # RecBole's CFKG defaults (margin 1, Adam lr 1e-3, batch 2048, no L2; KG batch as large as the
    # interaction batch) with its "transe" score, the translation distance of the KGAT authors' CFKG
    # min_epochs 60, chosen on the validation split (dbbook2014, seed 2024): valid R@50 peaks at
    # epoch 12 (0.221), dips to 0.206 by epoch 30 while the loss keeps falling, and passes its peak
    # at epoch 42 on its way to 0.337 at epoch 114; CIKGRec's 30 ended the run in that dip (0.215)
    "cfkg": {"score_function": "distance", "margin": 1.0, "kg_batch_size": 0, "l2": 0.0, "lr": 1e-3,
             "batch_size": 2048, "min_epochs": 60},
    # the authors' default arguments (HKUDS/KGRec, utils/parser.py parse_args_kgsr: lr 1e-4, batch 1024,
    # l2 1e-5, context_hops 2, node_dropout_rate 0.5, mess_dropout_rate 0.1, mae_coef 0.1, mae_msize 256,
    # cl_coef 0.01, cl_tau 1.0, cl_drop_ratio 0.5): the values modules/KGRec.py also fixes for last-fm;
    # DBbook2014 is none of its datasets
    "kgrec-sr": {"lr": 1e-4, "batch_size": 1024, "l2": 1e-5, "n_layers": 2, "kg_keep_rate": 0.5,
                 "interaction_keep_rate": 0.5, "message_dropout": 0.1, "mae_weight": 0.1, "mask_size": 256,
                 "cl_weight": 0.01, "temperature": 1.0, "cl_drop_ratio": 0.5},
    # loss weights, layers and mask schedule are the reference's for DBbook2014; lr 2e-3 and batch
    # 2048 are kgrec's (the reference trains with lr 8e-4 and batch 1024, and uses 2e-3 for TransE):
    # PRESETS["reference"] has the reference's optimizer settings
    # min_epochs 30: on dbbook2014's validation split (seed 2024) R@50 peaks at epoch 8, dips for four
    # epochs while the loss falls fastest, and passes that peak at epoch 13 on its way to epoch 87;
    # a run on all of train stopped in that dip at epoch 14 with patience 10
    # TransE as the reference trains it (forward and inverse KG triples plus interaction triples both
    # ways, squared L2, 4,096 random heads per step): chosen on validation over three seeds
    # (refit, dbbook2014: valid R@50 0.4302 +- 0.0041 against 0.4232 for forward KG triples with L2)
    "cikgrec": {"n_layers": 3, "l2": 1e-5, "lr": 2e-3, "bpr_weight": 1.5, "cl_weight": 0.01, "reconstruction_weight": 0.03,
                "mask": MaskSchedule("exponential", alpha=0.05, omega=0.75, horizon=150), "self_loops": True,
                "min_epochs": 30, "transe_triples": "reference", "transe_distance": "squared_l2",
                "transe_steps": "reference", "transe_batch_size": 4096},
    # the authors' default arguments (huangtinglin/Knowledge_Graph_based_Intent_Network, utils/parser.py)
    # and README commands: dim 64, lr 1e-4, l2 1e-5, sim_regularity 1e-4, batch 1024, 4 intents,
    # 3 hops, node dropout 0.5, message dropout 0.1, distance-correlation independence
    "kgin": {"lr": 1e-4, "batch_size": 1024, "l2": 1e-5, "sim_regularity": 1e-4, "n_factors": 4,
             "context_hops": 3, "node_dropout": 0.5, "mess_dropout": 0.1, "independence": "distance"},
    # the authors' README commands and Model/utility/parser.py (xiangwang1223/knowledge_graph_attention_network,
    # as in LunaBlack/KGAT-pytorch's parser_kgat.py): lr 1e-4 for both phases, CF batch 1024, KG batch 2048,
    # regs [1e-5, 1e-5], embed 64, kge 64, layers [64, 32, 16], message dropout 0.1 (KGATConfig's defaults)
    # min_epochs 30, chosen on the validation split (dbbook2014): without a floor early stopping ends at
    # epoch 28 on an early plateau (valid R@50 0.254, best epoch 17); held to 30 epochs it goes on to
    # 0.284 / 0.289 / 0.305 (seeds 2024-2026, best epochs 44-76)
    "kgat": {"lr": 1e-4, "batch_size": 1024, "l2": 1e-5, "kg_l2": 1e-5, "kg_lr": 1e-4, "kg_batch_size": 2048,
             "min_epochs": 30},
    # the authors' defaults (yuh-yang/KGCL-SIGIR22, code/parse.py and code/world.py): lr 1e-3, batch 2048,
    # 3 layers, decay 1e-4, kgc_temp 0.2, ssl_reg 0.1, kg_p_drop 0.5, ui_p_drop 0.1, 10 entities per item;
    # their decay multiplies the batch mean of the L2 while BPR is a batch *sum*: relative to kgrec's
    # mean BPR that is l2 = 1e-4 / 2048
    "kgcl": {"lr": 1e-3, "batch_size": 2048, "n_layers": 3, "l2": 1e-4 / 2048, "temperature": 0.2, "cl_weight": 0.1,
             "kg_drop": 0.5, "ui_drop": 0.1, "max_neighbors": 10},
    # the authors' defaults (CCIIPLab/MCCLK, utils/parser.py and modules/MCCLK.py): lr 3e-3, batch 4096,
    # l2 1e-5, 2 context hops, node dropout 0.5, message dropout 0.1, 2 LightGCN layers, 1 item-item
    # layer, k = 10, lambda_coeff 0.5, tau 0.6, each contrastive term weighted 0.001
    "mcclk": {"lr": 3e-3, "batch_size": 4096, "l2": 1e-5, "context_hops": 2, "node_dropout": 0.5, "mess_dropout": 0.1,
              "lightgcn_layers": 2, "semantic_layers": 1, "knn_k": 10, "knn_lambda": 0.5, "temperature": 0.6,
              "local_weight": 1e-3, "global_weight": 1e-3},
}
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "dbbook2014": {"batch_size": 2048},
}
# named bundles of settings, applied after the model and dataset defaults and before explicit overrides
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cikgrec": {
        # every fidelity option as the reference code has it (config/dbbook2014.json, models/Model.py)
        "reference": {"lr": 8e-4, "batch_size": 1024, "replace_rate": 0.15, "reconstruction_edge_dropout": 0.2,
                      "projection_init": "xavier", "contrast_mode": "reference", "transe_triples": "reference",
                      "transe_distance": "squared_l2", "transe_steps": "reference", "transe_batch_size": 4096,
                      "patience": 10},
    },
}
CHOICES: dict[str, tuple[str, ...]] = {
    "protocol": ("valid", "refit", "test-selected"),
    "augmentation": ("edge", "node"),                 # SGL's view operator
    "score_function": ("distance", "inner_product"),  # CFKG's triple score
    "projection_init": ("torch", "xavier"),
    "contrast_mode": ("batch", "paper", "reference"),
    "transe_triples": ("forward", "reference"),
    "transe_distance": ("l2", "squared_l2"),
    "transe_steps": ("epoch", "reference"),
    "capture": ("none", "compile", "cuda-graph"),
}


TRAIN_FIELDS = frozenset(f.name for f in fields(TrainConfig))


def model_config_class(model: str | type) -> type[RankingConfig]:
    """The config dataclass of a model given by registered name or by class (its ``config_class``)."""
    return registry.config_class(model) if isinstance(model, str) else model.config_class


def _split(model: str | type, overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    model_keys = model_config_class(model).field_names()
    unknown = set(overrides) - model_keys - TRAIN_FIELDS
    if unknown:
        raise ModelConfigError(f"unknown setting(s) for {registry.model_label(model)}: {', '.join(sorted(unknown))} "
                               f"(its settings: {', '.join(sorted(model_keys))}; training settings apply to every model)")
    return ({k: v for k, v in overrides.items() if k in model_keys},
            {k: v for k, v in overrides.items() if k in TRAIN_FIELDS})


def _check_choices(settings: dict[str, Any]) -> None:
    for name, allowed in CHOICES.items():
        if name in settings and settings[name] not in allowed:
            raise ModelConfigError(f"{name} must be one of {', '.join(allowed)}; got {settings[name]!r}")
    if not 0 <= settings.get("replace_rate", 0.0) < 1:
        raise ModelConfigError(f"replace_rate must be in [0, 1); got {settings['replace_rate']}")
    if not 0 <= settings.get("reconstruction_edge_dropout", 0.0) < 1:
        raise ModelConfigError(
            f"reconstruction_edge_dropout must be in [0, 1); got {settings['reconstruction_edge_dropout']}")


def preset_settings(model: str | type, preset: str | None) -> dict[str, Any]:
    if preset is None:
        return {}
    name = registry.model_label(model)
    presets = PRESETS.get(name, {})
    if preset not in presets:
        known = ", ".join(sorted(presets)) or "none"
        raise ModelConfigError(f"No preset {preset!r} for {name}; presets: {known}.")
    return presets[preset]


def resolve_config(model: str | type, dataset: str, preset: str | None = None,
                   **overrides: Any) -> tuple[RankingConfig, TrainConfig]:
    """(the model's config, TrainConfig) for ``model`` (a registered name or a ``RankingModel`` class)."""
    name = registry.model_label(model)
    merged = {**DATASET_DEFAULTS.get(dataset, {}), **MODEL_DEFAULTS.get(name, {}), **preset_settings(model, preset),
              **{k: v for k, v in overrides.items() if v is not None}}
    _check_choices(merged)
    model_part, train_part = _split(model, merged)
    train_config = replace(TrainConfig(), **train_part)
    metric, _, cutoff = train_config.select_metric.partition("@")
    if not cutoff.isdigit() or int(cutoff) not in train_config.ks:
        raise ModelConfigError(f"select_metric {train_config.select_metric!r} needs its cutoff among ks "
                               f"{tuple(train_config.ks)}.")
    return model_config_class(model)(**model_part), train_config


def config_dict(model_config: RankingConfig, train_config: TrainConfig) -> dict[str, Any]:
    train = asdict(train_config)
    if train["capture"] == "none":   # added after runs were keyed (run_key): left out at its default, their keys stay
        del train["capture"]
    return {"model": asdict(model_config), "train": train}
