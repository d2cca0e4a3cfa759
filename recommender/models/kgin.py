"""KGIN (Wang et al., WWW 2021, "Learning Intents behind Interactions with Knowledge Graph for
Recommendation"): users as mixtures of intents over KG relations, and relational path-aware aggregation.

Shapes: U users, I items, E entity nodes (items first, :class:`~recommender.kg.ItemKG`), R relations
(the KG's and their inverses), P intents, D the embedding size, T KG triples, K distinct (relation,
tail) pairs of those triples.

- Intents (Eq. 1-2): ``e_p = sum_r alpha(r, p) e_r`` with ``alpha(., p) = softmax_r(w_p)``;
  ``W`` (P, R), relation embeddings (R, D) -> intents (P, D).
- Independence (Eq. 3-4): ``L_IND = sum_{p < q} dCor(w_p, w_q)`` (distance correlation, the authors'
  default), or the squared cosine (``cosine``) or an InfoNCE over intents (``mi``).
- User side (Eq. 6-7), hop l: ``e_u = (beta_u E_P) * m_u + m_u`` with ``m_u = mean_{i in N_u} e_i^(l-1)``
  (U, D) and ``beta_u = softmax_p(e_u^(l-1) . k_p)`` (U, P).
- KG side (Eq. 8-9), hop l: ``e_h = mean_{(h, r, t)} e_r * e_t^(l-1)`` (E, D), computed as a CSR
  product ``M X``: ``X`` (K, D) holds ``e_r * e_t`` once per distinct (r, t) pair (24k of dbbook2014's
  268k triples) and ``M`` (E, K) the means' weights; the backward pass multiplies by a stored
  ``M^T``, so no transpose and no scatter over T rows is made per step.
- Each hop's output passes message dropout and is L2-normalised per row; Eq. 11 sums the hops:
  ``e* = e^(0) + e^(1) + ... + e^(L)``; the score is ``e*_u . e*_i``.
- Loss (Eq. 12-13): BPR + ``l2 * (|e*_u|^2 + |e*_i|^2 + |e*_j|^2) / 2B`` + ``sim_regularity * L_IND``.
- Node dropout (training only): each KG triple is kept with probability 1 - p (the means are over
  the kept ones), each user-item entry of the mean matrix likewise and scaled by 1 / (1 - p).

As in the authors' code (huangtinglin/Knowledge_Graph_based_Intent_Network: modules/KGIN.py,
utils/data_loader.py), where it differs from the paper's equations: the KG carries inverse
triples (t, r + R, h) (``--inverse_r`` True by default); the user side adds the residual ``m_u``;
the intent attention scores the previous hop's user vector against free intent keys ``k_p``
(P, D) rather than ``e_u^(0)`` against ``e_p``; and ``L_IND`` is taken over the intents' relation
logits ``w_p`` rather than over ``e_p``. Where kgrec departs from that code: KG node dropout keeps
each triple with probability 1 - p, where the authors keep exactly floor((1 - p) T) (the same in
expectation); distances inside dCor are ``(x_i - x_j)^2`` rather than ``x_i^2 - 2 x_i x_j + x_j^2``
(the same value, no cancellation); message dropout draws its mask with ``torch.rand`` (the same
distribution as ``nn.Dropout``, cheaper on a CPU); batches and negatives are the trainer's (the last,
smaller batch of an epoch is trained too). Duplicate triples and pairs are merged as the authors' loader does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.graphs import MeanMatrix, paired_mm
from recommender.kg import ItemKG
from recommender.losses import bpr_loss, l2_regularizer
from recommender.models.base import RankingModel, gather_rows, xavier_embedding
from recommender.models.configs import KGINConfig

INDEPENDENCE = ("distance", "cosine", "mi")


def distance_correlation(weights: torch.Tensor) -> torch.Tensor:
    """Eq. 4: the sum over pairs p < q of dCor(w_p, w_q), each row a sample of n values.

    dCor = dCov(a, b) / sqrt(dCov(a, a) dCov(b, b)) on double-centred distance matrices, with the
    authors' 1e-8 inside each square root (finite gradients at zero). Shapes: (P, n) -> scalar.
    """
    n = weights.shape[1]
    distance = torch.sqrt((weights[:, :, None] - weights[:, None, :]).pow(2) + 1e-8)          # (P, n, n)
    centred = (distance - distance.mean(1, keepdim=True) - distance.mean(2, keepdim=True)
               + distance.mean((1, 2), keepdim=True)).reshape(len(weights), -1)
    dcov = torch.sqrt((centred @ centred.T / n**2).clamp_min(0) + 1e-8)                         # (P, P)
    variance = dcov.diagonal()
    dcor = dcov / torch.sqrt(variance[:, None] * variance[None, :] + 1e-8)
    first, second = torch.triu_indices(len(weights), len(weights), 1, device=weights.device)
    return dcor[first, second].sum()


def independence_loss(weights: torch.Tensor, kind: str, temperature: float = 0.2) -> torch.Tensor:
    """L_IND over the intents' rows (P, n): ``distance`` (Eq. 4), ``cosine`` (Eq. 3's similarity,
    squared so that it is never negative, as the authors'), or ``mi`` (InfoNCE of each intent
    against the others, cosine over ``temperature``)."""
    if kind == "distance":
        return distance_correlation(weights)
    unit = F.normalize(weights, dim=1)
    cosine = unit @ unit.T
    if kind == "cosine":
        first, second = torch.triu_indices(len(weights), len(weights), 1, device=weights.device)
        return cosine[first, second].pow(2).sum()
    targets = torch.arange(len(weights), device=weights.device)
    return F.cross_entropy(cosine / temperature, targets, reduction="sum")


class KGIN(RankingModel):
    name = "kgin"
    config_class = KGINConfig
    config: KGINConfig

    def __init__(self, data: RecData, config: KGINConfig, device: torch.device):
        super().__init__(data, config, device)
        _check(config)
        kg = ItemKG.from_data(data, "KGIN", inverse=True)
        self.n_entities = kg.n_entities
        dim = config.embedding_dim
        self.embedding = xavier_embedding(data.n_users + kg.n_entities, dim)   # [users | entities], (U + E, D)
        self.relation = xavier_embedding(kg.n_relations, dim)                 # e_r (R, D)
        self.intent_logits = xavier_embedding(config.n_factors, kg.n_relations)   # w (P, R), Eq. 2
        self.intent_keys = xavier_embedding(config.n_factors, dim)            # k_p (P, D), Eq. 7's attention
        self._build_kg(kg, device)
        self._build_interactions(data, device)

    def _build_kg(self, kg: ItemKG, device: torch.device) -> None:
        """M (E, K) over the distinct (relation, tail) pairs; the full graph's (M, M^T) once."""
        triples, relation, tail, pair = kg.relation_tail_pairs()
        self.pair_relation, self.pair_tail = (torch.from_numpy(a).to(device) for a in (relation, tail))
        self.kg_mean = MeanMatrix(triples[:, 0], pair, (kg.n_entities, len(tail)), device)
        self.kg_full = self.kg_mean.means()

    def _build_interactions(self, data: RecData, device: torch.device) -> None:
        """The mean matrix (U, I): 1 / |N_u| per train interaction (the authors' D^-1 A)."""
        pairs = np.unique(data.train[:, :2].astype(np.int64), axis=0)
        self.interaction_mean = MeanMatrix(pairs[:, 0], pairs[:, 1], (data.n_users, data.n_items), device)
        self.interactions_full = self.interaction_mean.means()

    def _dropped_graphs(self) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """Node dropout (torch's global RNG): the KG's means over the kept triples (the authors'
        scatter_mean over sampled edges); the user-item means keep their 1 / |N_u|, scaled by
        1 / (1 - p) (the authors' sparse dropout)."""
        p = self.config.node_dropout
        if p <= 0:
            return self.kg_full, self.interactions_full
        device = self.pair_tail.device
        kg = self.kg_mean.means(torch.rand(len(self.kg_mean), device=device) >= p)
        kept = torch.rand(len(self.interaction_mean), device=device) >= p
        return kg, self.interaction_mean.means(kept, renormalise=False, scale=1 / (1 - p))

    def propagate(self, dropout: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 6-11: final (users (U, D), entities (E, D)); ``dropout`` for node and message dropout."""
        kg, interactions = self._dropped_graphs() if dropout else (self.kg_full, self.interactions_full)
        mess = self.config.mess_dropout if dropout else 0.0
        user, entity = self.embedding[:self.n_users], self.embedding[self.n_users:]
        intents = torch.softmax(self.intent_logits, dim=1) @ self.relation                 # e_p (P, D), Eq. 1-2
        user_sum, entity_sum = user, entity
        for _ in range(self.config.context_hops):
            paths = entity.index_select(0, self.pair_tail) * self.relation.index_select(0, self.pair_relation)
            entity_next = paired_mm(kg, paths)                                              # Eq. 8-9 (E, D)
            items = paired_mm(interactions, entity[:self.n_items])                          # m_u (U, D)
            attention = torch.softmax(user @ self.intent_keys.T, dim=1)                    # beta (U, P), Eq. 7
            user = (attention @ intents) * items + items                                    # Eq. 6
            entity = entity_next
            if mess > 0:
                entity, user = _dropout(entity, mess), _dropout(user, mess)
            entity, user = F.normalize(entity, dim=1), F.normalize(user, dim=1)
            entity_sum, user_sum = entity_sum + entity, user_sum + user                     # Eq. 11
        return user_sum, entity_sum

    def batch_loss(self, users, positives, negatives, epoch):
        user_all, entity_all = self.propagate(self.training)
        user = user_all.index_select(0, users)
        positive, negative = gather_rows(entity_all, positives, negatives)
        bpr = bpr_loss(user, positive, negative)                                            # Eq. 12
        reg = self.config.l2 * l2_regularizer(user, positive, negative)
        independence = independence_loss(self.intent_logits, self.config.independence, self.config.mi_temperature)
        total = bpr + reg + self.config.sim_regularity * independence                       # Eq. 13
        return {"total": total, "bpr": bpr, "independence": independence}

    def final_embeddings(self):
        """Without dropout, whatever the module's mode (the authors' ``generate``)."""
        user_all, entity_all = self.propagate(False)
        return user_all, entity_all[:self.n_items]


def _dropout(values: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout (message dropout) from ``torch.rand``: ``F.dropout``'s bernoulli draw costs
    about 5 ms on dbbook2014's (8,908, 64) entity table on one CPU thread, this a fifth of that."""
    keep = torch.rand_like(values) >= p
    return values * keep.to(values.dtype).mul_(1 / (1 - p))


def _check(config: KGINConfig) -> None:
    if config.independence not in INDEPENDENCE:
        raise ModelConfigError(f"KGIN's independence must be one of {', '.join(INDEPENDENCE)}, "
                               f"not {config.independence!r}.")
    for name in ("node_dropout", "mess_dropout"):
        if not 0 <= getattr(config, name) < 1:
            raise ModelConfigError(f"KGIN's {name} must be in [0, 1), got {getattr(config, name)}.")
    if config.n_factors < 1 or config.context_hops < 1:
        raise ModelConfigError("KGIN needs n_factors >= 1 and context_hops >= 1.")
