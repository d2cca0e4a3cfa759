"""CIKGRec (Hu et al., AAAI 2025): LightGCN on the Collaborative Interest Knowledge Graph.

Objective (Eq. 11): ``bpr_weight * L_r + reconstruction_weight * L_u + cl_weight * L_c``, with
TransE on the KG (Eq. 12) after every epoch (alternating, as in the paper, with its own optimizer).

- ``L_r`` (Eq. 10): BPR on the l-layer propagation over the full CIKG.
- ``L_u`` (Eq. 3-7): mask a scheduled share of interest nodes with a learnable token, encode
  with l-1 layers, project linearly, decode with one propagation, scaled cosine error.
- ``L_c`` (Eq. 8-9): InfoNCE between the noise-perturbed interaction graph (view 1) and
  interaction + interest graph (view 2) for users, and view 1 and interaction + KG (view 3) for
  items. Items are their KG entities' nodes, so the KG is "mapped to items" (M(G_K, P)).
Every part can be switched off (``use_*`` flags) for the ablations; a dataset without
interests or KG switches the matching parts off and says so in ``notes``.

The fidelity options of ``CIKGRecConfig`` (``recommender.models.configs``: ``replace_rate`` ...
``transe_steps``) each switch one part to what the reference code (laowangzi/CIKGRec) does where
it differs from the paper or from kgrec's defaults; ``PRESETS["cikgrec"]["reference"]`` switches
all of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from recommender.data import RecData
from recommender.graphs import (
    EdgeDropout,
    NodeLayout,
    interaction_edges,
    interest_edges,
    kg_edges,
    node_layout,
    normalized_adjacency,
    propagate,
    rows_mm,
    self_loop_edges,
)
from recommender.kg import KnownTriples
from recommender.losses import (
    ScoreWorkspace,
    bpr_loss,
    candidate_info_nce,
    info_nce,
    l2_regularizer,
    scaled_cosine_error,
    transe_loss,
)
from recommender.models.base import OwnOptimizer, RankingModel, gather_rows, xavier_embedding
from recommender.models.configs import CIKGRecConfig


def transe_triples(data: RecData, layout: NodeLayout, reference: bool) -> tuple[np.ndarray, int, int]:
    """TransE's (head node, relation, tail node) triples, the relation count and the KG triple count.

    ``reference`` adds what the reference's TransE also trains on: each KG triple inverted (relation
    r + R), and every train interaction as user -> item (relation 2R) and item -> user (2R + 1).
    """
    node, relations = layout.entity_node, data.n_relations
    head, relation, tail = node[data.triples[:, 0]], data.triples[:, 1], node[data.triples[:, 2]]
    forward = np.stack([head, relation, tail], 1)
    if not reference:
        return forward.astype(np.int64), relations, len(forward)
    users, items = data.train[:, 0], layout.item_node(data.train[:, 1])
    parts = [forward, np.stack([tail, relation + relations, head], 1),
             np.stack([users, np.full_like(users, 2 * relations), items], 1),
             np.stack([items, np.full_like(users, 2 * relations + 1), users], 1)]
    return np.concatenate(parts).astype(np.int64), 2 * relations + 2, 2 * len(forward)


class HeadSampler:
    """The reference's TransE batches: distinct random heads, one of each head's (relation, tail) at
    random, and a random negative tail from ``pool`` that is no known tail of (head, relation).

    Vectorized: triples grouped by head once; known triples checked by :class:`KnownTriples`.
    """

    def __init__(self, triples: torch.Tensor, n_relations: int, pool: torch.Tensor):
        self.triples = triples[torch.argsort(triples[:, 0], stable=True)]
        self.heads, self.counts = torch.unique_consecutive(self.triples[:, 0], return_counts=True)
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self.pool = pool
        n_nodes = int(max(triples[:, [0, 2]].max().item(), pool.max().item())) + 1
        self.known = KnownTriples(triples, n_relations, n_nodes)

    def sample(self, size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """(head, relation, tail, negative tail), each (size,); on the CPU, drawn from ``generator``."""
        n_heads = len(self.heads)
        if size <= n_heads:
            picked = torch.randperm(n_heads, generator=generator)[:size]
        else:
            picked = torch.randint(0, n_heads, (size,), generator=generator)
        offset = (torch.rand(size, generator=generator, dtype=torch.float64) * self.counts[picked]).long()
        head, relation, tail = self.triples[self.starts[picked] + offset].unbind(1)
        negative = self.pool[torch.randint(0, len(self.pool), (size,), generator=generator)]
        for _ in range(10):   # rejection: redraw the negatives that are known tails
            clash = self.known.contains(head, relation, negative)
            if not clash.any():
                break
            negative[clash] = self.pool[torch.randint(0, len(self.pool), (int(clash.sum()),), generator=generator)]
        return head, relation, tail, negative


class CIKGRec(OwnOptimizer, RankingModel):
    name = "cikgrec"
    config_class = CIKGRecConfig
    config: CIKGRecConfig

    def __init__(self, data: RecData, config: CIKGRecConfig, device: torch.device):
        super().__init__(data, config, device)
        self.use_interests = config.use_interests and data.has_interests
        self.use_kg = config.use_kg and data.has_kg
        if config.use_interests and not data.has_interests:
            self.notes.append("dataset has no user interests: interest graph, view 2 and reconstruction are off")
        if config.use_kg and not data.has_kg:
            self.notes.append("dataset has no KG: KG edges, view 3 and TransE are off")
        self.use_reconstruction = config.use_reconstruction and self.use_interests
        self.use_contrastive = config.use_contrastive
        self.use_transe = config.use_transe and self.use_kg
        self.score_workspaces: dict[int, ScoreWorkspace] = {}     # paper/reference contrast: see candidate_info_nce
        self.layout = node_layout(data)
        dim = config.embedding_dim
        self.embedding = xavier_embedding(self.layout.n_nodes, dim)
        self._build_graphs(data, device)
        if self.use_reconstruction:
            self.mask_token = nn.Parameter(torch.zeros(1, dim))
            self.projection = nn.Linear(dim, dim)
            if config.projection_init == "xavier":
                nn.init.xavier_uniform_(self.projection.weight)
            self.interest_nodes = torch.arange(self.layout.interest_offset, self.layout.n_nodes, device=device)
        if self.use_transe:
            self._build_transe(data, device)

    def _build_graphs(self, data: RecData, device: torch.device) -> None:
        n = self.layout.n_nodes
        loops = self.config.self_loops
        ui = interaction_edges(data, self.layout)
        uj = interest_edges(data, self.layout) if self.use_interests else np.zeros((0, 2), np.int64)
        kg = kg_edges(data, self.layout) if self.use_kg else np.zeros((0, 2), np.int64)
        cikg = np.concatenate([ui, uj, kg])
        self.cikg = normalized_adjacency(cikg, n, device, loops)
        self.reconstruction_graphs = (EdgeDropout(cikg, n, device)
                                      if self.config.reconstruction_edge_dropout > 0 else None)
        if self.use_contrastive:
            self._build_views(ui, uj, kg, device)

    def _build_views(self, ui: np.ndarray, uj: np.ndarray, kg: np.ndarray, device: torch.device) -> None:
        """Eq. 8's graphs: view 1 the interactions (noise is added when propagating), views 2 and 3
        interactions + interests and interactions + KG. ``reference`` mode builds what the reference
        code contrasts instead: view 1 the whole CIKG without self-loops, views 2 and 3 the interests
        and the KG, each with a self-loop on every user and item and no interaction edges."""
        n, loops = self.layout.n_nodes, self.config.self_loops
        if self.config.contrast_mode == "reference":
            self.view_perturbed = normalized_adjacency(np.concatenate([ui, uj, kg]), n, device)
            base, loops = self_loop_edges(np.arange(self.n_users + self.n_items)), False
        else:
            self.view_perturbed = normalized_adjacency(ui, n, device, loops)
            base = ui

        def side(edges: np.ndarray) -> torch.Tensor:
            return normalized_adjacency(np.concatenate([base, edges]), n, device, loops)

        self.view_interests = side(uj) if self.use_interests else None
        self.view_kg = side(kg) if self.use_kg else None

    def _build_transe(self, data: RecData, device: torch.device) -> None:
        """TransE's triples over node rows; negatives come from the nodes the triples live on (KG
        entities, or every node but the interests once users and items are heads too)."""
        reference = self.config.transe_triples == "reference"
        triples, n_relations, self.n_kg_triples = transe_triples(data, self.layout, reference)
        self.relation_embedding = xavier_embedding(n_relations, self.config.embedding_dim)
        self.triples = torch.from_numpy(triples).to(device)
        pool = np.arange(self.layout.interest_offset) if reference else self.layout.entity_node
        self.negative_pool = torch.from_numpy(pool).to(device)
        self.head_sampler = (HeadSampler(torch.from_numpy(triples), n_relations, torch.from_numpy(pool))
                             if self.config.transe_steps == "reference" else None)

    # -- parts -------------------------------------------------------------------------------------
    def item_nodes(self, items: torch.Tensor) -> torch.Tensor:
        return items + self.n_users

    def reconstruction_loss(self, epoch: int) -> torch.Tensor:
        """Eq. 5-7 on a random subset of interest nodes, of size rate(epoch) * |J|.

        With ``reconstruction_edge_dropout`` the encoder and decoder share a graph redrawn per batch.
        """
        rate = self.config.mask.rate(epoch)
        n_masked = max(1, int(round(rate * len(self.interest_nodes))))
        masked = self.interest_nodes[torch.randperm(len(self.interest_nodes), device=self.device)[:n_masked]]
        masked_input = self.embedding.index_put((masked,), self._masked_rows(n_masked))
        graph = self.cikg
        if self.reconstruction_graphs is not None:
            graph = self.reconstruction_graphs.sample(self.config.reconstruction_edge_dropout)
        encoded = propagate(graph, masked_input, self.config.n_layers - 1)
        projected = self.projection(encoded).index_fill(0, masked, 0.0)  # re-mask before decoding
        decoded = rows_mm(graph, masked, projected)                      # only the masked rows are scored
        return scaled_cosine_error(self.embedding[masked], decoded, self.config.eta)

    def _masked_rows(self, n_masked: int) -> torch.Tensor:
        """The masked interests' new rows: the token, except that the first ``int(replace_rate * n)``
        (a random subset: the masked order is random) take a random interest's embedding, GraphMAE's
        noise that keeps the encoder from relying on the token alone."""
        n_noise = int(self.config.replace_rate * n_masked)
        token = self.mask_token.expand(n_masked - n_noise, -1)
        if n_noise == 0:
            return token
        donors = self.interest_nodes[torch.randperm(len(self.interest_nodes), device=self.device)[:n_noise]]
        return torch.cat([self.embedding[donors], token])

    def contrastive_loss(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Eq. 9 between view 1 and the side views; who is contrasted with whom is ``contrast_mode``'s
        (see ``_side_loss``). Without interests there is no view-2 term, without KG no view-3 term."""
        cfg = self.config
        if self.view_interests is None and self.view_kg is None:
            return self._simgcl_loss(users, items)
        reference = cfg.contrast_mode == "reference"
        view1 = propagate(self.view_perturbed, self.embedding, cfg.n_layers, perturb=cfg.noise_eps,
                          include_input=reference)
        loss = torch.zeros((), device=self.device)
        if self.view_interests is not None:
            view2 = propagate(self.view_interests, self.embedding, cfg.n_layers)
            loss = loss + self._side_loss(view1, view2, users, 0, self.n_users)
        if self.view_kg is not None:
            view3 = propagate(self.view_kg, self.embedding, cfg.n_layers)
            last = self.layout.n_nodes if reference else self.n_users + self.n_items
            loss = loss + self._side_loss(view1, view3, self.item_nodes(items), self.n_users, last)
        return loss

    def _side_loss(self, view1: torch.Tensor, side: torch.Tensor, anchors: torch.Tensor,
                   first: int, last: int) -> torch.Tensor:
        """InfoNCE of view 1 against a side view for one kind of node, whose rows are ``first:last``.

        batch: the batch's distinct nodes, against each other. paper: Eq. 9 as written, every node
        of the kind against all of them, averaged (not summed, so ``cl_weight`` keeps its scale).
        reference: each interaction's node (repeats count) against every row ``first:last``
        (users: all users; items: every non-user node), which is the reference's
        logsumexp((sim - sim_pos) / tau); repeats are scored once and weighted.
        """
        tau = self.config.temperature
        if self.config.contrast_mode == "batch":
            nodes = torch.unique(anchors)
            return info_nce(view1[nodes], side[nodes], tau)
        if self.config.contrast_mode == "paper":
            return candidate_info_nce(view1[first:last], side[first:last], tau,
                                      torch.arange(last - first, device=self.device),
                                      workspace=self._score_workspace(first))
        nodes, counts = torch.unique(anchors, return_counts=True)
        return candidate_info_nce(view1[nodes], side[first:last], tau, nodes - first, counts,
                                  workspace=self._score_workspace(first))

    def _score_workspace(self, first: int) -> ScoreWorkspace:
        """One reusable block per side (users, non-user nodes) for its (anchors, candidates) scores."""
        return self.score_workspaces.setdefault(first, ScoreWorkspace())

    def _simgcl_loss(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """No side views: SimGCL's own loss, two noise-perturbed views of view 1's graph."""
        cfg = self.config
        view1, view2 = (propagate(self.view_perturbed, self.embedding, cfg.n_layers, perturb=cfg.noise_eps,
                                  include_input=False) for _ in range(2))
        u, i = torch.unique(users), self.item_nodes(torch.unique(items))
        return info_nce(view1[u], view2[u], cfg.temperature) + info_nce(view1[i], view2[i], cfg.temperature)

    # -- contract ----------------------------------------------------------------------------------
    def batch_loss(self, users, positives, negatives, epoch):
        cfg = self.config
        nodes = propagate(self.cikg, self.embedding, cfg.n_layers)
        pos, neg = self.item_nodes(positives), self.item_nodes(negatives)
        bpr = bpr_loss(*gather_rows(nodes, users, pos, neg))
        reg = cfg.l2 * l2_regularizer(*gather_rows(self.embedding, users, pos, neg))
        losses = {"bpr": bpr}
        total = cfg.bpr_weight * bpr + reg
        if self.use_reconstruction:
            losses["reconstruction"] = self.reconstruction_loss(epoch)
            total = total + cfg.reconstruction_weight * losses["reconstruction"]
        if self.use_contrastive:
            losses["cl"] = self.contrastive_loss(users, positives)
            total = total + cfg.cl_weight * losses["cl"]
        losses["total"] = total
        return losses

    def epoch_end(self, optimizer, epoch, generator):
        """TransE (Eq. 12) on the KG triples, with its own optimizer: one shuffled pass with random
        negative tails, or (``transe_steps="reference"``) n_kg // batch steps of random heads."""
        if not self.use_transe:
            return {}
        total, steps = 0.0, 0
        for head, relation, tail, negative in self._transe_batches(generator):
            total, steps = total + self._transe_step(head, relation, tail, negative), steps + 1
        return {"transe": total / max(steps, 1)}

    def transe_step_count(self) -> int:
        """TransE steps per epoch. ``reference`` mode: KG triples (with their inverses under
        ``transe_triples="reference"``, never the interaction triples) // batch size, at least 1;
        ``epoch`` mode: one pass over all the triples, the last batch partial."""
        size = self.config.transe_batch_size
        if self.head_sampler is None:
            return -(-len(self.triples) // size)
        return max(1, self.n_kg_triples // size)

    def _transe_batches(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
        """(head, relation, tail, negative) node-index batches for one epoch of TransE."""
        size = self.config.transe_batch_size
        if self.head_sampler is not None:
            for _ in range(self.transe_step_count()):
                yield tuple(t.to(self.device) for t in self.head_sampler.sample(size, generator))
            return
        order = torch.randperm(len(self.triples), generator=generator).to(self.device)
        for start in range(0, len(order), size):
            head, relation, tail = self.triples[order[start:start + size]].unbind(1)
            picked = torch.randint(0, len(self.negative_pool), (len(head),), generator=generator).to(self.device)
            yield head, relation, tail, self.negative_pool[picked]

    def _transe_step(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor,
                     negative: torch.Tensor) -> float:
        """One optimizer step of Eq. 12 (+ L2) on node-index triples; returns the loss."""
        cfg = self.config
        h, t, wrong = gather_rows(self.embedding, head, tail, negative)
        r = self.relation_embedding[relation]
        loss = (transe_loss(h, r, t, wrong, squared=cfg.transe_distance == "squared_l2")
                + cfg.transe_l2 * l2_regularizer(h, r, t, wrong))
        return self.own_step(loss)

    def final_embeddings(self):
        nodes = propagate(self.cikg, self.embedding, self.config.n_layers)
        return nodes[:self.n_users], nodes[self.n_users:self.n_users + self.n_items]

    def final_interest_embeddings(self) -> torch.Tensor | None:
        """The interest nodes' rows of the same propagation (the layout's last rows); None with interests off."""
        if not self.use_interests:
            return None
        nodes = propagate(self.cikg, self.embedding, self.config.n_layers)
        return nodes[self.layout.interest_offset:]
