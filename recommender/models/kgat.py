"""KGAT (Wang et al., KDD 2019): attentive bi-interaction propagation over the collaborative KG.

The collaborative knowledge graph (CKG) has N = U + E nodes, ``[users | items | other entities]``
(:class:`~recommender.kg.ItemKG`, items first), and R' = 2R + 2 relations: the R KG relations, their
inverses (r + R), and the interaction both ways (user -> item 2R, item -> user 2R + 1).

- TransR (Eq. 1): g(h, r, t) = ||W_r e_h + e_r - W_r e_t||^2, W_r (D, k), e_r (k).
- Eq. 2: L_KG = mean softplus(g(h, r, t) - g(h, r, t')) over CKG triples with a corrupted tail t',
  plus ``kg_l2`` times the L2 of the projected batch (W_r e_h, e_r, W_r e_t, W_r e_t').
- Eq. 4-5: pi(h, r, t) = (W_r e_t)^T tanh(W_r e_h + e_r), softmax over the triples leaving h.
- Eq. 3: e_N(h) = sum_(h,r,t) pi(h, r, t) e_t, i.e. A @ E with A (N, N) the attentive adjacency
  (a CSR whose values are the attention; pairs joined by several relations sum their weights).
- Eq. 8 (bi-interaction, layer l, widths ``layer_sizes``):
  e^(l) = LeakyReLU(W1 (e^(l-1) + e_N^(l-1))) + LeakyReLU(W2 (e^(l-1) * e_N^(l-1))), then message dropout.
- Eq. 11-13: e* = e^(0) || e^(1)/|e^(1)| || ... || e^(L)/|e^(L)|, (N, D + sum(layer_sizes)); the score is
  the dot product e*_u . e*_i; L_CF is BPR plus ``l2`` times the L2 of the batch's e* rows.

Parameters: ``embedding`` (N, D) for e^(0), ``relation_embedding`` (R', k), ``transfer`` (R', D, k)
for W_r, per layer ``sum_layers`` / ``bi_layers`` (W1, W2); the buffer ``attention`` (T,) holds pi
for the T CKG triples and is saved with the weights.

Training alternates as in the paper: the trainer's batches run the CF phase (``batch_loss``);
``epoch_end`` runs the TransR phase with its own Adam (len(triples) // kg batch + 1 steps, the
authors' count) and then recomputes the attention. Vectorised: W_r is applied per relation present
(at most R' products, never a (B, D, k) gather), Eq. 4 projects each node once per relation, and
A^T is laid out once so that a backward pass never transposes A. The CF phase's layers and the
TransR loss are each one autograd node with a hand-written backward
(:mod:`recommender.models.kgat_ops`: the last layer at the batch's rows only, fewer (N, d) blocks
written per step), the CF phase steps Adam fused, and the TransR negatives are checked in a hash
set, only where redrawn (:class:`~recommender.kg.TripleSampler`): the same maths, an epoch on
dbbook2014 on one CPU thread in about three quarters of the time of autograd through the plain ops.

Where this departs from the authors' code (xiangwang1223/knowledge_graph_attention_network):
- the attention is recomputed once per epoch without gradient, as the authors' ``update_attentive_A``
  does (the paper's Eq. 4 would be differentiable); until the first update it is their
  random-walk Laplacian, sum_r D_r^-1 A_r;
- embeddings start from Xavier, not from pretrained BPR-MF vectors (the authors' ``--pretrain -1``);
- TransR batches are uniform CKG triples (:class:`~recommender.kg.TripleSampler`, negatives any
  node, known triples rejected) instead of distinct random heads with one triple each
  (``transr_interactions=False`` trains on the KG triples alone, as RecBole's KGAT does);
- bi-interaction biases start at zero (the authors Xavier-initialise them); the LeakyReLU slope is
  0.2, TensorFlow's default that the authors' layers use (the PyTorch ports use 0.01); the next
  layer reads the un-normalised output, as in the authors' code (LunaBlack/KGAT-pytorch feeds the
  normalised one).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recommender.data import RecData
from recommender.graphs import SparsePattern, sparse_dense_mm
from recommender.kg import ItemKG, TripleSampler, segment_softmax
from recommender.losses import bpr_loss, l2_regularizer
from recommender.models.base import OwnOptimizer, RankingModel, xavier_embedding
from recommender.models.configs import KGATConfig
from recommender.models.kgat_ops import bi_interaction, collaborative_rows, dropout_keep, transr_loss

ATTENTION_CHUNK = 1 << 16  # triples scored at once when recomputing the attention (bounds memory)


def ckg_triples(data: RecData, kg: ItemKG) -> np.ndarray:
    """The CKG's (head, relation, tail) over nodes ``[users | entities]``, sorted by (relation, head,
    tail): the ``attention`` buffer holds one value per triple in this order, so the order must not
    depend on how the train pairs happen to be ordered (a saved run's split reloads in another).

    KG triples (with inverses) are shifted by U; each train pair adds (u, 2R, i) and (i, 2R + 1, u),
    where 2R = ``kg.n_relations``. Shapes: -> (T, 3) int64.
    """
    users, items = data.train[:, 0], data.train[:, 1] + data.n_users
    interact = np.full(len(users), kg.n_relations)
    parts = [kg.triples + np.array([data.n_users, 0, data.n_users]),
             np.stack([users, interact, items], 1), np.stack([items, interact + 1, users], 1)]
    triples = np.concatenate(parts).astype(np.int64)
    return triples[np.lexsort((triples[:, 2], triples[:, 0], triples[:, 1]))]


def laplacian_weights(head: np.ndarray, relation: np.ndarray, n_relations: int) -> np.ndarray:
    """The authors' initial attention: 1 / (number of triples of h with relation r), per triple,
    i.e. the random-walk normalised adjacency of each relation, summed. Shapes: (T,), (T,) -> (T,)."""
    key = head * n_relations + relation
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return (1.0 / counts[inverse]).astype(np.float32)


class AttentiveGraph(SparsePattern):
    """The CKG's distinct (head, tail) pairs as a :class:`~recommender.graphs.SparsePattern`: per-triple
    weights (the attention) become (A, A^T) with one ``index_add`` and gathers, no sort."""

    def __init__(self, head: np.ndarray, tail: np.ndarray, n_nodes: int, device: torch.device | str):
        keys, pair = np.unique(head * n_nodes + tail, return_inverse=True)   # row-major (h, t) pairs
        super().__init__(keys // n_nodes, keys % n_nodes, (n_nodes, n_nodes), device)
        self.pair = torch.from_numpy(pair.reshape(-1)).to(device)

    def matrices(self, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, A^T), sparse CSR (N, N), from per-triple ``weights`` (T,); pairs sum their triples."""
        return self.build(weights.new_zeros(len(self)).index_add_(0, self.pair, weights))


def message_dropout_(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``F.dropout``'s distribution (:func:`~recommender.models.kgat_ops.dropout_keep`), in place on
    ``x`` (a result of the caller's own)."""
    if not training or p == 0:
        return x
    return x.mul_(dropout_keep(x, p))


def _linear(width_in: int, width_out: int) -> nn.Linear:
    layer = nn.Linear(width_in, width_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class KGAT(OwnOptimizer, RankingModel):
    name = "kgat"
    config_class = KGATConfig
    config: KGATConfig
    fused_adam = True

    def __init__(self, data: RecData, config: KGATConfig, device: torch.device):
        super().__init__(data, config, device)
        kg = ItemKG.from_data(data, "KGAT", inverse=True)
        self.n_nodes, self.n_relations = data.n_users + kg.n_entities, kg.n_relations + 2
        triples = ckg_triples(data, kg)
        dim, k = config.embedding_dim, config.relation_dim
        self.embedding = xavier_embedding(self.n_nodes, dim)
        self.relation_embedding = xavier_embedding(self.n_relations, k)
        bound = math.sqrt(6 / (self.n_relations * (dim + k)))   # TF's Xavier on the (R', D, k) tensor
        self.transfer = nn.Parameter(torch.empty(self.n_relations, dim, k).uniform_(-bound, bound))
        widths = [dim, *config.layer_sizes]
        self.sum_layers = nn.ModuleList(_linear(a, b) for a, b in zip(widths, widths[1:], strict=False))
        self.bi_layers = nn.ModuleList(_linear(a, b) for a, b in zip(widths, widths[1:], strict=False))
        self.head, self.relation, self.tail = (torch.from_numpy(np.ascontiguousarray(column)).to(device)
                                              for column in triples.T)
        self._plan_attention(triples, device)
        self.graph = AttentiveGraph(triples[:, 0], triples[:, 2], self.n_nodes, device)
        initial = laplacian_weights(triples[:, 0], triples[:, 1], self.n_relations)
        self.register_buffer("attention", torch.from_numpy(initial).to(device))   # saved with the weights
        self._build_sampler(data, kg, triples)
        self._adjacency: tuple[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] | None = None

    def _build_sampler(self, data: RecData, kg: ItemKG, triples: np.ndarray) -> None:
        """TransR's triples: the whole CKG over all nodes (the paper's Eq. 2, the authors' code), or
        with ``transr_interactions`` off the KG alone, over entity indices shifted by U (RecBole's)."""
        if self.config.transr_interactions:
            self.sampler, self.transr_offset = TripleSampler(triples, self.n_nodes, self.n_relations), 0
        else:
            self.sampler, self.transr_offset = TripleSampler(kg.triples, kg.n_entities, self.n_relations), data.n_users

    def _plan_attention(self, triples: np.ndarray, device: torch.device) -> None:
        """Per relation: its slice of the triples and the distinct nodes they touch, so that Eq. 4
        projects each node once per relation, not once per triple (13x fewer rows on dbbook2014)."""
        bounds = np.searchsorted(triples[:, 1], np.arange(self.n_relations + 1))
        self.relation_slices, self.relation_nodes = [], []
        local = np.empty((len(triples), 2), dtype=np.int64)      # each triple's (head, tail) among those nodes
        for r in range(self.n_relations):
            first, last = int(bounds[r]), int(bounds[r + 1])
            nodes, inverse = np.unique(triples[first:last, [0, 2]], return_inverse=True)
            local[first:last] = inverse.reshape(-1, 2)
            self.relation_slices.append((r, first, last))
            self.relation_nodes.append(torch.from_numpy(nodes).to(device))
        self.local_head, self.local_tail = (torch.from_numpy(np.ascontiguousarray(c)).to(device) for c in local.T)

    # -- the CF phase --------------------------------------------------------------------------------
    @torch.no_grad()
    def layers(self) -> list[torch.Tensor]:
        """Eq. 3 and 8: e^(0), ..., e^(L) of every node, before Eq. 11's normalisation (the next layer
        reads the un-normalised output), without message dropout or gradient (for scoring; training
        reads its rows through :func:`~recommender.models.kgat_ops.collaborative_rows`).
        Shapes: -> [(N, D), (N, d_1), ..., (N, d_L)]."""
        adjacency, _ = self.attentive_adjacency()
        layers = [self.embedding.detach()]
        for sum_layer, bi_layer in zip(self.sum_layers, self.bi_layers, strict=True):
            side = sparse_dense_mm(adjacency, layers[-1])
            weights = (sum_layer.weight, sum_layer.bias, bi_layer.weight, bi_layer.bias)
            layers.append(bi_interaction(layers[-1], side, weights, None)[0])
        return layers

    def attentive_adjacency(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, A^T) of the current ``attention``, rebuilt only when it has changed (an update, a loaded
        state dict or a move: its storage or in-place version differs) rather than once per batch."""
        key = (self.attention.data_ptr(), self.attention._version)
        if self._adjacency is None or self._adjacency[0] != key:
            self._adjacency = (key, self.graph.matrices(self.attention))
        return self._adjacency[1]

    @staticmethod
    def concatenated(layers: list[torch.Tensor], rows: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 11: e^(0) || e^(1) / |e^(1)| || ... of ``rows`` (all nodes when None); picking rows before
        normalising spares the work on the others. Shapes: -> (rows, D + sum(layer_sizes))."""
        picked = layers if rows is None else [layer[rows] for layer in layers]
        return torch.cat([picked[0], *(F.normalize(layer, dim=1) for layer in picked[1:])], 1)

    def batch_loss(self, users, positives, negatives, epoch):
        rows = torch.cat([users, positives + self.n_users, negatives + self.n_users])
        dropout = self.config.message_dropout if self.training else 0.0
        picked = collaborative_rows(self.embedding, self.attentive_adjacency(), self.sum_layers, self.bi_layers,
                                    rows, dropout)
        user, positive, negative = self.concatenated(picked).split(len(users))
        bpr = bpr_loss(user, positive, negative)
        return {"total": bpr + self.config.l2 * l2_regularizer(user, positive, negative), "bpr": bpr}

    def final_embeddings(self):
        nodes = self.concatenated(self.layers())
        return nodes[:self.n_users], nodes[self.n_users:self.n_users + self.n_items]

    # -- the KG phase --------------------------------------------------------------------------------
    @torch.no_grad()
    def attention_scores(self) -> torch.Tensor:
        """Eq. 4 for every CKG triple, relation by relation (at most ``ATTENTION_CHUNK`` at once). Shapes: -> (T,)."""
        scores = torch.empty(len(self.head), device=self.embedding.device)
        for (r, first, last), nodes in zip(self.relation_slices, self.relation_nodes, strict=True):
            projected = self.embedding[nodes] @ self.transfer[r]            # W_r e for each node of r
            as_head = torch.tanh(projected + self.relation_embedding[r])       # once per node, not per triple
            for start in range(first, last, ATTENTION_CHUNK):
                end = min(start + ATTENTION_CHUNK, last)
                tail, head = projected[self.local_tail[start:end]], as_head[self.local_head[start:end]]
                scores[start:end] = (tail * head).sum(1)
        return scores

    @torch.no_grad()
    def update_attention(self) -> None:
        """Eq. 5: the scores normalised over each head's triples, kept as the next epoch's A."""
        self.attention.copy_(segment_softmax(self.attention_scores(), self.head, self.n_nodes))

    def transr_loss(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                    negative: torch.Tensor) -> torch.Tensor:
        """Eq. 1-2 plus ``kg_l2`` times the L2 of the projected batch, on node indices. Shapes: (B,) x4 -> scalar."""
        return transr_loss(self.embedding, self.relation_embedding, self.transfer, head, relation, tail, negative,
                           self.config.kg_l2)

    def epoch_end(self, optimizer, epoch, generator):
        """The TransR phase (its own Adam), then the attention of the updated embeddings."""
        logged: dict[str, float] = {}
        if self.config.use_transr:
            size, total = self.config.kg_batch_size, 0.0
            steps = len(self.sampler.triples) // size + 1
            for _ in range(steps):
                head, relation, tail, negative = (t.to(self.device) for t in self.sampler.sample(size, generator))
                offset = self.transr_offset
                total += self.own_step(self.transr_loss(head + offset, relation, tail + offset,
                                                                  negative + offset))
            logged["transr"] = total / steps
        if self.config.use_attention:
            self.update_attention()
        return logged

    def own_parameters(self) -> list[nn.Parameter]:
        """What TransR's own Adam trains: e (N, D), e_r (R', k) and W_r (R', D, k)."""
        return [self.embedding, self.relation_embedding, self.transfer]
