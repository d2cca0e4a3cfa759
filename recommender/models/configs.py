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


@dataclass(frozen=True)
class SGLConfig(LightGCNConfig):
    """SGL (Wu et al. 2021): LightGCN's BPR plus InfoNCE between two dropout views of the graph."""

    augmentation: str = "edge"       # the operators s1, s2 (Sec. 3.2.1): edge (ED) | node (ND) dropout
    drop_ratio: float = 0.1          # rho: share of edges (ED) or of users and of items (ND) dropped per view
    temperature: float = 0.2         # tau of L_ssl (Sec. 3.2.3)
    cl_weight: float = 0.1           # lambda_1: weight of L_ssl in L = L_main + lambda_1 L_ssl (the authors' ssl_reg)


@dataclass(frozen=True)
class CKEConfig(RankingConfig):
    """CKE (Zhang et al. 2016), structural knowledge only: ``l2`` is on the batch's user and final item
    vectors e_j = eta_j + v_j, relative to the mean BPR term."""

    relation_dim: int = 64           # k: TransR's relation space, M_r (d x k), r (k)
    kg_batch_size: int = 2048        # KG triples (with a corrupted tail) drawn for every BPR batch
    kg_weight: float = 1.0           # weight of the TransR term in the joint loss (1 in the authors' code)


@dataclass(frozen=True)
class CFKGConfig(RankingConfig):
    """CFKG (Ai et al. 2018): users, items and entities in one translation space; ``l2`` is on the
    batch's head, relation and tail vectors (0 in the KGAT authors' and RecBole's code)."""

    score_function: str = "distance"  # distance: -||h + r - t|| with a margin loss | inner_product: (h + r).t
    margin: float = 1.0              # gamma of the margin loss max(0, gamma + d(h + r, t) - d(h + r, t'))
    kg_batch_size: int = 0           # KG triples mixed into every batch; 0: as many as the batch's interactions


@dataclass(frozen=True)
class KGATConfig(RankingConfig):
    """KGAT (Wang et al. 2019): ``l2`` is lambda of Eq. 14 on the CF batch's final representations."""

    layer_sizes: tuple[int, ...] = (64, 32, 16)   # d_l: output width of each bi-interaction layer (Eq. 8)
    message_dropout: float = 0.1     # dropout on each layer's output (the authors' mess_dropout)
    relation_dim: int = 64           # k: TransR's relation space, W_r (d x k), e_r (k) (Eq. 1)
    kg_batch_size: int = 2048        # TransR batch (Eq. 2), alternating with the CF phase
    kg_lr: float = 1e-4              # Adam step of the TransR phase (its own optimizer)
    kg_l2: float = 1e-5              # L2 on the TransR batch's projected vectors
    transr_interactions: bool = True  # Eq. 2 over the whole CKG (interactions too); off: KG triples only
    use_attention: bool = True       # off = the paper's "w/o Att" ablation: the initial Laplacian is kept
    use_transr: bool = True          # off = the paper's "w/o KGE" ablation: no TransR phase


@dataclass(frozen=True)
class KGINConfig(RankingConfig):
    """KGIN (Wang et al. 2021): intents (Eq. 1-2), their independence (Eq. 3-4), relational path-aware
    aggregation (Eq. 6-11) and BPR (Eq. 12-13); defaults are the authors' (utils/parser.py)."""

    l2: float = 1e-5                 # lambda_2 of Eq. 13, on the batch's final embeddings (authors' --l2)
    n_factors: int = 4               # |P|: intents per user (authors' --n_factors)
    context_hops: int = 3            # L: aggregation hops, summed in Eq. 11 (authors' --context_hops)
    sim_regularity: float = 1e-4     # lambda_1 of Eq. 13: weight of L_IND (authors' --sim_regularity)
    independence: str = "distance"   # L_IND: distance (Eq. 4, dCor) | cosine (Eq. 3, squared) | mi (InfoNCE)
    mi_temperature: float = 0.2      # tau of the "mi" independence term
    node_dropout: float = 0.5        # share of KG triples and user-item entries dropped per batch
    mess_dropout: float = 0.1        # dropout on each hop's representations before normalising


@dataclass(frozen=True)
class KGCLConfig(RankingConfig):
    """KGCL (Yang et al. 2022): relation-aware KG aggregation (Sec. 3.1), KG dropout views (Sec. 3.2),
    knowledge-guided interaction views and contrast (Sec. 3.3), BPR on LightGCN, TransE. ``l2`` is on
    the batch's layer-0 user and item rows. yuh-yang/KGCL-SIGIR22's names in brackets."""

    n_layers: int = 3                # L: LightGCN layers, mean of layers 0..L [--layer]
    max_neighbors: int = 10          # S: KG neighbour slots per item [entity_num_per_item]
    attention_dropout: float = 0.4   # dropout on the aggregator's inputs, attention and output [GAT(dropout=0.4)]
    kg_drop: float = 0.5             # share of item-entity edges each KG view drops (Sec. 3.2) [kg_p_drop]
    ui_drop: float = 0.1             # 1 - p_a: mean share of items an interaction view drops (Sec. 3.3) [ui_p_drop]
    min_keep: float = 0.3            # p_tau: floor of the normalised consistency weight w'
    max_keep: float = 0.95           # cap of an item's keep probability rho (the authors' code)
    temperature: float = 0.2         # tau of the contrast [kgc_temp]
    cl_weight: float = 0.1           # weight of L_user + L_item [ssl_reg]
    intra_view_negatives: bool = True   # GRACE's denominators (the authors' grace_loss); off: cross-view only
    use_transe: bool = True          # TransE after each epoch [use_trans]
    transe_batch_size: int = 4096    # heads per TransE step (the authors' KG DataLoader)
    transe_l2: float = 1e-3          # L2 on the TransE batch's vectors (calc_kg_loss_transE)


@dataclass(frozen=True)
class MCCLKConfig(RankingConfig):
    """MCCLK (Zou et al. 2022): structural, collaborative and semantic views, local- and global-level
    contrast, BPR on the joined views. ``l2`` is on the batch's final (joined) representations.
    CCIIPLab/MCCLK's names in brackets."""

    l2: float = 1e-5                 # lambda of the L2 term [--l2]
    context_hops: int = 2            # L: hops of the structural view, summed [--context_hops]
    lightgcn_layers: int = 2         # K: LightGCN layers of the collaborative view [self.lightgcn_layer]
    semantic_layers: int = 1         # layers over the kNN item-item graph [self.n_item_layer]
    knn_k: int = 10                  # k: neighbours per item in the kNN graph [GraphConv.topk]
    knn_lambda: float = 0.5          # lambda: share of the layer-0 kNN graph in the mix [lambda_coeff]
    node_dropout: float = 0.5        # share of KG triples and user-item entries dropped per batch [--node_dropout_rate]
    mess_dropout: float = 0.1        # dropout on every hop's output before normalising [--mess_dropout_rate]
    temperature: float = 0.6         # tau of every contrast [tau in calculate_loss*]
    local_weight: float = 1e-3       # beta * alpha: weight of the local-level contrast (the code's 0.001)
    global_weight: float = 1e-3      # beta * (1 - alpha): weight of each global-level contrast (the code's 0.001)


@dataclass(frozen=True)
class KGRecSRConfig(RankingConfig):
    """KGRec (Yang et al. 2023), registered as ``kgrec-sr``: rationale attention, masked reconstruction
    of high-rationale triples, rationale-aware contrast. HKUDS/KGRec's argument names in brackets."""

    n_layers: int = 2                # L: hops of every aggregation [context_hops]
    n_heads: int = 2                 # heads k of the rationale attention f_k(h, r, t) (AttnHGCN's n_heads)
    kg_keep_rate: float = 0.5        # share of each relation's triples a training step propagates over [node_dropout_rate]
    interaction_keep_rate: float = 0.5   # share of interactions a step keeps, weights / rate [node_dropout_rate]
    message_dropout: float = 0.1     # dropout on every hop's output before normalising [mess_dropout_rate]
    mask_size: int = 256             # k: triples masked by top-k of gamma + Gumbel noise [mae_msize]
    random_mask: bool = True         # also mask k uniformly drawn triples (the authors' code; the paper: top-k only)
    mae_weight: float = 0.1          # lambda_1 of the masked-reconstruction loss L_m [mae_coef]
    cl_weight: float = 0.01          # lambda_2 of the contrastive loss L_c [cl_coef]
    temperature: float = 1.0         # tau of L_c [cl_tau]
    cl_drop_ratio: float = 0.5       # share of triples (lowest gamma) and interactions the views drop [cl_drop_ratio]
