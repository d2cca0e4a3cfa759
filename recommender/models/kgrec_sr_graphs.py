"""The graphs KGRec (``kgrec-sr``) redraws at every training step, built from index arrays fixed once.

* :class:`RelationalTriples`: the KG's triples sorted by head, each tied to its distinct
  (tail, relation) pair, so that ``e_t ⊙ e_r`` and ``(e_t W^Q) ⊙ e_r`` are made once per pair (24k
  pairs against 268k triples on dbbook2014, inverses included) for the torch path; a
  relation-stratified sample of the triples (on the CPU a numba selection per relation, 2x faster
  than one sort of all of them, the same triples); subsets that keep the head order (a CSR over
  heads, read row by row); and, for a subset, the mean-over-each-head's-triples matrix and its
  transpose (the torch path of the KG view).
* :class:`Interactions`: the user -> item mean-aggregation matrix (weight 1 / |N_u|) and its
  transpose as CSR pairs (a :class:`~recommender.graphs.MeanMatrix`), for any subset of the
  interactions; :func:`~recommender.graphs.paired_mm` multiplies by one and differentiates through
  the other, so no sparse transpose is made per step.

Neither depends on KGRec's parameters: a KG model with relation-aware sampling or interaction
dropout can use them too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recommender.graphs import MeanMatrix, sorted_csr
from recommender.models import kgrec_sr_kernels as kernels


@dataclass(frozen=True)
class TripleSet:
    """A subset of the triples, in head order: ``columns`` (4, T) long holds head, relation, tail and
    the (tail, relation) pair of each, so that a subset is one ``index_select``."""

    columns: torch.Tensor

    @property
    def head(self) -> torch.Tensor:
        return self.columns[0]

    @property
    def relation(self) -> torch.Tensor:
        return self.columns[1]

    @property
    def tail(self) -> torch.Tensor:
        return self.columns[2]

    @property
    def pair(self) -> torch.Tensor:
        return self.columns[3]

    def select(self, index: torch.Tensor) -> TripleSet:
        """The triples at ``index`` (a boolean mask, or positions in increasing order). On the CPU through
        numpy, whose ``flatnonzero`` and ``take`` are 10x and 2x faster than torch's on one thread."""
        if self.columns.device.type != "cpu":
            return TripleSet(self.columns.index_select(1, index.nonzero().squeeze(1) if index.dtype == torch.bool
                                                       else index))
        positions = np.flatnonzero(index.numpy()) if index.dtype == torch.bool else index.numpy()
        return TripleSet(torch.from_numpy(np.take(self.columns.numpy(), positions, axis=1)))

    def __len__(self) -> int:
        return self.columns.shape[1]


class RelationalTriples:
    """(head, relation, tail) triples over E entities; ``pair_tail``/``pair_relation`` (P,) list the
    distinct (tail, relation) pairs the triples point to."""

    def __init__(self, triples: np.ndarray, n_entities: int, device: torch.device | str = "cpu"):
        triples = np.unique(np.asarray(triples, dtype=np.int64), axis=0)
        n_relations = int(triples[:, 1].max()) + 1 if len(triples) else 1
        pairs, pair = np.unique(triples[:, 2] * n_relations + triples[:, 1], return_inverse=True)
        pair = pair.reshape(-1)
        order = np.lexsort((pair, triples[:, 0]))       # by head, then pair: sorted CSR columns
        triples, pair = triples[order], pair[order]
        to = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
        self.n_entities = n_entities
        self.all = TripleSet(to(np.stack([triples[:, 0], triples[:, 1], triples[:, 2], pair])))
        self.pair_tail, self.pair_relation = to(pairs // n_relations), to(pairs % n_relations)
        # stratified sampling: positions grouped by relation, and each relation's first position
        order = np.argsort(triples[:, 1], kind="stable")
        counts = np.bincount(triples[:, 1], minlength=n_relations)
        self.by_relation, self.relation_sorted = to(order), to(triples[order, 1])
        self.rank_in_relation = to(np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts))
        self.relation_count = to(counts)
        self.relation_start = to(np.concatenate([[0], np.cumsum(counts)]))

    def sample(self, rate: float) -> TripleSet:
        """floor(rate * n_r) triples of each relation r, uniformly without replacement (global RNG): the
        triples of the smallest of n random 31-bit draws in each relation, equal draws ranked by
        position (on the CPU a numba selection per relation; elsewhere one sort of
        relation * 2^31 + draw, whose radix sort ranks ties so too)."""
        if rate >= 1:
            return self.all
        n, device = len(self.by_relation), self.by_relation.device
        draws = torch.randint(0, 2**31, (n,), device=device)
        quota = (self.relation_count.double() * rate).long()
        keep = torch.zeros(n, dtype=torch.bool, device=device)
        if device.type == "cpu":
            kernels.stratified_keep()(draws.numpy(), self.relation_start.numpy(), quota.numpy(),
                                      self.by_relation.numpy(), keep.numpy())
        else:
            ranked = torch.argsort(self.relation_sorted * 2**31 + draws)     # integer keys: radix sort
            keep[self.by_relation[ranked[self.rank_in_relation < quota[self.relation_sorted]]]] = True
        return self.all.select(keep)

    def mean_graphs(self, triples: TripleSet) -> tuple[torch.Tensor, torch.Tensor]:
        """(M (E, P), M^T (P, E)) CSR with M[h, p] = 1 / |N_h| for each of ``triples``: ``M @ X`` is
        the mean of X[p] over each head's triples (zero for a head with none)."""
        n_pairs = len(self.pair_tail)
        degree = torch.bincount(triples.head, minlength=self.n_entities)
        weight = 1.0 / degree[triples.head].float()
        by_head = sorted_csr(triples.head, triples.pair, weight, (self.n_entities, n_pairs))
        order = torch.argsort(triples.pair * self.n_entities + triples.head)
        by_pair = sorted_csr(triples.pair[order], triples.head[order], weight[order], (n_pairs, self.n_entities))
        return by_head, by_pair


class Interactions(MeanMatrix):
    """The train interactions as the user -> item mean matrix (U, I), each weighted 1 / |N_u| (train
    degree), on any subset of them; entries are sorted by (user, item), ``items`` (P,) their items."""

    def __init__(self, train: np.ndarray, n_users: int, n_items: int, device: torch.device | str = "cpu"):
        pairs = np.unique(np.asarray(train, dtype=np.int64), axis=0)
        super().__init__(pairs[:, 0], pairs[:, 1], (n_users, n_items), device)
        self.items = self.cols
        self.full = self.means(renormalise=False)

    def dropout(self, keep_rate: float) -> torch.Tensor:
        """Positions of the interactions kept, each with probability ``keep_rate`` (global RNG), increasing."""
        keep = torch.rand(len(self), device=self.rows.device) < keep_rate
        return keep.nonzero().squeeze(1)

    def graphs(self, kept: torch.Tensor, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(A (U, I), A^T (I, U)) CSR over the interactions at positions ``kept``, with weights scale / |N_u|."""
        mask = torch.zeros(len(self), dtype=torch.bool, device=kept.device)
        mask[kept] = True
        return self.means(mask, renormalise=False, scale=scale)
