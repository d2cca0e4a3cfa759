"""CIKGRec's fidelity options (``ModelConfig.replace_rate`` ... ``transe_steps``): each test fails
when its option is ignored or computed differently from the reference code's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recommender import csr_kernels
from recommender.config import resolve_config
from recommender.data import RecData
from recommender.graphs import (
    EdgeDropout,
    node_layout,
    normalized_adjacency,
    propagate,
    rows_mm,
    sparse_dense_mm,
    symmetric_mm,
)
from recommender.losses import ScoreWorkspace, candidate_info_nce, transe_loss
from recommender.models import build_model
from recommender.models.cikgrec import CIKGRec, transe_triples
from recommender.schedules import MaskSchedule
from recommender.trainer import Trainer

CPU = torch.device("cpu")


def tiny_data() -> RecData:
    """6 users, 5 items (all KG entities), 2 more entities, 2 relations, 10 interests."""
    rng = np.random.default_rng(3)
    train = np.array([(u, i) for u in range(6) for i in rng.choice(5, 3, replace=False)])
    data = RecData("tiny", 6, 5, train, train[:2], train[2:4])
    data.n_entities, data.n_relations, data.n_interests = 7, 2, 10
    data.item_entity = np.arange(5)
    data.triples = np.array([(0, 0, 5), (1, 0, 5), (2, 0, 6), (3, 0, 6), (4, 0, 5), (5, 1, 6), (0, 1, 1), (2, 1, 4)])
    data.user_interests = np.array([(u, j) for u in range(6) for j in (u, (u + 3) % 10, 6 + u % 4)])
    return data


def cikgrec(data: RecData, preset: str | None = None, **overrides) -> CIKGRec:
    model_config, _ = resolve_config("cikgrec", "tiny", preset=preset, **{"embedding_dim": 8, "n_layers": 2,
                                                                           **overrides})
    torch.manual_seed(0)
    return build_model("cikgrec", data, model_config, CPU)


def edge_pairs(data: RecData) -> dict[str, np.ndarray]:
    """The CIKG's edges on node rows, written out here rather than taken from the graph module."""
    layout = node_layout(data)
    kg = np.stack([layout.entity_node[data.triples[:, 0]], layout.entity_node[data.triples[:, 2]]], 1)
    return {"ui": np.stack([data.train[:, 0], data.n_users + data.train[:, 1]], 1),
            "uj": np.stack([data.user_interests[:, 0], layout.interest_offset + data.user_interests[:, 1]], 1),
            "kg": kg[kg[:, 0] != kg[:, 1]]}


def dense_graph(edges: np.ndarray, n: int, loops: np.ndarray) -> torch.Tensor:
    """D^-1/2 A D^-1/2 of the undirected graph with self-loops on ``loops``, densely, in float64."""
    a = torch.zeros(n, n, dtype=torch.float64)
    a[edges[:, 0], edges[:, 1]] = 1
    a[edges[:, 1], edges[:, 0]] = 1
    a[loops, loops] = 1
    degree = a.sum(1)
    inv = torch.where(degree > 0, degree.clamp_min(1e-12) ** -0.5, torch.zeros_like(degree))
    return inv[:, None] * a * inv[None, :]


def dense_propagate(graph: torch.Tensor, x: torch.Tensor, layers: int, include_input: bool) -> torch.Tensor:
    outputs, current = ([x] if include_input else []), x
    for _ in range(layers):
        current = graph @ current
        outputs.append(current)
    return torch.stack(outputs).mean(0)


def support(graph: torch.Tensor) -> set[tuple[int, int]]:
    return {tuple(pair) for pair in graph.to_dense().nonzero().tolist()}


def both_ways(edges: np.ndarray) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in edges} | {(int(b), int(a)) for a, b in edges}


# -- interest reconstruction ------------------------------------------------------------------------
@pytest.mark.parametrize("replace_rate", [0.0, 0.25])
def test_replace_rate_gives_random_interests_rows_to_that_share_of_masked_nodes(monkeypatch, replace_rate) -> None:
    import recommender.models.cikgrec as module

    data = tiny_data()
    model = cikgrec(data, replace_rate=replace_rate, mask=MaskSchedule("fixed", alpha=0.8, omega=0.8))
    with torch.no_grad():
        model.mask_token.fill_(7.0)              # no embedding row looks like this
    inputs, targets = [], []
    propagate, error = module.propagate, module.scaled_cosine_error
    monkeypatch.setattr(module, "propagate", lambda graph, x, *a, **k: inputs.append(x.detach()) or propagate(graph, x, *a, **k))
    monkeypatch.setattr(module, "scaled_cosine_error", lambda z, r, eta: targets.append(z.detach()) or error(z, r, eta))
    model.reconstruction_loss(epoch=0)
    original = model.embedding.detach()
    masked = torch.tensor([int((original == row).all(1).nonzero()) for row in targets[0]])
    assert len(masked) == 8 and bool((masked >= model.layout.interest_offset).all())   # round(0.8 * 10), all in the loss
    encoder_input = inputs[0]
    others = torch.ones(len(original), dtype=torch.bool)
    others[masked] = False
    assert torch.equal(encoder_input[others], original[others])
    token_rows = (encoder_input[masked] == 7.0).all(1)
    assert int((~token_rows).sum()) == int(replace_rate * 8)
    interests = original[model.interest_nodes]
    for row in encoder_input[masked][~token_rows]:           # an interest's embedding, not the token
        assert bool((interests == row).all(1).any())


# -- reconstruction edge dropout ---------------------------------------------------------------------
def test_edge_dropout_keeps_about_one_minus_p_of_undirected_edges_symmetric_and_normalized() -> None:
    rng = np.random.default_rng(0)
    n, p = 300, 0.3
    edges = rng.integers(0, n, (3000, 2))
    undirected = {tuple(sorted(pair)) for pair in edges.tolist() if pair[0] != pair[1]}
    graphs = EdgeDropout(edges, n)
    torch.manual_seed(0)
    graph = graphs.sample(p)
    torch.sparse_csr_tensor(graph.crow_indices(), graph.col_indices(), graph.values(), graph.shape,
                            check_invariants=True)   # sorted, in-range CSR
    dense = graph.to_dense()
    assert torch.equal(dense, dense.T)
    assert bool((dense.diagonal() > 0).all())                       # every node has its self-loop
    off = {tuple(sorted(pair)) for pair in (dense - torch.diag(dense.diagonal())).nonzero().tolist()}
    assert off <= undirected
    assert abs(len(off) / len(undirected) - (1 - p)) < 0.05
    degree = (dense != 0).sum(1).double()
    expected = (dense != 0) * (degree[:, None] * degree[None, :]) ** -0.5
    assert torch.allclose(dense.double(), expected, atol=1e-6)
    assert not torch.equal(graphs.sample(p).to_dense(), dense)     # redrawn on every call


def test_reconstruction_draws_one_dropout_graph_per_batch_for_encoder_and_decoder() -> None:
    data = tiny_data()
    assert cikgrec(data).reconstruction_graphs is None
    model = cikgrec(data, reconstruction_edge_dropout=0.2)
    calls = []
    sample = model.reconstruction_graphs.sample
    model.reconstruction_graphs.sample = lambda p: calls.append(p) or sample(p)
    users, items = torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2])
    for _ in range(2):
        assert torch.isfinite(model.batch_loss(users, items, torch.tensor([3, 4, 4]), 0)["reconstruction"])
    assert calls == [0.2, 0.2]


# -- projection initialisation -----------------------------------------------------------------------
def test_xavier_projection_init_has_xavier_bounds() -> None:
    data = tiny_data()
    dim = 64
    xavier = cikgrec(data, embedding_dim=dim, projection_init="xavier").projection.weight.abs().max()
    default = cikgrec(data, embedding_dim=dim).projection.weight.abs().max()
    assert default <= 1 / dim ** 0.5                               # nn.Linear's kaiming bound
    assert 1 / dim ** 0.5 < xavier <= (6 / (2 * dim)) ** 0.5


# -- contrast modes ----------------------------------------------------------------------------------
def test_paper_contrast_is_eq9_over_all_users_and_items() -> None:
    data = tiny_data()
    model = cikgrec(data, contrast_mode="paper", noise_eps=0.0)
    users, items = torch.tensor([0, 0, 3]), torch.tensor([1, 2, 2])
    loss = model.contrastive_loss(users, items)
    e, n, tau, every = model.embedding.detach().double(), model.layout.n_nodes, 0.2, np.arange(model.layout.n_nodes)
    pairs = edge_pairs(data)
    view1 = dense_propagate(dense_graph(pairs["ui"], n, every), e, 2, include_input=False)
    view2 = dense_propagate(dense_graph(np.concatenate([pairs["ui"], pairs["uj"]]), n, every), e, 2, True)
    view3 = dense_propagate(dense_graph(np.concatenate([pairs["ui"], pairs["kg"]]), n, every), e, 2, True)

    def side(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
        return torch.stack([-torch.log_softmax(a[k] @ b.T / tau, 0)[k] for k in range(len(a))]).mean()

    rows_u, rows_i = slice(0, data.n_users), slice(data.n_users, data.n_users + data.n_items)
    expected = side(view1[rows_u], view2[rows_u]) + side(view1[rows_i], view3[rows_i])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_reference_contrast_is_the_reference_formula_over_interactions() -> None:
    data = tiny_data()
    model = cikgrec(data, contrast_mode="reference", noise_eps=0.0)
    users, items = torch.tensor([0, 0, 3, 5]), torch.tensor([1, 2, 2, 2])   # repeats count
    loss = model.contrastive_loss(users, items)
    e, n, tau, u = model.embedding.detach().double(), model.layout.n_nodes, 0.2, data.n_users
    pairs, anchored = edge_pairs(data), np.arange(data.n_users + data.n_items)
    view1 = dense_propagate(dense_graph(np.concatenate(list(pairs.values())), n, np.zeros(0, int)), e, 2, True)
    view2 = dense_propagate(dense_graph(pairs["uj"], n, anchored), e, 2, True)
    view3 = dense_propagate(dense_graph(pairs["kg"], n, anchored), e, 2, True)
    view1, view2, view3 = (F.normalize(v, dim=-1) for v in (view1, view2, view3))
    user_terms = [torch.logsumexp((view1[a] @ view2[:u].T - view1[a] @ view2[a]) / tau, 0) for a in users.tolist()]
    item_terms = [torch.logsumexp((view1[a] @ view3[u:].T - view1[a] @ view3[a]) / tau, 0)
                  for a in (items + u).tolist()]
    expected = torch.stack(user_terms).mean() + torch.stack(item_terms).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_reference_views_have_exactly_the_reference_edges() -> None:
    data = tiny_data()
    model = cikgrec(data, contrast_mode="reference")
    pairs = edge_pairs(data)
    loops = {(k, k) for k in range(data.n_users + data.n_items)}
    assert support(model.view_perturbed) == both_ways(np.concatenate(list(pairs.values())))   # no self-loops
    assert support(model.view_interests) == both_ways(pairs["uj"]) | loops
    assert support(model.view_kg) == both_ways(pairs["kg"]) | loops


def test_reference_contrast_without_interests_or_kg_drops_that_term() -> None:
    data = tiny_data()
    users, items = torch.tensor([0, 1]), torch.tensor([1, 2])
    for switch, gone in (("use_interests", "view_interests"), ("use_kg", "view_kg")):
        model = cikgrec(data, contrast_mode="reference", **{switch: False})
        assert getattr(model, gone) is None
        assert torch.isfinite(model.contrastive_loss(users, items))
    neither = cikgrec(data, contrast_mode="reference", use_interests=False, use_kg=False)
    assert torch.isfinite(neither.contrastive_loss(users, items))       # SimGCL's own fallback


@pytest.mark.parametrize("temperature", [0.3, 0.01])   # unshifted exp; shifted by the row maximum (1/tau > 70)
def test_candidate_info_nce_backward_matches_autograd(temperature: float) -> None:
    torch.manual_seed(0)
    anchors = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    candidates = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    targets, weights = torch.tensor([0, 3, 3, 8, 1]), torch.tensor([1, 2, 1, 3, 1])
    assert torch.autograd.gradcheck(lambda a, b: candidate_info_nce(a, b, temperature, targets, weights),
                                    (anchors, candidates))
    a, b = F.normalize(anchors, dim=-1), F.normalize(candidates, dim=-1)
    per_row = F.cross_entropy(a @ b.T / temperature, targets, reduction="none")
    expected = (per_row * weights).sum() / weights.sum()
    got = candidate_info_nce(anchors, candidates, temperature, targets, weights)
    assert got.item() == pytest.approx(expected.item(), rel=1e-9)


def test_candidate_info_nce_at_a_tiny_temperature_stays_finite_in_float32() -> None:
    torch.manual_seed(1)
    anchors, candidates = torch.randn(6, 8, requires_grad=True), torch.randn(50, 8, requires_grad=True)
    targets = torch.arange(6)
    loss = candidate_info_nce(anchors, candidates, 0.005, targets)       # logits up to 200: exp overflows unshifted
    loss.backward()
    a, b = F.normalize(anchors.detach(), dim=-1), F.normalize(candidates.detach(), dim=-1)
    assert loss.item() == pytest.approx(F.cross_entropy(a @ b.T / 0.005, targets).item(), rel=1e-4)
    assert torch.isfinite(anchors.grad).all() and torch.isfinite(candidates.grad).all()


def test_candidate_info_nce_in_a_reused_workspace_gives_the_same_loss_and_gradients() -> None:
    torch.manual_seed(0)
    targets, weights = torch.tensor([0, 3, 3, 8, 1]), torch.tensor([1, 2, 1, 3, 1])
    workspace = ScoreWorkspace()
    for step in range(3):   # grows on the first step, then the same block is reused
        anchors = torch.randn(5, 4, requires_grad=True)
        candidates = torch.randn(9 - step, 4, requires_grad=True)
        kept = candidate_info_nce(anchors, candidates, 0.3, targets.clamp(max=8 - step), weights, workspace=workspace)
        kept.backward()
        grads = anchors.grad.clone(), candidates.grad.clone()
        anchors.grad = candidates.grad = None
        fresh = candidate_info_nce(anchors, candidates, 0.3, targets.clamp(max=8 - step), weights)
        fresh.backward()
        assert kept.item() == fresh.item()
        assert torch.equal(grads[0], anchors.grad) and torch.equal(grads[1], candidates.grad)
        if step == 0:
            block = workspace.block.data_ptr()
        assert workspace.block.data_ptr() == block and workspace.block.numel() == 45
    doubles = torch.randn(5, 4, dtype=torch.float64), torch.randn(9, 4, dtype=torch.float64)
    assert torch.isfinite(candidate_info_nce(*doubles, 0.3, targets, workspace=workspace))   # another dtype: allocates
    assert workspace.block.dtype == torch.float32 and workspace.block.data_ptr() == block
    bigger = torch.randn(7, 4), torch.randn(9, 4)                 # grows by a new block, not in place
    candidate_info_nce(*bigger, 0.3, torch.tensor([0, 3, 3, 8, 1, 2, 2]), workspace=workspace)
    assert workspace.block.numel() == 63


@pytest.mark.parametrize("grow", [False, True])
def test_a_workspace_reused_before_the_backward_pass_is_an_error_or_a_new_block_never_a_wrong_gradient(grow: bool) -> None:
    anchors, candidates = torch.randn(5, 4, requires_grad=True), torch.randn(9, 4, requires_grad=True)
    targets, workspace = torch.tensor([0, 3, 3, 8, 1]), ScoreWorkspace()
    first = candidate_info_nce(anchors, candidates, 0.3, targets, workspace=workspace)
    expected = torch.autograd.grad(candidate_info_nce(anchors, candidates, 0.3, targets), (anchors, candidates))
    second = torch.cat([anchors, anchors]) if grow else anchors
    candidate_info_nce(second, candidates * 2, 0.3, targets.repeat(2 if grow else 1), workspace=workspace)
    if not grow:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            first.backward()
        return
    got = torch.autograd.grad(first, (anchors, candidates))   # the old block is the first loss's own
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def _random_graph(dtype: torch.dtype, n: int = 300) -> torch.Tensor:
    rng = np.random.default_rng(2)
    graph = normalized_adjacency(rng.integers(0, n, (2_000, 2)), n, self_loops=True)   # int32 CSR, as trained
    return torch.sparse_csr_tensor(graph.crow_indices(), graph.col_indices(), graph.values().to(dtype), graph.shape,
                                   check_invariants=True)


@pytest.mark.parametrize("torch_threads", [2], indirect=True)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_dense_mm_with_threads_gives_torch_sparse_mm_bit_for_bit(torch_threads: int, dtype: torch.dtype) -> None:
    graph, x = _random_graph(dtype), torch.randn(300, 16, dtype=dtype)
    assert not csr_kernels.applies(graph, x)
    assert torch.equal(sparse_dense_mm(graph, x), torch.sparse.mm(graph, x))
    assert torch.equal(sparse_dense_mm(graph, x.T.contiguous().T), torch.sparse.mm(graph, x))   # column-major input


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
@pytest.mark.parametrize("width", [64, 16, 1])
def test_one_thread_float32_product_runs_the_compiled_kernel_and_equals_torch(torch_threads: int, width: int) -> None:
    graph = _random_graph(torch.float32)
    x = torch.randn(300, width)
    empty_row = torch.sparse_csr_tensor(torch.tensor([0, 0, 2], dtype=torch.int32), torch.tensor([0, 1], dtype=torch.int32),
                                        torch.tensor([0.5, 2.0]), (2, 300), check_invariants=True)
    assert csr_kernels.applies(graph, x)
    for adjacency in (graph, empty_row):
        expected = torch.sparse.mm(adjacency, x)
        for dense in (x, x.T.contiguous().T):                                      # column-major input too
            got = sparse_dense_mm(adjacency, dense)
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    got = sparse_dense_mm(empty_row, x)
    assert torch.equal(got[0], torch.zeros(width))                                 # a row with no entries is 0
    assert torch.equal(got[1], 0.5 * x[0] + 2.0 * x[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rows_mm_is_the_products_rows_with_the_same_gradient(dtype: torch.dtype) -> None:
    graph = _random_graph(dtype)
    rows = torch.tensor([17, 3, 299, 120, 5])
    lonely = torch.sparse_csr_tensor(torch.tensor([0, 0, 1], dtype=torch.int32), torch.tensor([1], dtype=torch.int32),
                                     torch.tensor([2.0], dtype=dtype), (2, 2), check_invariants=True)
    x = torch.randn(300, 8, dtype=dtype, requires_grad=True)
    weight = torch.randn(5, 8, dtype=dtype)
    got = rows_mm(graph, rows, x)
    expected = torch.sparse.mm(graph, x)[rows]
    torch.testing.assert_close(got, expected)
    grads = [torch.autograd.grad((out * weight).sum(), x)[0] for out in (rows_mm(graph, rows, x), expected)]
    torch.testing.assert_close(grads[0], grads[1])
    y = torch.randn(2, 3, dtype=dtype)
    assert torch.equal(rows_mm(lonely, torch.tensor([0, 1]), y), torch.stack([torch.zeros(3, dtype=dtype), 2.0 * y[1]]))


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
def test_one_thread_propagation_gradient_equals_torch(torch_threads: int) -> None:
    graph = _random_graph(torch.float32)
    x = torch.randn(300, 64, requires_grad=True)
    weight = torch.randn(300, 64)
    got = torch.autograd.grad((propagate(graph, x, 3) * weight).sum(), x)[0]
    expected = torch.autograd.grad((_layer_mean(graph, x, 3, 0.0, True) * weight).sum(), x)[0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def _layer_mean(adjacency: torch.Tensor, embeddings: torch.Tensor, n_layers: int, perturb: float,
                include_input: bool) -> torch.Tensor:
    """LightGCN's layer mean written plainly, out of place (the oracle for ``propagate``)."""
    layers, current = ([embeddings] if include_input else []), embeddings
    for _ in range(n_layers):
        current = torch.sparse.mm(adjacency, current)
        if perturb > 0:
            noise = torch.rand_like(current)
            current = current + F.normalize(noise, dim=-1, eps=1e-12) * torch.sign(current) * perturb
        layers.append(current)
    total = layers[0]
    for layer in layers[1:]:
        total = total + layer
    return total / len(layers)


@pytest.mark.parametrize("n_layers,include_input,perturb",
                         [(0, True, 0.0), (1, False, 0.0), (1, True, 0.0), (3, True, 0.0), (3, False, 0.0),
                          (3, True, 0.1), (2, False, 0.1)])
@pytest.mark.parametrize("torch_threads", [2], indirect=True)   # torch's product (one thread: csr_kernels)
def test_propagate_in_place_gives_the_plain_layer_mean_and_its_gradient(n_layers, include_input, perturb,
                                                                        torch_threads) -> None:
    rng = np.random.default_rng(3)
    graph = normalized_adjacency(rng.integers(0, 40, (150, 2)), 40, self_loops=True)
    weights = torch.randn(40, 8)
    results = []
    for implementation in (propagate, _layer_mean):
        embeddings = torch.randn(40, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
        torch.manual_seed(1)
        out = implementation(graph, embeddings, n_layers, perturb, include_input)
        (out * weights).sum().backward()
        results.append((out.detach(), embeddings.grad))
    (ours, our_grad), (plain, plain_grad) = results
    assert torch.equal(ours, plain) and torch.equal(our_grad, plain_grad)   # same operations, same order


def test_symmetric_product_gradient_matches_sparse_mm() -> None:
    rng = np.random.default_rng(1)
    graph = normalized_adjacency(rng.integers(0, 20, (60, 2)), 20, self_loops=True)
    x = torch.randn(20, 3, requires_grad=True)
    weights = torch.randn(20, 3)
    (symmetric_mm(graph, x) * weights).sum().backward()
    ours, x.grad = x.grad.clone(), None
    (torch.sparse.mm(graph, x) * weights).sum().backward()
    assert torch.allclose(ours, x.grad, atol=1e-6)


# -- TransE ------------------------------------------------------------------------------------------
def test_reference_triples_add_inverse_kg_and_interaction_triples() -> None:
    data = tiny_data()
    layout = node_layout(data)
    triples, n_relations, n_kg = transe_triples(data, layout, reference=True)
    n_triples, n_train, relations = len(data.triples), len(data.train), data.n_relations
    assert len(triples) == 2 * n_triples + 2 * n_train and n_relations == 2 * relations + 2 and n_kg == 2 * n_triples
    node = layout.entity_node
    forward = {(node[h], r, node[t]) for h, r, t in data.triples}
    found = {tuple(int(v) for v in row) for row in triples}
    assert {(h, r, t) for h, r, t in forward} <= found
    assert {(t, r + relations, h) for h, r, t in forward} <= found
    assert {(u, 2 * relations, data.n_users + i) for u, i in data.train} <= found
    assert {(data.n_users + i, 2 * relations + 1, u) for u, i in data.train} <= found
    model = cikgrec(data, transe_triples="reference")
    assert model.relation_embedding.shape[0] == 2 * relations + 2
    plain, plain_relations, _ = transe_triples(data, layout, reference=False)
    assert len(plain) == n_triples and plain_relations == relations


def test_squared_transe_distance_by_hand() -> None:
    head, relation = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    tail, wrong = torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 1.0]])   # h+r-t = (1, 1); h+r-t' = (-2, 0)
    assert transe_loss(head, relation, tail, wrong, squared=True).item() == pytest.approx(np.log1p(np.exp(2.0 - 4.0)))
    assert transe_loss(head, relation, tail, wrong).item() == pytest.approx(np.log1p(np.exp(2 ** 0.5 - 2.0)))
    data = tiny_data()
    model = cikgrec(data, transe_distance="squared_l2")
    model.kg_optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    h, r, t, w = torch.tensor([6, 7]), torch.tensor([0, 1]), torch.tensor([11, 12]), torch.tensor([8, 9])
    emb, rel = model.embedding.detach(), model.relation_embedding.detach()
    parts = emb[h], rel[r], emb[t], emb[w]
    expected = transe_loss(*parts, squared=True) + model.config.transe_l2 * sum(p.pow(2).sum() for p in parts) / 4
    assert model._transe_step(h, r, t, w) == pytest.approx(expected.item(), rel=1e-5)


def test_reference_transe_steps_and_head_batches() -> None:
    data = tiny_data()
    model = cikgrec(data, transe_triples="reference", transe_steps="reference", transe_batch_size=5)
    assert model.transe_step_count() == (2 * len(data.triples)) // 5
    steps = []
    model._transe_step = lambda *batch: steps.append(batch) or 0.0
    model.epoch_end(None, 0, torch.Generator().manual_seed(0))
    assert len(steps) == 3
    known = {tuple(int(v) for v in row) for row in model.triples}
    for head, relation, tail, negative in steps:
        assert len(head) == 5 and len(set(head.tolist())) == 5                 # distinct heads
        assert all(tuple(row) in known for row in torch.stack([head, relation, tail], 1).tolist())
        assert not any(tuple(row) in known for row in torch.stack([head, relation, negative], 1).tolist())
        assert bool((negative < model.layout.interest_offset).all())            # never an interest
    big = cikgrec(data, transe_steps="reference", transe_batch_size=10_000)
    assert big.transe_step_count() == 1


# -- the whole preset --------------------------------------------------------------------------------
def test_reference_preset_trains_and_lowers_the_loss_on_a_fixed_batch() -> None:
    data = tiny_data()
    model = cikgrec(data, preset="reference")
    config = model.config
    assert (config.replace_rate, config.contrast_mode, config.transe_steps) == (0.15, "reference", "reference")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    users, positives = torch.from_numpy(data.train[:, 0]), torch.from_numpy(data.train[:, 1])
    negatives = (positives + 1) % data.n_items
    totals = []
    for _ in range(8):
        torch.manual_seed(1)          # the same mask, noise and dropout every step
        losses = model.batch_loss(users, positives, negatives, epoch=0)
        assert {"bpr", "reconstruction", "cl", "total"} <= set(losses)
        assert all(torch.isfinite(value) for value in losses.values())
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
        totals.append(losses["total"].item())
    assert totals[-1] < totals[0]
    assert np.isfinite(model.epoch_end(optimizer, 0, torch.Generator().manual_seed(0))["transe"])


def test_reference_preset_is_deterministic_under_a_seed() -> None:
    data = tiny_data()

    def run() -> list[dict[str, float]]:
        model_config, train_config = resolve_config("cikgrec", "tiny", preset="reference", embedding_dim=8,
                                                    n_layers=2, batch_size=8, transe_batch_size=4, seed=7)
        trainer = Trainer(data, "cikgrec", model_config, train_config, progress=False)
        return [trainer.train_epoch(epoch) for epoch in range(2)]

    assert run() == run()


def test_one_thread_training_takes_the_compiled_routes_and_agrees_with_torchs() -> None:
    """threads=1 trains through numba's CSR product and OpenBLAS's scores; threads=2 through torch's.
    Two epochs of every loss agree to float32 rounding, and each route repeats itself exactly."""
    data, before = tiny_data(), torch.get_num_threads()

    def run(threads: int) -> list[dict[str, float]]:
        model_config, train_config = resolve_config("cikgrec", "tiny", preset="reference", embedding_dim=8,
                                                    n_layers=2, batch_size=8, transe_batch_size=4, seed=7,
                                                    threads=threads)
        trainer = Trainer(data, "cikgrec", model_config, train_config, progress=False)
        graph, dense = trainer.model.cikg, trainer.model.embedding
        assert csr_kernels.applies(graph, dense) == (threads == 1)
        return [trainer.train_epoch(epoch) for epoch in range(2)]

    try:
        one, again, two = run(1), run(1), run(2)
    finally:
        torch.set_num_threads(before)
    assert one == again
    for epoch_one, epoch_two in zip(one, two, strict=True):
        assert epoch_one.keys() == epoch_two.keys()
        for name in epoch_one:
            assert epoch_one[name] == pytest.approx(epoch_two[name], rel=1e-4, abs=1e-6), name


def test_cikgrec_defaults_to_the_reference_transe_and_keeps_its_own_optimiser() -> None:
    """The TransE options were chosen on validation (bench/reproduce_cikgrec.py, 'with forward TransE'
    against 'cikgrec'); the other fidelity options stay kgrec's own unless asked for."""
    model_config, train_config = resolve_config("cikgrec", "dbbook2014")
    transe = (model_config.transe_triples, model_config.transe_distance, model_config.transe_steps,
              model_config.transe_batch_size)
    assert transe == ("reference", "squared_l2", "reference", 4096)
    assert (model_config.contrast_mode, model_config.replace_rate, model_config.projection_init) == ("batch", 0.0, "torch")
    assert (train_config.lr, train_config.batch_size) == (2e-3, 2048)
    forward, _ = resolve_config("cikgrec", "dbbook2014", transe_triples="forward", transe_distance="l2",
                                transe_steps="epoch")
    assert (forward.transe_triples, forward.transe_distance, forward.transe_steps) == ("forward", "l2", "epoch")
