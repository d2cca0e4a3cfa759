"""KGCL (Yang et al., SIGIR 2022, "Knowledge Graph Contrastive Learning for Recommendation").

Shapes: U users, I items, E entity rows (:class:`~recommender.kg.ItemKG`, items first), R relations,
S neighbour slots per item (``max_neighbors``), B batch rows, D the embedding size.

- Relation-aware knowledge aggregation (Sec. 3.1, the authors' RGAT): item i reads its KG
  neighbours (i, r, e) through attention
  ``a(i, r, e) = softmax_e( LeakyReLU_0.2( r^T (W [x_i || x_e] + b) ) )`` and
  ``x'_i = x_i + sum_e a(i, r, e) x_e``; item (I, D), entity (E, D) and relation (R, D) tables,
  ``W`` (D, 2D). Neighbours live in an (I, S) table with a presence mask.
- KG augmentation (Sec. 3.2): two views each drop an item-entity edge with probability ``kg_drop``;
  the KG structure consistency of item i is ``c_i = cos(x'_i(view 1), x'_i(view 2))``.
- Knowledge-guided interaction dropout (Sec. 3.3): ``w_i = exp(c_i)``,
  ``w'_i = max((w_i - min w) / (max w - min w), p_tau)``, keep probability
  ``rho_i = min((1 - ui_drop) w'_i / mean(w'), max_keep)``; each interaction view keeps item i's
  interactions when a Bernoulli(rho_i) draw says so. The views are LightGCN graphs
  ``D^-1/2 A' D^-1/2`` without self-loops.
- Contrast: view k propagates users and the items aggregated over KG view k, over interaction view
  k; InfoNCE between the views for the batch's distinct users and positive items, each side
  ``-log e^{s(a_i, b_i)/tau} / (sum_j e^{s(a_i, b_j)/tau} + sum_{j != i} e^{s(a_i, a_j)/tau})``
  with s the cosine, averaged over both directions (:func:`cross_view_nce`).
- Main task: LightGCN (``n_layers``, mean of layers 0..L) over [users | aggregated items], BPR plus
  ``l2`` on the batch's layer-0 user and item rows; ``L = L_bpr + cl_weight (L_user + L_item)``.
- TransE (``epoch_end``): ``-ln sigma(d(h + r - t') - d(h + r - t))`` with d the squared L2, heads
  from the item table, tails from the entity table, plus ``transe_l2`` times the batch's L2.

As in the authors' code (yuh-yang/KGCL-SIGIR22: code/model.py, contrast.py, GAT.py, Procedure.py,
world.py), taken as what produced the paper's numbers (the repository ships the log of its
Amazon-Book run, log/Amazon-Book.log, Recall@20 0.1496), where the paper describes otherwise: the
interaction views drop items (all of an item's interactions together) rather than single edges,
with the keep probability capped at 0.95; the aggregator applies dropout 0.4 to its inputs, its
attention and its output; the contrast has intra-view negatives (GRACE's loss; the paper's InfoNCE
has only cross-view ones, set ``intra_view_negatives=False``); the views are drawn once per epoch,
the contrastive views also use the KG views; TransE steps the main optimizer once per epoch;
embeddings start from N(0, 0.1).

Departures from that code, and why: the neighbours of an item are a random sample of at most S of
its triples, drawn once (the authors keep the first S in file order, which for an export sorted by
relation would drop whole relations); an item with no kept neighbour keeps x_i (the authors' padding
row would add a trained "no neighbour" vector); the contrast is over the batch's distinct users and
items (with repeats, a node counts as its own negative); losses are batch means where the authors
sum BPR and the contrast (the same ratio, so ``cl_weight`` is theirs, and ``l2`` is their decay
divided by their batch size, see ``MODEL_DEFAULTS``); TransE runs after each epoch's batches rather
than before, on max(1, heads // batch) batches of distinct random heads (the authors' loader drops
its last partial batch, so a KG with fewer item heads than one batch, such as dbbook2014's 2,514,
would get no TransE step at all); a KG whose triples never start at an item is read backwards.
``cross_view_nce`` (with its hand-written backward) is shared with MCCLK, which contrasts the same way.

Why a step is fast on one CPU thread (float32): the aggregation runs three times a step (the main
graph and both KG views), and as autograd it was most of the step (26,800 neighbour slots x 64 x 64
of projections and their backward on dbbook2014). :mod:`~recommender.models.kgcl_kernels` does it
as one pass over the slots forward and one backward, with the logit's projection folded into the
13 relation rows (``r^T W [x || e] = x . r W_item + e . r W_entity``: the same sum in another order)
and the torch path's own dropout draws. The contrast reuses its (B, B) blocks from step to step
(fresh pages cost a fault each). What remains is mostly the contrast's products, the LightGCN
propagations and the dropout draws.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from recommender.blas import one_thread_cpu_float32, scores_into, transposed_product
from recommender.data import RecData
from recommender.errors import ModelConfigError
from recommender.graphs import InteractionSubgraphs, normalized_adjacency, propagate
from recommender.kg import ItemKG
from recommender.losses import ScoreWorkspace, bpr_loss, l2_regularizer, transe_loss
from recommender.models import kgcl_kernels
from recommender.models.base import RankingModel, gather_rows
from recommender.models.cikgrec import HeadSampler
from recommender.models.configs import KGCLConfig

LEAKY_SLOPE = 0.2      # the authors' GAT(alpha=0.2)
INIT_STD = 0.1         # the authors' nn.init.normal_(std=0.1) for every table
UNSHIFTED_EXP_LIMIT = 70.0   # 1/tau up to which e^(+-1/tau) stays within float32's normal range
MASKED = -1e9          # attention logit of an absent neighbour slot (finite: no NaN for empty rows)


def cross_view_nce(view_a: torch.Tensor, view_b: torch.Tensor, temperature: float,
                   intra_view: bool = True, symmetric: bool = True,
                   workspaces: tuple[ScoreWorkspace, ...] | None = None) -> torch.Tensor:
    """InfoNCE where row k of ``view_a`` should match row k of ``view_b``; mean over rows.

    With ``intra_view`` the other rows of ``view_a`` are negatives too (GRACE's loss, as KGCL's and
    MCCLK's code has it): ``-log e^{s_kk} / (sum_j e^{s_kj} + sum_{j != k} e^{s'_kj})`` with s the
    cosine between views and s' within ``view_a``, each over ``temperature``. ``symmetric``
    averages it with the same loss from ``view_b``'s side. ``workspaces`` (three, kept by a call site
    that runs every step) hold the (B, B) blocks, so that a step reuses their pages instead of
    faulting in fresh ones (see :class:`~recommender.losses.ScoreWorkspace`). Shapes: (B, D), (B, D) -> scalar.
    """
    if temperature < 1 / UNSHIFTED_EXP_LIMIT:
        raise ModelConfigError(f"The contrast's temperature must be at least {1 / UNSHIFTED_EXP_LIMIT:.4f}, "
                               f"got {temperature}.")
    scale = 1 / math.sqrt(temperature)                 # s / tau as a product of rows scaled by tau^-1/2
    a, b = F.normalize(view_a, dim=-1) * scale, F.normalize(view_b, dim=-1) * scale
    return _CrossViewNCE.apply(a, b, intra_view, symmetric, workspaces)


class _CrossViewNCE(torch.autograd.Function):
    """:func:`cross_view_nce` on rows scaled to norm tau^-1/2, with a hand-written backward.

    The (B, B) blocks e^{a b^T}, e^{a a^T} and e^{b b^T} are made once, exponentiated in place and
    read by the backward pass only inside products, whose right sides carry the softmax's row
    scaling: four (B, B) x (B, 2D) products instead of autograd's copies of every block. Unit rows
    keep each logit within +-1/tau, so no shift by the row maximum is needed (tau >= 1/70).
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor, b: torch.Tensor,  # type: ignore[override]
                intra_view: bool, symmetric: bool, workspaces: tuple[ScoreWorkspace, ...] | None) -> torch.Tensor:
        blocks = [None] * 3 if workspaces is None else [w.scores(a, a) for w in workspaces]
        between = scores_into(a, b, out=blocks[0]).exp_()
        totals_a, totals_b = between.sum(1), between.sum(0)
        within_a = within_b = None
        if intra_view:
            within_a = scores_into(a, a, out=blocks[1]).exp_().fill_diagonal_(0.0)
            totals_a = totals_a + within_a.sum(1)
            if symmetric:
                within_b = scores_into(b, b, out=blocks[2]).exp_().fill_diagonal_(0.0)
                totals_b = totals_b + within_b.sum(1)
        positive = (a * b).sum(1)
        loss = (totals_a.log() - positive).mean()
        if symmetric:
            loss = (loss + (totals_b.log() - positive).mean()) / 2
        ctx.save_for_backward(a, b, between, totals_a, totals_b, within_a, within_b)
        ctx.symmetric = symmetric
        return loss

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        a, b, between, totals_a, totals_b, within_a, within_b = ctx.saved_tensors
        sides = 2 if ctx.symmetric else 1
        c = grad / (len(a) * sides)
        a_scaled, b_scaled = a / totals_a[:, None], b / totals_b[:, None]
        # through E = e^{a b^T}: (E b) / Z_a for a and E^T (a / Z_a) for b from a's side; E (b / Z_b) and
        # (E^T a) / Z_b from b's side; the positives a_k . b_k give -sides b and -sides a
        right_b = torch.cat([b, b_scaled], 1) if sides == 2 else b
        left_a = torch.cat([a_scaled, a], 1) if sides == 2 else a_scaled
        from_b, from_a = between @ right_b, transposed_product(between, left_a)
        grad_a = from_b[:, :a.shape[1]] / totals_a[:, None] - sides * b
        grad_b = from_a[:, :a.shape[1]] - sides * a
        if sides == 2:
            grad_a = grad_a + from_b[:, a.shape[1]:]
            grad_b = grad_b + from_a[:, a.shape[1]:] / totals_b[:, None]
        for rows, scaled, totals, block, out in ((a, a_scaled, totals_a, within_a, grad_a),
                                                 (b, b_scaled, totals_b, within_b, grad_b)):
            if block is not None:       # through E = e^{x x^T} (symmetric): (E x) / Z_x + E (x / Z_x)
                both = block @ torch.cat([rows, scaled], 1)
                out.add_(both[:, :a.shape[1]] / totals[:, None]).add_(both[:, a.shape[1]:])
        return grad_a * c, grad_b * c, None, None, None


def keep_probabilities(consistency: torch.Tensor, ui_drop: float, min_keep: float,
                       max_keep: float) -> torch.Tensor:
    """Sec. 3.3: each item's probability of staying in an interaction view, from its KG structure
    consistency c (I,): min((1 - ui_drop) w' / mean(w'), max_keep), w' = max(minmax(exp c), min_keep)."""
    weight = consistency.exp()
    span = (weight.max() - weight.min()).clamp_min(1e-12)
    weight = ((weight - weight.min()) / span).clamp_min(min_keep)
    return ((1 - ui_drop) * weight / weight.mean()).clamp_max(max_keep)


def neighbour_table(kg: ItemKG, slots: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """(entity (I, S), relation (I, S), present (I, S) bool): up to ``slots`` triples headed by each
    item, a random subset where an item has more (torch's global generator, once)."""
    triples = kg.triples[kg.triples[:, 0] < kg.n_items]
    heads = triples[:, 0]
    priority = torch.rand(len(triples)).numpy()
    order = np.lexsort((priority, heads))
    triples, heads = triples[order], heads[order]
    first = np.searchsorted(heads, heads, side="left")
    rank = np.arange(len(heads)) - first
    kept = rank < slots
    entity = np.zeros((kg.n_items, slots), np.int64)
    relation = np.zeros((kg.n_items, slots), np.int64)
    present = np.zeros((kg.n_items, slots), bool)
    rows, cols = heads[kept], rank[kept]
    entity[rows, cols], relation[rows, cols], present[rows, cols] = triples[kept, 2], triples[kept, 1], True
    return tuple(torch.from_numpy(a).to(device) for a in (entity, relation, present))


class KGCL(RankingModel):
    name = "kgcl"
    config_class = KGCLConfig
    config: KGCLConfig
    fused_adam = True      # the trainer's one-kernel Adam step: the same update to float rounding

    def __init__(self, data: RecData, config: KGCLConfig, device: torch.device):
        super().__init__(data, config, device)
        _check(config)
        kg = ItemKG.from_data(data, "KGCL")
        if not (kg.triples[:, 0] < kg.n_items).any():     # items only as tails: read the triples backwards
            kg = ItemKG.from_data(data, "KGCL", inverse=True)
            self.notes.append("no KG triple is headed by an item: KGCL aggregates over the inverse triples")
        dim = config.embedding_dim
        self.user = _normal(data.n_users, dim)
        self.item = _normal(data.n_items, dim)
        self.entity = _normal(kg.n_entities, dim)
        self.relation = _normal(kg.n_relations, dim)
        self.attention = nn.Linear(2 * dim, dim)            # W, b of the attention logit
        self.neighbours, self.neighbour_relations, self.present = neighbour_table(kg, config.max_neighbors, device)
        edges = np.stack([data.train[:, 0], data.train[:, 1] + data.n_users], 1)
        self.graph = normalized_adjacency(edges, data.n_users + data.n_items, device)
        self.subgraphs = InteractionSubgraphs(data.train, data.n_users, data.n_items, device)
        self.workspaces = tuple(tuple(ScoreWorkspace() for _ in range(3)) for _ in range(2))   # users', items'
        self.views: tuple[torch.Tensor, ...] | None = None
        self.views_epoch: int | None = None
        self._build_transe(kg)

    def _build_transe(self, kg: ItemKG) -> None:
        """TransE over the item-headed triples (heads index the item table, tails the entity table)."""
        triples = torch.from_numpy(kg.triples[kg.triples[:, 0] < kg.n_items])
        self.n_heads = int(torch.unique(triples[:, 0]).numel())
        self.head_sampler = HeadSampler(triples, kg.n_relations, triples[:, 2].clone())

    # -- parts -------------------------------------------------------------------------------------
    def aggregate(self, present: torch.Tensor) -> torch.Tensor:
        """Sec. 3.1 over the neighbour slots marked ``present`` (I, S): items (I, D). In training mode
        the inputs, the attention and the output pass dropout, as the authors' GAT has it; on one CPU
        thread that runs as :mod:`~recommender.models.kgcl_kernels`' loops (the same draws)."""
        p = self.config.attention_dropout if self.training else 0.0
        if p > 0 and one_thread_cpu_float32(self.item, self.entity):
            slots = self.neighbours.shape
            draws = (torch.rand(self.item.shape), torch.rand(*slots, self.item.shape[1]), torch.rand(slots),
                     torch.rand(self.item.shape))      # the torch path's draws, in its order
            w_item, w_entity = self.attention.weight.split(self.item.shape[1], dim=1)
            factors = (self.relation @ w_item, self.relation @ w_entity, self.relation @ self.attention.bias)
            return _Aggregate.apply(self.item, self.entity, *factors, (self.neighbours, self.neighbour_relations),
                                    present, draws, p)
        item = dropout(self.item, p)
        neighbours = dropout(self.entity[self.neighbours], p)                              # (I, S, D)
        w_item, w_entity = self.attention.weight.split(item.shape[1], dim=1)
        projected = (item @ w_item.T + self.attention.bias)[:, None, :] + neighbours @ w_entity.T
        logits = F.leaky_relu((projected * self.relation[self.neighbour_relations]).sum(-1), LEAKY_SLOPE)
        weights = torch.softmax(logits.masked_fill(~present, MASKED), dim=1) * present     # (I, S)
        return dropout(item + torch.einsum("is,isd->id", dropout(weights, p), neighbours), p)

    def propagated(self, graph: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """LightGCN over ``graph`` from users and the items aggregated over ``present``: (U + I, D)."""
        nodes = torch.cat([self.user, self.aggregate(present)])
        return propagate(graph, nodes, self.config.n_layers)

    def _views(self, epoch: int) -> tuple[torch.Tensor, ...]:
        """The epoch's (KG view 1, KG view 2, interaction view 1, interaction view 2), drawn at its
        first batch from torch's global generator, so a resumed run draws the same ones."""
        if self.views is None or self.views_epoch != epoch:
            cfg = self.config
            masks = [self.present & (torch.rand(self.present.shape, device=self.device) >= cfg.kg_drop)
                     for _ in range(2)]
            with torch.no_grad():
                consistency = F.cosine_similarity(self.aggregate(masks[0]), self.aggregate(masks[1]), dim=1)
                keep = keep_probabilities(consistency, cfg.ui_drop, cfg.min_keep, cfg.max_keep)
            graphs = [self.subgraphs.keep(torch.bernoulli(keep).bool()[self.subgraphs.item]) for _ in range(2)]
            self.views, self.views_epoch = (*masks, *graphs), epoch
        return self.views

    def contrastive_loss(self, users: torch.Tensor, positives: torch.Tensor, epoch: int) -> torch.Tensor:
        """L_user + L_item between the two knowledge-guided views, over the batch's distinct nodes."""
        kg_a, kg_b, graph_a, graph_b = self._views(epoch)
        view_a, view_b = self.propagated(graph_a, kg_a), self.propagated(graph_b, kg_b)
        cfg = self.config
        loss = torch.zeros((), device=self.device)
        for nodes, workspaces in zip((torch.unique(users), torch.unique(positives) + self.n_users), self.workspaces,
                                     strict=True):
            loss = loss + cross_view_nce(view_a[nodes], view_b[nodes], cfg.temperature, cfg.intra_view_negatives,
                                         workspaces=workspaces)
        return loss

    # -- contract ----------------------------------------------------------------------------------
    def batch_loss(self, users, positives, negatives, epoch):
        nodes = self.propagated(self.graph, self.present)
        pos, neg = positives + self.n_users, negatives + self.n_users
        bpr = bpr_loss(*gather_rows(nodes, users, pos, neg))
        reg = self.config.l2 * l2_regularizer(self.user[users], *gather_rows(self.item, positives, negatives))
        losses = {"bpr": bpr}
        total = bpr + reg
        if self.config.cl_weight > 0:
            losses["cl"] = self.contrastive_loss(users, positives, epoch)
            total = total + self.config.cl_weight * losses["cl"]
        losses["total"] = total
        return losses

    def epoch_end(self, optimizer, epoch, generator):
        """TransE on the item-headed triples, stepping the main optimizer (the authors' TransR_train)."""
        if not self.config.use_transe:
            return {}
        cfg = self.config
        size = min(cfg.transe_batch_size, self.n_heads)
        total, steps = 0.0, max(1, self.n_heads // cfg.transe_batch_size)
        for _ in range(steps):
            head, relation, tail, negative = (t.to(self.device) for t in self.head_sampler.sample(size, generator))
            h, r = self.item[head], self.relation[relation]
            t, wrong = gather_rows(self.entity, tail, negative)
            loss = transe_loss(h, r, t, wrong, squared=True) + cfg.transe_l2 * l2_regularizer(h, r, t, wrong)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
        return {"transe": total / steps}

    def final_embeddings(self):
        nodes = self.propagated(self.graph, self.present)
        return nodes[:self.n_users], nodes[self.n_users:]


class _Aggregate(torch.autograd.Function):
    """:meth:`KGCL.aggregate` with dropout ``p`` as one numba pass forward and one backward, from the
    factors (A = R W_item, B = R W_entity, c = R b): d item, d entity, d A, d B, d c."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, item: torch.Tensor,  # type: ignore[override]
                entity: torch.Tensor, a_rel: torch.Tensor, b_rel: torch.Tensor, c_rel: torch.Tensor,
                slots: tuple[torch.Tensor, torch.Tensor], present: torch.Tensor, draws: tuple[torch.Tensor, ...],
                p: float) -> torch.Tensor:
        tensors = [t.detach().contiguous() for t in (item, entity, a_rel, b_rel, c_rel)]
        out = torch.empty_like(tensors[0])
        weights, logits = torch.empty(present.shape), torch.empty(present.shape)
        kgcl_kernels.aggregate_forward()(*(t.numpy() for t in tensors), *(t.numpy() for t in slots), present.numpy(),
                                         tuple(d.numpy() for d in draws), np.float32(p), np.float32(1 / (1 - p)),
                                         np.float32(LEAKY_SLOPE), out.numpy(), weights.numpy(), logits.numpy())
        ctx.save_for_backward(*tensors[:4], *slots, present, weights, logits, *draws)
        ctx.p = p
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        item, entity, a_rel, b_rel, neighbours, relations, present, weights, logits, *draws = ctx.saved_tensors
        d_item, d_entity = torch.empty_like(item), torch.zeros_like(entity)
        d_a, d_b, d_c = torch.zeros_like(a_rel), torch.zeros_like(b_rel), torch.zeros(len(a_rel))
        arrays = [t.numpy() for t in (item, entity, a_rel, b_rel, neighbours, relations, present)]
        kgcl_kernels.aggregate_backward()(*arrays, tuple(d.numpy() for d in draws), np.float32(ctx.p),
                                          np.float32(1 / (1 - ctx.p)), np.float32(LEAKY_SLOPE), weights.numpy(),
                                          logits.numpy(), grad.contiguous().numpy(),
                                          *(t.numpy() for t in (d_item, d_entity, d_a, d_b, d_c)))
        return d_item, d_entity, d_a, d_b, d_c, None, None, None, None


def dropout(values: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout from ``torch.rand`` (the global generator); the identity for p = 0. On one CPU
    thread a uniform draw and a compare cost a fraction of ``F.dropout``'s Bernoulli draw."""
    if p <= 0:
        return values
    keep = torch.rand_like(values) >= p
    return values * keep.to(values.dtype).mul_(1 / (1 - p))


def _normal(rows: int, dim: int) -> nn.Parameter:
    return nn.Parameter(torch.randn(rows, dim) * INIT_STD)


def _check(config: KGCLConfig) -> None:
    for name in ("attention_dropout", "kg_drop", "ui_drop"):
        if not 0 <= getattr(config, name) < 1:
            raise ModelConfigError(f"KGCL's {name} must be in [0, 1), got {getattr(config, name)}.")
    if not 0 <= config.min_keep <= config.max_keep <= 1:
        raise ModelConfigError(f"KGCL needs 0 <= min_keep <= max_keep <= 1, got {config.min_keep}, {config.max_keep}.")
    if config.max_neighbors < 1 or config.n_layers < 1:
        raise ModelConfigError("KGCL needs max_neighbors >= 1 and n_layers >= 1.")
