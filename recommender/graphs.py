"""Sparse graphs over one node layout, and LightGCN propagation with CSR products (no DGL).

Node layout of the unified CIKG: ``[users | items | entities that are not items | interests]``.
Items linked to a KG entity *are* that entity's node, so item-side knowledge reaches items directly.
Every graph (interaction graph, + interests, + KG, the full CIKG) uses the same layout, so node
embeddings are shared and views are comparable row by row.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from recommender.data import RecData


@dataclass(frozen=True)
class NodeLayout:
    n_users: int
    n_items: int
    entity_node: np.ndarray    # (n_entities,) node index of each KG entity
    interest_offset: int
    n_nodes: int

    def item_node(self, items: np.ndarray) -> np.ndarray:
        return items + self.n_users


def node_layout(data: RecData) -> NodeLayout:
    entity_node = np.full(data.n_entities, -1, dtype=np.int64)
    linked = data.item_entity if data.item_entity is not None else np.full(data.n_items, -1)
    has_entity = linked >= 0
    entity_node[linked[has_entity]] = data.n_users + np.nonzero(has_entity)[0]
    free = np.nonzero(entity_node < 0)[0]
    base = data.n_users + data.n_items
    entity_node[free] = base + np.arange(len(free))
    interest_offset = base + len(free)
    return NodeLayout(data.n_users, data.n_items, entity_node, interest_offset, interest_offset + data.n_interests)


def interaction_edges(data: RecData, layout: NodeLayout) -> np.ndarray:
    return np.stack([data.train[:, 0], layout.item_node(data.train[:, 1])], 1)


def interest_edges(data: RecData, layout: NodeLayout) -> np.ndarray:
    if not data.has_interests:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = data.user_interests
    return np.stack([pairs[:, 0], pairs[:, 1] + layout.interest_offset], 1)


def kg_edges(data: RecData, layout: NodeLayout) -> np.ndarray:
    if not data.has_kg:
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.stack([layout.entity_node[data.triples[:, 0]], layout.entity_node[data.triples[:, 2]]], 1)
    return edges[edges[:, 0] != edges[:, 1]]  # self-loops add nothing to propagation


def normalized_adjacency(edges: np.ndarray, n_nodes: int, device: torch.device | str = "cpu",
                         self_loops: bool = False) -> torch.Tensor:
    """Symmetric D^-1/2 A D^-1/2 of the undirected graph, as a CSR tensor (duplicates merged).

    Shapes: ``edges`` (E, 2) -> sparse (n_nodes, n_nodes).
    """
    both = np.concatenate([edges, edges[:, ::-1]], 0)
    if self_loops:
        loops = np.arange(n_nodes)
        both = np.concatenate([both, np.stack([loops, loops], 1)], 0)
    keys = np.unique(both[:, 0] * n_nodes + both[:, 1])
    rows, cols = keys // n_nodes, keys % n_nodes
    degree = np.bincount(rows, minlength=n_nodes).astype(np.float32)
    inv_sqrt = np.zeros_like(degree)
    inv_sqrt[degree > 0] = degree[degree > 0] ** -0.5
    values = inv_sqrt[rows] * inv_sqrt[cols]
    coo = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols])), torch.from_numpy(values),
                                  (n_nodes, n_nodes), check_invariants=True)
    with warnings.catch_warnings():  # CSR is marked beta, but sparse.mm on CSR is what we rely on
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return coo.coalesce().to_sparse_csr().to(device)


def propagate(adjacency: torch.Tensor, embeddings: torch.Tensor, n_layers: int,
              perturb: float = 0.0, include_input: bool = True) -> torch.Tensor:
    """LightGCN: the mean of ``A^k E`` over layers (k = 0..L, or 1..L without the input layer).

    ``perturb`` > 0 adds SimGCL's random noise of that norm, in the direction of each row's sign,
    after every layer. Shapes: (N, N) sparse, (N, D) -> (N, D).
    """
    layers = [embeddings] if include_input else []
    current = embeddings
    for _ in range(n_layers):
        current = torch.sparse.mm(adjacency, current)
        if perturb > 0:
            noise = torch.nn.functional.normalize(torch.rand_like(current), dim=-1)
            current = current + torch.sign(current) * noise * perturb
        layers.append(current)
    return torch.stack(layers, 0).mean(0)
