"""KGRec (Yang et al., KDD 2023, "Knowledge Graph Self-Supervised Rationalization for Recommendation"),
registered as ``kgrec-sr``.

Nodes: U users and E entities with the items first (:class:`~recommender.kg.ItemKG`, with every
triple also inverted: 2R relations), one embedding table (U + E, D); relations (2R, D); W^Q (D, D).

Rationale discovery. For a triple (h, r, t) and attention head k of H (d = D / H)::

    f_k(h, r, t) = (e_h W^Q)_k . ((e_t W^Q)_k ⊙ e_r,k) / sqrt(d)
    omega_k(h, r, t) = exp f_k(h, r, t) / sum over (h, r', t') of exp f_k(h, r', t')
    gamma(h, r, t) = |N_h| softmax_h(mean_k f_k)(h, r, t)          rationale score, no gradient

Heterogeneous aggregation, hops l = 1..L (items read the KG only, users their items)::

    e_h^(l) = norm(drop(concat_k sum over (h, r, t) of omega_k(h, r, t) (e_t^(l-1) ⊙ e_r)_k))
    e_u^(l) = norm(drop(sum over i in N_u of e_i^(l-1) / |N_u|))
    e = sum over l = 0..L of e^(l),  score(u, i) = e_u . e_i

Rationale-aware masked autoencoding: M is the top-k of gamma + Gumbel noise -log(-log u), with k
more triples drawn uniformly (``random_mask``, the authors' code); the encoder propagates without M::

    L_m = mean over (h, r, t) in M of -log sigma(e_h . (e_t ⊙ e_r))

Rationale-aware contrast. KG view: the ``cl_drop_ratio`` share of triples with the lowest noisy gamma
is dropped, then e_h^(l) = norm(drop(mean over (h, r, t) of e_t^(l-1) ⊙ e_r)). Interaction view:
item rationale phi_i = (mean gamma of i's triples as head + as tail) / 2, interactions kept by
multinomial sampling from softmax(phi + Gumbel), then hops in both directions with weights 1 / |N_u|.
Both item views pass through their own two-layer MLP; L_c is InfoNCE over all items (cosine / tau).

    L = BPR + l2 ||e_u, e_i+, e_i-||^2 / 2B + lambda_1 L_m + lambda_2 L_c

Each training step propagates over ``kg_keep_rate`` of every relation's triples and an
``interaction_keep_rate`` share of the interactions (weights / rate), as the authors' code does; the
scores use the whole KG and every interaction, without dropout. Shapes: gamma, f (T,) or (T, H) per
triple; views (I, D); embeddings (U, D) and (E, D).

Departures from the authors' code (HKUDS/KGRec: modules/KGRec.py, AttnHGCN.py, contrast.py):

* L_c is InfoNCE over all items, as the paper writes it; the code contrasts each item with one
  random other item and counts the positive twice in the denominator.
* Every relation is subsampled; the code's loop over relation ids stops one short, so its last
  (inverse) relation never reaches the training graph.
* The interaction view's multinomial draw without replacement from softmax(phi + g1) is the top-k of
  phi + g1 + g2 (Gumbel-top-k: the same distribution, without a sequential draw).
* W^Q is applied once per entity, not per triple: the same numbers, less work.

Why a step is fast on one CPU thread (float32; dbbook2014: 268k triples with inverses, a step's
sample 134k, 2,680 items): the attention, the rationale score and the KG view's means are numba
passes over the triples that make each key and value from the (E, D) and (R, D) tables as they go
and add their gradients straight into the tables' (:mod:`~recommender.models.kgrec_sr_attention`);
every hop's dropout and normalisation is one pass forward and one backward (:func:`finish`); the
triple sample is a selection per relation, not a sort of all triples; L_c is made in blocks of
items that stay in cache (:func:`all_items_info_nce`). The same random draws, in the same order, as
the torch path (several threads, CUDA), and the same numbers to float32 rounding. What remains is
mostly L_c's three products over all (I, I) item pairs and the dropout draws.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from recommender.blas import one_thread_cpu_float32, scores_into
from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.graphs import paired_mm
from recommender.kg import ItemKG, scatter_mean
from recommender.losses import ScoreWorkspace, bpr_loss, candidate_info_nce, l2_regularizer
from recommender.models import kgrec_sr_kernels as kernels
from recommender.models.base import RankingModel, xavier_embedding
from recommender.models.configs import KGRecSRConfig
from recommender.models.kgrec_sr_attention import attend, head_rows, mean_messages, rationale
from recommender.models.kgrec_sr_graphs import Interactions, RelationalTriples, TripleSet


def _projection(dim: int) -> nn.Module:
    """The two-layer MLP each contrastive view passes through (the authors' ``Contrast``)."""
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))


def gumbel_noise(like: torch.Tensor) -> torch.Tensor:
    """-log(-log u), u ~ U(0, 1) (global RNG), the shape of ``like``."""
    uniform = torch.rand_like(like).clamp_(1e-12, 1 - 1e-7)
    return -torch.log(-torch.log(uniform))


class _DropoutNormalize(torch.autograd.Function):
    """:func:`finish` on one CPU thread: one numba pass forward, one backward, instead of autograd's
    eight (N, D) passes through the mask, the norm and the division."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, layer: torch.Tensor,  # type: ignore[override]
                uniform: torch.Tensor, dropout: float) -> torch.Tensor:
        out, norms = torch.empty_like(layer), torch.empty(len(layer))
        scale = np.float32(1 / (1 - dropout))
        kernels.dropout_normalize_forward()(layer.detach().contiguous().numpy(), uniform.numpy(), np.float32(dropout),
                                            scale, out.numpy(), norms.numpy())
        ctx.save_for_backward(out, uniform, norms)
        ctx.dropout, ctx.scale = dropout, scale
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        out, uniform, norms = ctx.saved_tensors
        d_layer = torch.empty_like(out)
        kernels.dropout_normalize_backward()(out.numpy(), uniform.numpy(), np.float32(ctx.dropout), ctx.scale,
                                             norms.numpy(), grad.contiguous().numpy(), d_layer.numpy())
        return d_layer, None, None


def finish(layer: torch.Tensor, dropout: float) -> torch.Tensor:
    """norm(drop(layer)): message dropout (a uniform draw against p, global RNG; faster on CPU than
    ``F.dropout``'s Bernoulli draws), then unit rows. Shapes: (N, D) -> (N, D)."""
    if dropout <= 0:
        return F.normalize(layer, dim=-1)
    uniform = torch.rand_like(layer)
    if one_thread_cpu_float32(layer):
        return _DropoutNormalize.apply(layer, uniform, dropout)
    return F.normalize(layer * ((uniform >= dropout) * (1 / (1 - dropout))), dim=-1)


BLOCK_ROWS = 256     # anchors per block of the all-items InfoNCE: a (256, I) block stays in cache
UNSHIFTED_EXP_LIMIT = 70.0   # 1/tau up to which e^(+-1/tau) summed over the items stays finite in float32


class _RowInfoNCE(torch.autograd.Function):
    """InfoNCE of unit rows where anchor k matches candidate k among all candidates, made block by
    block of anchors together with its gradient: each block's logits are exponentiated and multiplied
    while in cache, never written out as one (I, I) matrix and read back by the backward pass (the
    same three products as :func:`~recommender.losses.candidate_info_nce`, 13 % faster forward and
    backward on 2,680 items and one thread). The backward pass scales the saved gradient by the
    loss's. Unshifted exponentials: needs 1 / tau <= 70, as there."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, anchors: torch.Tensor,  # type: ignore[override]
                candidates: torch.Tensor, temperature: float, workspace: ScoreWorkspace) -> torch.Tensor:
        n, inverse = len(anchors), np.float32(1 / temperature)
        d_anchors, d_candidates = torch.empty_like(anchors), torch.zeros_like(candidates)
        losses = torch.empty(n)
        every = candidates.detach().numpy()
        for start in range(0, n, BLOCK_ROWS):
            rows = anchors[start:start + BLOCK_ROWS].detach().numpy() * inverse
            block = workspace.scores(anchors[:len(rows)], candidates)           # a (rows, I) view
            block = scores_into(torch.from_numpy(rows), candidates, out=block)
            exps = np.exp(block.numpy(), out=block.numpy())       # numpy (OpenBLAS, SIMD exp) throughout
            totals = exps.sum(1, keepdims=True)
            mine = every[start:start + len(rows)]
            losses[start:start + len(rows)] = torch.from_numpy(np.log(totals[:, 0]) - (rows * mine).sum(1))
            d_anchors[start:start + len(rows)] = torch.from_numpy(((exps @ every) / totals - mine) * inverse)
            d_candidates += torch.from_numpy(exps.T @ (rows / totals))
            d_candidates[start:start + len(rows)] -= torch.from_numpy(rows)
        ctx.save_for_backward(d_anchors / n, d_candidates / n)
        return losses.mean()

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        d_anchors, d_candidates = ctx.saved_tensors
        return d_anchors * grad, d_candidates * grad, None, None


def all_items_info_nce(anchors: torch.Tensor, candidates: torch.Tensor, temperature: float,
                       workspace: ScoreWorkspace) -> torch.Tensor:
    """L_c: InfoNCE (cosine / tau) of row k of ``anchors`` against row k of ``candidates`` among all
    of them, the mean over rows; ``workspace`` holds the blocks. Shapes: (I, D), (I, D) -> scalar."""
    a, b = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    if one_thread_cpu_float32(a, b) and 1 / temperature <= UNSHIFTED_EXP_LIMIT:
        return _RowInfoNCE.apply(a, b, temperature, workspace)
    targets = torch.arange(len(anchors), device=anchors.device)
    return candidate_info_nce(anchors, candidates, temperature, targets, workspace=workspace)


class KGRecSR(RankingModel):
    name = "kgrec-sr"
    config_class = KGRecSRConfig
    config: KGRecSRConfig
    fused_adam = True      # the trainer's one-kernel Adam step: the same update to float rounding

    def __init__(self, data: RecData, config: KGRecSRConfig, device: torch.device):
        super().__init__(data, config, device)
        kg = ItemKG.from_data(data, self.name, inverse=True)
        dim = config.embedding_dim
        if dim % config.n_heads:
            raise ModelConfigError(f"kgrec-sr: embedding_dim {dim} must be a multiple of n_heads {config.n_heads}.")
        self.n_entities = kg.n_entities
        self.embedding = xavier_embedding(self.n_users + kg.n_entities, dim)     # [users | entities]
        self.relation_embedding = xavier_embedding(kg.n_relations, dim)
        self.query_weight = xavier_embedding(dim, dim)                           # W^Q
        self.kg_projection, self.cf_projection = _projection(dim), _projection(dim)
        self.triples = RelationalTriples(kg.triples, kg.n_entities, device)
        self.interactions = Interactions(data.train, data.n_users, data.n_items, device)
        self.workspace = ScoreWorkspace()

    # -- rationale attention -------------------------------------------------------------------------
    @property
    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The distinct (tail, relation) pairs of the triples, (P,) each: the torch path's key rows."""
        return self.triples.pair_tail, self.triples.pair_relation

    @torch.no_grad()
    def rationale_scores(self, entity: torch.Tensor, triples: TripleSet) -> torch.Tensor:
        """gamma(h, r, t) = |N_h| softmax_h(mean_k f_k). Shapes: (E, D) -> (T,)."""
        crow = head_rows(triples.head, self.n_entities)
        return rationale(crow, triples, entity @ self.query_weight, self.relation_embedding, self.pairs,
                         self.config.n_heads)

    # -- encoders ------------------------------------------------------------------------------------
    def _finish(self, layer: torch.Tensor, dropout: float) -> torch.Tensor:
        """A hop's output: message dropout (training only), then unit rows (:func:`finish`)."""
        return finish(layer, dropout)

    def encode(self, triples: TripleSet, graphs: tuple[torch.Tensor, torch.Tensor],
               dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(users (U, D), entities (E, D)): the sums of L attentive hops over ``triples`` and the
        interaction graph ``graphs`` (A, A^T)."""
        users, entity = self.embedding[:self.n_users], self.embedding[self.n_users:]
        user_sum, entity_sum = users, entity
        crow = head_rows(triples.head, self.n_entities)
        for _ in range(self.config.n_layers):
            users = self._finish(paired_mm(graphs, entity[:self.n_items]), dropout)
            layer = attend(crow, triples, entity @ self.query_weight, entity, self.relation_embedding, self.pairs,
                           self.config.n_heads)
            entity = self._finish(layer, dropout)
            user_sum, entity_sum = user_sum + users, entity_sum + entity
        return user_sum, entity_sum

    def kg_view(self, triples: TripleSet, dropout: float) -> torch.Tensor:
        """Items after L mean-aggregation hops of e_t ⊙ e_r over ``triples``. Shapes: -> (I, D)."""
        crow, graphs = head_rows(triples.head, self.n_entities), cache(lambda: self.triples.mean_graphs(triples))
        entity = self.embedding[self.n_users:]
        total = entity
        for _ in range(self.config.n_layers):
            layer = mean_messages(crow, triples, entity, self.relation_embedding, graphs, self.pairs)
            entity = self._finish(layer, dropout)
            total = total + entity
        return total[:self.n_items]

    def cf_view(self, graphs: tuple[torch.Tensor, torch.Tensor], dropout: float) -> torch.Tensor:
        """Items after L hops over the interactions, both ways. Shapes: -> (I, D)."""
        users = self.embedding[:self.n_users]
        items = self.embedding[self.n_users:self.n_users + self.n_items]
        total = items
        for _ in range(self.config.n_layers):
            users, items = (self._finish(paired_mm(graphs, items), dropout),
                            self._finish(paired_mm(graphs[::-1], users), dropout))
            total = total + items
        return total

    # -- losses --------------------------------------------------------------------------------------
    def reconstruction_loss(self, entity: torch.Tensor, masked: TripleSet) -> torch.Tensor:
        """L_m: mean of -log sigma(e_h . (e_t ⊙ e_r)) over the masked triples. Shapes: (E, D) -> scalar."""
        if len(masked) == 0:
            return entity.sum() * 0.0
        products = entity[masked.head] * entity[masked.tail] * self.relation_embedding[masked.relation]
        return F.softplus(-products.sum(-1)).mean()

    def mask(self, noisy: torch.Tensor) -> torch.Tensor:
        """The masked triples: top-k of the noisy rationale scores, plus k uniform draws. (T,) -> (T,) bool."""
        k = min(self.config.mask_size, len(noisy))
        masked = torch.zeros(len(noisy), dtype=torch.bool, device=noisy.device)
        masked[torch.topk(noisy, k, sorted=False).indices] = True
        if self.config.random_mask:
            masked[torch.randperm(len(noisy), device=noisy.device)[:k]] = True
        return masked

    def item_rationale(self, gamma: torch.Tensor, triples: TripleSet) -> torch.Tensor:
        """phi_i: the mean gamma of item i's triples as head and as tail, averaged (1 where it has
        none, as the authors' code). Shapes: (T,) -> (I,)."""
        sides = []
        for ends in (triples.head, triples.tail):
            mean = scatter_mean(gamma[:, None], ends, self.n_entities).squeeze(1)[:self.n_items]
            sides.append(torch.where(mean == 0, torch.ones_like(mean), mean))
        return 0.5 * sides[0] + 0.5 * sides[1]

    def contrastive_loss(self, sampled: TripleSet, noisy: torch.Tensor, phi: torch.Tensor,
                         interactions: torch.Tensor) -> torch.Tensor:
        """L_c between the noise-pruned KG view and the rationale-sampled interaction view."""
        cfg = self.config
        n_drop = int(cfg.cl_drop_ratio * len(noisy))
        keep = torch.ones(len(noisy), dtype=torch.bool, device=noisy.device)
        keep[torch.topk(-noisy, n_drop, sorted=False).indices] = False
        kg_items = self.kg_view(sampled.select(keep), cfg.message_dropout)
        keep_rate = 1 - cfg.cl_drop_ratio
        scores = phi[self.interactions.items[interactions]]
        scores = scores + gumbel_noise(scores) + gumbel_noise(scores)
        chosen = torch.topk(scores, int(keep_rate * len(interactions)), sorted=False).indices
        kept = torch.sort(interactions[chosen]).values
        graphs = self.interactions.graphs(kept, 1 / (cfg.interaction_keep_rate * keep_rate))
        cf_items = self.cf_view(graphs, cfg.message_dropout)
        return all_items_info_nce(self.kg_projection(kg_items), self.cf_projection(cf_items), cfg.temperature,
                                  self.workspace)

    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        sampled = self.triples.sample(cfg.kg_keep_rate)
        gamma = self.rationale_scores(self.embedding[self.n_users:], sampled)
        phi = self.item_rationale(gamma, sampled)
        noisy = gamma + gumbel_noise(gamma)
        masked = self.mask(noisy)
        interactions = self.interactions.dropout(cfg.interaction_keep_rate)
        graphs = self.interactions.graphs(interactions, 1 / cfg.interaction_keep_rate)
        user_final, entity_final = self.encode(sampled.select(~masked), graphs, cfg.message_dropout)
        u, pos, neg = user_final[users], entity_final[positives], entity_final[negatives]
        bpr = bpr_loss(u, pos, neg)
        mae = self.reconstruction_loss(entity_final, sampled.select(masked))
        cl = self.contrastive_loss(sampled, noisy, phi, interactions)
        total = bpr + cfg.l2 * l2_regularizer(u, pos, neg) + cfg.mae_weight * mae + cfg.cl_weight * cl
        return {"total": total, "bpr": bpr, "mae": mae, "cl": cl}

    def final_embeddings(self):
        users, entity = self.encode(self.triples.all, self.interactions.full, 0.0)
        return users, entity[:self.n_items]
