"""The item knowledge graph as the KG-aware ranking models read it, and the pieces they share.

The export carries KG triples over entities and a link from each item to its entity (or -1).
The KG-aware baselines (CKE, CFKG, KGAT, KGIN, KGCL, MCCLK, KGRec) all treat an item as its
entity, so :class:`ItemKG` renumbers the entities into one space with the items first::

    entity node = [items 0..I-1 | entities linked to no item I..E-1]

which is the node layout of :mod:`recommender.graphs` without the users (and interests). Items
with no entity are nodes with no KG edge; they still take part in the interactions.

Also here: :func:`require_kg` (the clear error for a KG model on a dataset without a usable KG),
:class:`TripleSampler` (uniform KG batches with a corrupted tail, for TransE/TransR terms, the
corruptions checked in a hash set of the known triples, :class:`TripleSet`) and
:func:`segment_softmax` (attention normalised over each head's edges, for KGAT and KGRec).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import torch

from recommender.data import RecData
from recommender.errors import DataError
from recommender.graphs import node_layout


def require_kg(data: RecData, model: str) -> None:
    """Stop a KG-aware model on a dataset whose KG it cannot use, naming the model, the dataset and
    what is missing (no triples at all, or triples that reach no item)."""
    if not data.has_kg:
        raise DataError(f"{model} needs an item knowledge graph, but dataset '{data.dataset}' has no KG triples; "
                        "ingest a dataset with a KG (kgrec ingest cikg / kgat / recbole) or pick a model "
                        "without one (bprmf, lightgcn, sgl, simgcl).")
    linked = data.item_entity if data.item_entity is not None else np.full(data.n_items, -1)
    if not (linked >= 0).any():
        raise DataError(f"{model} needs items linked to KG entities, but dataset '{data.dataset}' links none of "
                        f"its {data.n_items} items to any of its {data.n_entities} entities.")


@dataclass(frozen=True)
class ItemKG:
    """KG triples over entity nodes, items first. Shapes: ``triples`` (T, 3) [head, relation, tail]."""

    n_items: int
    n_entities: int          # E: items plus entities linked to no item
    n_relations: int         # R: the KG's relations (doubled by ``inverse``)
    triples: np.ndarray

    @classmethod
    def from_data(cls, data: RecData, model: str, inverse: bool = False) -> ItemKG:
        """The dataset's KG renumbered; ``inverse`` adds (t, r + R, h) for every (h, r, t), as KGAT,
        KGIN and KGRec propagate both ways. Raises :func:`require_kg`'s error first."""
        require_kg(data, model)
        layout = node_layout(data)
        entity = layout.entity_node - data.n_users
        n_entities = layout.interest_offset - data.n_users
        head, relation, tail = entity[data.triples[:, 0]], data.triples[:, 1], entity[data.triples[:, 2]]
        triples = np.stack([head, relation, tail], 1)
        n_relations = data.n_relations
        if inverse:
            triples = np.concatenate([triples, np.stack([tail, relation + n_relations, head], 1)])
            n_relations *= 2
        return cls(data.n_items, int(n_entities), int(n_relations), triples.astype(np.int64))

    def relation_tail_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(distinct triples (T, 3), relation (K,), tail (K,), pair (T,)): the distinct (relation, tail)
        pairs the triples point to, and each triple's pair, so that a KG hop makes ``e_r * e_t`` once
        per pair (24k of dbbook2014's 268k triples, inverses included) and aggregates it with a sparse
        (E, K) product (KGIN, MCCLK)."""
        triples = np.unique(self.triples, axis=0)
        pairs, pair_of = np.unique(triples[:, 1] * self.n_entities + triples[:, 2], return_inverse=True)
        return triples, pairs // self.n_entities, pairs % self.n_entities, pair_of.reshape(-1)

    def tensors(self, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(head (T,), relation (T,), tail (T,)) as long tensors on ``device``."""
        triples = torch.from_numpy(self.triples).to(device)
        return triples[:, 0], triples[:, 1], triples[:, 2]


class KnownTriples:
    """Membership of (head, relation, tail) in a fixed triple set, vectorised: each triple is one
    integer key ``(head * R + relation) * N + tail`` in a sorted tensor, found by binary search."""

    def __init__(self, triples: torch.Tensor, n_relations: int, n_nodes: int):
        self.n_relations, self.n_nodes = n_relations, n_nodes
        self.keys = torch.unique(self._key(triples[:, 0], triples[:, 1], triples[:, 2]))

    def _key(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
        return (head * self.n_relations + relation) * self.n_nodes + tail

    def contains(self, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
        """(B,) bool: whether each (head, relation, tail) is in the set."""
        keys = self._key(head, relation, tail)
        found = torch.searchsorted(self.keys, keys).clamp_max(len(self.keys) - 1)
        return self.keys[found] == keys


@cache
def _hash_kernels() -> tuple[Any, Any]:
    """(build, known_rows) of :class:`TripleSet`, compiled on first use (cached on disk)."""
    import numba

    golden = np.uint64(0x9E3779B97F4A7C15)      # Fibonacci hashing: the top bits of key * 2^64 / phi

    @numba.njit(boundscheck=False, nogil=True, cache=True)
    def build(keys: np.ndarray, bits: int) -> np.ndarray:
        table = np.full(1 << bits, -1, dtype=np.int64)
        mask, shift = (1 << bits) - 1, np.uint64(64 - bits)
        for key in keys:
            slot = np.int64((np.uint64(key) * golden) >> shift)
            while table[slot] != -1 and table[slot] != key:
                slot = (slot + 1) & mask                 # linear probing
            table[slot] = key
        return table

    @numba.njit(boundscheck=False, nogil=True, cache=True)
    def known_rows(table: np.ndarray, bits: int, head: np.ndarray, relation: np.ndarray, tail: np.ndarray,
                   n_relations: int, n_nodes: int, rows: np.ndarray) -> np.ndarray:
        found = np.empty(len(rows), dtype=np.int64)
        count = 0
        mask, shift = (1 << bits) - 1, np.uint64(64 - bits)
        for row in rows:
            key = (head[row] * n_relations + relation[row]) * n_nodes + tail[row]
            slot = np.int64((np.uint64(key) * golden) >> shift)
            while table[slot] != -1:
                if table[slot] == key:
                    found[count] = row
                    count += 1
                    break
                slot = (slot + 1) & mask
        return found[:count]

    return build, known_rows


class TripleSet:
    """Membership of (head, relation, tail) in a fixed triple set, for a sampler that asks many times
    per epoch: the keys ``(head * R + relation) * N + tail`` in an open-addressing hash table (numba),
    one probe or a few per question where a binary search over the sorted keys (:class:`KnownTriples`)
    takes a cache miss per level (19 levels for dbbook2014's 355k CKG triples).
    Shapes: ``triples`` (T, 3) int64 [head, relation, tail] with heads and tails in [0, N)."""

    def __init__(self, triples: np.ndarray, n_relations: int, n_nodes: int):
        self.n_relations, self.n_nodes = n_relations, n_nodes
        keys = (triples[:, 0] * n_relations + triples[:, 1]) * n_nodes + triples[:, 2]
        self.bits = max(int(2 * max(len(keys), 1) - 1).bit_length(), 4)   # at most half full
        self.table = _hash_kernels()[0](np.ascontiguousarray(keys, dtype=np.int64), self.bits)

    def known_rows(self, head: np.ndarray, relation: np.ndarray, tail: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The entries of ``rows`` (ascending positions into the (B,) index arrays) whose triple is in
        the set, in their order. Shapes: (B,) x3, (K,) -> (K',)."""
        return _hash_kernels()[1](self.table, self.bits, head, relation, tail, self.n_relations, self.n_nodes, rows)


class TripleSampler:
    """Uniform batches of KG triples, each with a random negative tail that is no known tail of
    its (head, relation): the corrupted triples of TransE/TransR objectives (CKE, CFKG, KGAT).
    A clash with a known triple is redrawn (up to 10 rounds).
    """

    def __init__(self, triples: np.ndarray, n_entities: int, n_relations: int):
        self.triples = torch.from_numpy(np.ascontiguousarray(triples, dtype=np.int64))
        self.n_entities, self.n_relations = n_entities, n_relations
        self.known = TripleSet(self.triples.numpy(), n_relations, n_entities)

    def sample(self, size: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """(head, relation, tail, negative tail), each (size,), on the CPU; from ``generator``, else
        from torch's global generator (which the trainer seeds and checkpoints)."""
        picked = torch.randint(0, len(self.triples), (size,), generator=generator)
        head, relation, tail = self.triples[picked].T.contiguous()
        negative = torch.randint(0, self.n_entities, (size,), generator=generator)
        # Only the redrawn negatives are checked again: the others were checked and are unchanged, so
        # the clashes, and with them the draws, are those of checking the whole batch every round (a
        # popular head keeps a few clashing for all ten rounds).
        columns, pending = (head.numpy(), relation.numpy()), np.arange(size)
        for _ in range(10):
            pending = self.known.known_rows(*columns, negative.numpy(), pending)
            if not len(pending):
                break
            negative[torch.from_numpy(pending)] = torch.randint(0, self.n_entities, (len(pending),),
                                                                generator=generator)
        return head, relation, tail, negative


def segment_softmax(scores: torch.Tensor, segments: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of ``scores`` within each segment (e.g. the edges leaving one head).

    Shapes: ``scores`` (T,), ``segments`` (T,) long in [0, n_segments) -> (T,); each segment's
    values sum to 1. The segment maximum is subtracted first, so large scores do not overflow.
    """
    top = torch.full((n_segments,), float("-inf"), dtype=scores.dtype, device=scores.device)
    top = top.scatter_reduce(0, segments, scores, reduce="amax", include_self=True)
    weights = torch.exp(scores - top[segments])
    total = torch.zeros(n_segments, dtype=scores.dtype, device=scores.device).index_add_(0, segments, weights)
    return weights / total[segments].clamp_min(1e-12)


def scatter_mean(values: torch.Tensor, index: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Mean of the rows of ``values`` that share an ``index``; rows no index names are zero.
    Shapes: (T, D), (T,) -> (n_rows, D)."""
    total = torch.zeros(n_rows, values.shape[1], dtype=values.dtype, device=values.device).index_add_(0, index, values)
    count = torch.bincount(index, minlength=n_rows).clamp_min(1).to(values.dtype)
    return total / count[:, None]
