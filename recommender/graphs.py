"""Sparse graphs over one node layout, and LightGCN propagation with CSR products (no DGL).

Node layout of the unified CIKG: ``[users | items | entities that are not items | interests]``.
Items linked to a KG entity *are* that entity's node, so item-side knowledge reaches items directly.
Every graph (interaction graph, + interests, + KG, the full CIKG) uses the same layout, so node
embeddings are shared and views are comparable row by row.

Also here, the CSR pieces the graph models share, each built without a sort per training step:
subgraphs that keep some edges (:class:`EdgeSubgraphs`: CIKGRec's edge dropout, SGL's and KGCL's
interaction views), fixed patterns with their transposes and row means (:class:`SparsePattern`,
:class:`MeanMatrix`: KGAT, KGIN, MCCLK, KGRec), and the product that backpropagates through a
transpose built beforehand (:func:`paired_mm`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from recommender import csr_kernels
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
        return _int32_indices(coo.coalesce().to_sparse_csr()).to(device)


def _int32_indices(csr: torch.Tensor) -> torch.Tensor:
    """The same CSR with 32-bit indices where they fit: the same products, about 10% faster on CPU."""
    if csr.shape[0] >= 2**31 or csr.values().numel() >= 2**31:
        return csr
    return csr_tensor(csr.crow_indices().int(), csr.col_indices().int(), csr.values(), csr.shape)


def self_loop_edges(nodes: np.ndarray) -> np.ndarray:
    """(k, k) pairs for the given nodes, to give only some nodes a self-loop. Shapes: (K,) -> (K, 2)."""
    return np.stack([nodes, nodes], 1)


def csr_tensor(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """``torch.sparse_csr_tensor`` for indices valid by construction: no invariant checks, and no warning
    that CSR is marked beta (sparse products on CSR are what kgrec relies on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


def sorted_csr(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, shape: tuple[int, int],
               counts: torch.Tensor | None = None) -> torch.Tensor:
    """A CSR with 32-bit indices from entries sorted by row (and by column within a row): a bincount
    and a cumsum, no sort. ``counts`` (shape[0],), the entries per row, spares the bincount where the
    caller has it. Shapes: ``rows``, ``cols``, ``values`` (M,) -> (shape[0], shape[1])."""
    if counts is None:
        counts = torch.bincount(rows, minlength=shape[0])
    crow = torch.zeros(shape[0] + 1, dtype=torch.int32, device=cols.device)
    crow[1:] = torch.cumsum(counts, 0)
    return csr_tensor(crow, cols.int(), values, shape)


class EdgeSubgraphs:
    """Subgraphs of one graph that keep a subset of its edges, each as D^-1/2 A' D^-1/2 (CSR).

    The directed entries of every edge are sorted by (row, column) once, each with its edge's index,
    so a subgraph is a mask, a bincount and a cumsum: the CSR is built directly, with no sort per draw.
    Degrees count the kept entries; a node left with none has a zero row.
    Shapes: ``rows``, ``cols``, ``edge`` (M,) entries, ``edge`` in [0, number of edges).
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, edge: np.ndarray, n_nodes: int,
                 device: torch.device | str = "cpu"):
        order = np.argsort(rows * n_nodes + cols, kind="stable")
        self.n_nodes = n_nodes
        self.rows, self.cols, self.edge = (torch.from_numpy(a[order]).to(device) for a in (rows, cols, edge))
        self.cols32 = self.cols.int()     # 32-bit CSR indices multiply faster (see _int32_indices)

    def keep(self, keep_edge: torch.Tensor) -> torch.Tensor:
        """D^-1/2 A' D^-1/2 of the edges with ``keep_edge`` True. Shapes: (edges,) bool -> (N, N) CSR."""
        kept = keep_edge.index_select(0, self.edge).nonzero().squeeze(1)  # index_select: 5x faster than masks
        rows, cols = self.rows.index_select(0, kept), self.cols.index_select(0, kept)
        degree = torch.bincount(rows, minlength=self.n_nodes)
        inv_sqrt = degree.float().pow(-0.5)             # inf only for nodes with no entry, which no entry reads
        values = inv_sqrt.index_select(0, rows) * inv_sqrt.index_select(0, cols)
        return sorted_csr(rows, self.cols32.index_select(0, kept), values, (self.n_nodes, self.n_nodes), degree)


class EdgeDropout(EdgeSubgraphs):
    """Random subgraphs of one undirected graph: drop each edge (both directions), add self-loops, renormalize."""

    def __init__(self, edges: np.ndarray, n_nodes: int, device: torch.device | str = "cpu"):
        pairs = np.sort(edges, 1)
        pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)   # one row per undirected edge
        self.n_edges = len(pairs)
        loops = np.arange(n_nodes)
        rows = np.concatenate([pairs[:, 0], pairs[:, 1], loops])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0], loops])
        edge = np.concatenate([np.arange(len(pairs)), np.arange(len(pairs)), np.full(n_nodes, len(pairs))])
        super().__init__(rows, cols, edge, n_nodes, device)

    def sample(self, p: float) -> torch.Tensor:
        """D^-1/2 (A' + I) D^-1/2 where A' keeps each undirected edge with probability 1 - p (global RNG)."""
        keep_edge = torch.rand(self.n_edges + 1, device=self.rows.device) >= p
        keep_edge[-1] = True                                             # the self-loops always stay
        return self.keep(keep_edge)


class InteractionSubgraphs(EdgeSubgraphs):
    """Subgraphs of the user-item graph (nodes ``[users | items]``, no self-loops) that keep a subset of
    the distinct interactions: the dropout views of SGL and KGCL. ``user``, ``item`` (P,) are each
    distinct interaction's user and item index; :meth:`keep` takes a (P,) mask over them."""

    def __init__(self, pairs: np.ndarray, n_users: int, n_items: int, device: torch.device | str = "cpu"):
        pairs = np.unique(pairs.astype(np.int64), axis=0)
        self.n_users, self.n_items, self.n_edges = n_users, n_items, len(pairs)
        users, items = pairs[:, 0], pairs[:, 1] + n_users
        edge = np.arange(len(pairs))
        super().__init__(np.concatenate([users, items]), np.concatenate([items, users]), np.concatenate([edge, edge]),
                         n_users + n_items, device)
        self.user, self.item = (torch.from_numpy(a).to(device) for a in (pairs[:, 0], pairs[:, 1]))


def sparse_dense_mm(adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``adjacency @ dense``. A one-thread float32 process uses ``csr_kernels`` (20 % faster, equal to
    float32 rounding). Otherwise the same numbers as ``torch.sparse.mm``: on CPU that call zero-fills a
    result, multiplies into a temporary and copies it over; ``addmm`` with ``beta=0`` into an empty
    result skips the zero-fill (about 7 % of a product over dbbook2014's CIKG)."""
    if dense.device.type != "cpu":
        return torch.sparse.mm(adjacency, dense)
    if csr_kernels.applies(adjacency, dense):
        return csr_kernels.csr_dense_mm(adjacency, dense)
    result = torch.empty(adjacency.shape[0], dense.shape[1], dtype=dense.dtype)
    return torch.addmm(result, adjacency, dense, beta=0, out=result)   # beta=0: result's contents unread


class _SymmetricProduct(torch.autograd.Function):
    """``A @ X`` for a symmetric sparse ``A``: the gradient is ``A @ G`` again, which spares torch's
    transpose of ``A`` in the backward pass (2.5x faster forward + backward on CPU)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, adjacency: torch.Tensor,  # type: ignore[override]
                dense: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return sparse_dense_mm(adjacency, dense)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, sparse_dense_mm(ctx.adjacency, grad)


def symmetric_mm(adjacency: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``adjacency @ dense`` for the symmetric graphs built here. Shapes: (N, N) sparse, (N, D) -> (N, D)."""
    return _SymmetricProduct.apply(adjacency, dense)


class SparsePattern:
    """A fixed sparse pattern, and (A, A^T) as CSR with given values on any subset of its entries.

    The entries are sorted by (row, column) once, and by (column, row) for the transpose, so both
    orientations take index_selects, a bincount and a cumsum: a product's backward pass
    (:func:`paired_mm`) multiplies by A^T, where torch would transpose (a sort) on every call.
    Shapes: ``rows``, ``cols`` (N,) distinct entry coordinates in [0, shape[0]) x [0, shape[1]).
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], device: torch.device | str):
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        by_column = np.lexsort((rows, cols))
        self.shape = shape
        self.rows, self.cols = torch.from_numpy(rows).to(device), torch.from_numpy(cols).to(device)
        self.by_column = torch.from_numpy(by_column).to(device)           # entries in (column, row) order
        self.transposed_rows = torch.from_numpy(cols[by_column]).to(device)
        self.transposed_cols = torch.from_numpy(rows[by_column]).to(device)

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, kept: torch.Tensor | None) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """((rows, cols, entries) of A, (rows, cols, entries) of A^T) for the entries ``kept`` (N,)
        bool, each in its matrix's row order; A's entries are None when all are kept."""
        if kept is None:
            return (self.rows, self.cols, None), (self.transposed_rows, self.transposed_cols, self.by_column)
        forward = kept.nonzero().squeeze(1)
        backward = kept.index_select(0, self.by_column).nonzero().squeeze(1)   # positions in (column, row) order
        return ((self.rows.index_select(0, forward), self.cols.index_select(0, forward), forward),
                (self.transposed_rows.index_select(0, backward), self.transposed_cols.index_select(0, backward),
                 self.by_column.index_select(0, backward)))

    def build(self, values: torch.Tensor, kept: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, A^T) from per-entry ``values`` (N,) on the entries ``kept`` (N,) bool (all with None);
        A's values are then ``values[kept]`` in entry order (by row, then column)."""
        (rows, cols, entries), (t_rows, t_cols, t_entries) = self.select(kept)
        return (sorted_csr(rows, cols, values if entries is None else values.index_select(0, entries), self.shape),
                sorted_csr(t_rows, t_cols, values.index_select(0, t_entries), self.shape[::-1]))


class MeanMatrix(SparsePattern):
    """A row-mean matrix (entry (i, j) = 1 / |row i|) on a fixed pattern: ``(A @ X)_i`` is the mean of
    ``X_j`` over row i's entries, a scatter mean that backpropagates without a scatter."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], device: torch.device | str):
        super().__init__(rows, cols, shape, device)
        self.degree = torch.bincount(self.rows, minlength=shape[0])

    def means(self, kept: torch.Tensor | None = None, renormalise: bool = True,
              scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, A^T) on the entries ``kept`` (N,) bool (all with None). Entry (i, j) is ``scale / |row i|``,
        the row counted over the kept entries when ``renormalise`` (a mean over what is left), else
        over all of them."""
        (rows, cols, _), (t_rows, t_cols, _) = self.select(kept)
        counts = self.degree if kept is None else torch.bincount(rows, minlength=self.shape[0])
        row_scale = (counts if renormalise else self.degree).clamp_min(1).float().reciprocal_().mul_(scale)
        return (sorted_csr(rows, cols, row_scale.index_select(0, rows), self.shape, counts),
                sorted_csr(t_rows, t_cols, row_scale.index_select(0, t_cols), self.shape[::-1]))


class _PairedProduct(torch.autograd.Function):
    """``A @ X`` for a sparse ``A`` that takes no gradient: the backward pass is ``A^T @ G`` with the
    transpose built beside ``A`` (:class:`SparsePattern`), never transposed by torch per step."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, matrix: torch.Tensor,  # type: ignore[override]
                transposed: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.transposed = transposed
        return sparse_dense_mm(matrix, dense.contiguous())

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx,  # type: ignore[override]
                 grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:
        return None, None, sparse_dense_mm(ctx.transposed, grad.contiguous())


def paired_mm(pair: tuple[torch.Tensor, torch.Tensor], dense: torch.Tensor) -> torch.Tensor:
    """``A @ dense`` for ``pair = (A, A^T)``, differentiable in ``dense`` only.
    Shapes: (N, M), (M, N) sparse, (M, D) -> (N, D)."""
    return _PairedProduct.apply(pair[0], pair[1], dense)


def rows_mm(adjacency: torch.Tensor, rows: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """``(adjacency @ dense)[rows]`` from those rows' entries alone, differentiable.

    A loss that reads a few rows of a product (the masked interests' decoding) pays for their
    entries, forward and backward, instead of two products over the whole graph.
    Shapes: (N, N) CSR, (R,), (N, D) -> (R, D).
    """
    crow = adjacency.crow_indices()
    starts = crow[rows].long()
    counts = crow[rows + 1].long() - starts
    local = torch.repeat_interleave(torch.arange(len(rows), device=dense.device), counts)   # each entry's row
    entries = (starts - (torch.cumsum(counts, 0) - counts))[local] + torch.arange(len(local), device=dense.device)
    weighted = dense[adjacency.col_indices()[entries].long()] * adjacency.values()[entries, None]
    return torch.zeros(len(rows), dense.shape[1], dtype=dense.dtype, device=dense.device).index_add(0, local, weighted)


def propagate(adjacency: torch.Tensor, embeddings: torch.Tensor, n_layers: int,
              perturb: float = 0.0, include_input: bool = True) -> torch.Tensor:
    """LightGCN: the mean of ``A^k E`` over layers (k = 0..L, or 1..L without the input layer).

    ``adjacency`` must be symmetric (every graph built here is). ``perturb`` > 0 adds SimGCL's random
    noise of that norm, in the direction of each row's sign, after every layer.
    Shapes: (N, N) sparse, (N, D) -> (N, D).
    """
    # A running sum, in place once it is a tensor of its own: on CPU a fresh (N, D) result costs about
    # five times an in-place pass (its memory is not in cache), and adding in place keeps the order of
    # additions, so the same numbers. No backward here needs the sum's or the layers' old values.
    total = embeddings if include_input else None
    owned = False                                      # True once ``total`` is ours to overwrite
    current = embeddings
    for _ in range(n_layers):
        current = symmetric_mm(adjacency, current)
        if perturb > 0:
            with torch.no_grad():   # the noise carries no gradient (sign's is zero): nothing to record
                noise = torch.rand_like(current)
                noise.div_(noise.norm(dim=-1, keepdim=True).clamp_min_(1e-12))   # F.normalize, in place
                noise.mul_(torch.sign(current)).mul_(perturb)
            current = noise.add_(current)              # = current + noise (addition commutes exactly)
        if total is None:
            total = current                            # the next layer's input too: not ours yet
        elif owned:
            total = total.add_(current)
        else:
            total, owned = total + current, True
    layers = n_layers + int(include_input)
    return total.div_(layers) if owned else total / layers
