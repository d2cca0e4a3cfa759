"""KGAT's own maths on a three-node CKG, computed by hand: the initial Laplacian, the
knowledge-aware attention (Eq. 4-5), the bi-interaction layer (Eq. 8, 11), TransR (Eq. 1-2), and
the clear error on a dataset without a KG."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recommender import csr_kernels, graphs
from recommender.config import resolve_config
from recommender.data import RecData
from recommender.errors import DataError
from recommender.graphs import paired_mm
from recommender.models import build_model
from recommender.models.kgat import KGAT, message_dropout_
from recommender.models.kgat_ops import LEAKY_SLOPE, collaborative_rows


def three_nodes() -> RecData:
    """User 0 bought items 0 and 1 (nodes 1 and 2); the KG says item 0 -r0-> item 1.

    CKG relations: r0, its inverse 1, interact 2 (user -> item) and 3 (item -> user).
    """
    empty = np.zeros((0, 2), dtype=np.int64)
    data = RecData("three", 1, 2, np.array([[0, 0], [0, 1]]), empty, empty)
    data.n_entities, data.n_relations = 2, 1
    data.item_entity = np.array([0, 1])
    data.triples = np.array([[0, 0, 1]])
    return data


def model(**settings) -> KGAT:
    config, _ = resolve_config("kgat", "three", embedding_dim=2, relation_dim=2, layer_sizes=(2,),
                               message_dropout=0.0, **settings)
    torch.manual_seed(0)
    built = build_model("kgat", three_nodes(), config, torch.device("cpu"))
    built.eval()
    return built


def test_the_initial_attention_is_the_random_walk_laplacian() -> None:
    """Per relation, 1 / (h's triples of that relation): the user's two interactions share 1/2."""
    kgat = model()
    weights = {(h, r, t): float(a) for h, r, t, a in zip(kgat.head.tolist(), kgat.relation.tolist(),
                                                        kgat.tail.tolist(), kgat.attention, strict=True)}
    assert weights == {(1, 0, 2): 1.0, (2, 1, 1): 1.0, (0, 2, 1): 0.5, (0, 2, 2): 0.5, (1, 3, 0): 1.0,
                       (2, 3, 0): 1.0}


def test_attention_is_eq4_softmaxed_over_each_head() -> None:
    kgat = model()
    e, r, w = kgat.embedding.detach(), kgat.relation_embedding.detach(), kgat.transfer.detach()

    def pi(h: int, rel: int, t: int) -> float:   # Eq. 4, one triple at a time
        return float((w[rel].T @ e[t]) @ torch.tanh(w[rel].T @ e[h] + r[rel]))

    kgat.update_attention()
    got = {(h, rel, t): float(a) for h, rel, t, a in zip(kgat.head.tolist(), kgat.relation.tolist(),
                                                         kgat.tail.tolist(), kgat.attention, strict=True)}
    by_head = {0: [(0, 2, 1), (0, 2, 2)], 1: [(1, 0, 2), (1, 3, 0)], 2: [(2, 1, 1), (2, 3, 0)]}
    for triples in by_head.values():          # Eq. 5
        scores = torch.tensor([pi(*triple) for triple in triples])
        for triple, expected in zip(triples, torch.softmax(scores, 0).tolist(), strict=True):
            assert got[triple] == pytest.approx(expected, rel=1e-5)
    assert got[(1, 0, 2)] != pytest.approx(0.5)   # the two triples of node 1 really differ
    adjacency, _ = kgat.graph.matrices(kgat.attention)
    dense = adjacency.to_dense()
    assert dense[1, 2] == pytest.approx(got[(1, 0, 2)]) and dense[1, 0] == pytest.approx(got[(1, 3, 0)])
    assert dense.sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_bi_interaction_layer_and_concatenation() -> None:
    """Eq. 3, 8 and 11 with LeakyReLU slope 0.2, the attention set by hand; and the gradient of the
    attentive product is A^T G."""
    kgat = model()
    with torch.no_grad():
        laplacian = torch.cat(kgat.final_embeddings())
    attention = torch.tensor([0.3, 0.7, 0.9, 0.1, 0.6, 0.4])
    kgat.attention.copy_(attention)              # the cached A of the Laplacian must not be reused
    e = kgat.embedding.detach()
    a = torch.zeros(3, 3)
    for h, t, value in zip(kgat.head.tolist(), kgat.tail.tolist(), attention.tolist(), strict=True):
        a[h, t] += value
    side = a @ e
    w1, b1 = kgat.sum_layers[0].weight.detach(), kgat.sum_layers[0].bias.detach()
    w2, b2 = kgat.bi_layers[0].weight.detach(), kgat.bi_layers[0].bias.detach()

    def leaky(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > 0, x, 0.2 * x)

    layer = leaky((e + side) @ w1.T + b1) + leaky((e * side) @ w2.T + b2)
    expected = torch.cat([e, layer / layer.norm(dim=1, keepdim=True)], 1)
    with torch.no_grad():
        users, items = kgat.final_embeddings()
    assert torch.allclose(torch.cat([users, items]), expected, atol=1e-6)
    assert not torch.allclose(laplacian, expected, atol=1e-3)

    adjacency, transposed = kgat.graph.matrices(kgat.attention)
    dense = torch.randn(3, 2, requires_grad=True)
    upstream = torch.randn(3, 2)
    paired_mm((adjacency, transposed), dense).backward(upstream)
    assert torch.allclose(dense.grad, a.T @ upstream, atol=1e-6)


def test_transr_loss_is_eq1_and_eq2() -> None:
    kgat = model(kg_l2=0.0)
    head, relation, tail, negative = (torch.tensor(v) for v in ([1, 0], [0, 2], [2, 1], [0, 1]))
    e, r, w = kgat.embedding.detach(), kgat.relation_embedding.detach(), kgat.transfer.detach()

    def g(h: int, rel: int, t: int) -> torch.Tensor:   # Eq. 1
        return (w[rel].T @ e[h] + r[rel] - w[rel].T @ e[t]).pow(2).sum()

    expected = torch.stack([F.softplus(g(1, 0, 2) - g(1, 0, 0)), F.softplus(g(0, 2, 1) - g(0, 2, 1))]).mean()
    assert float(kgat.transr_loss(head, relation, tail, negative).detach()) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_transr_backward_is_autograd_of_the_gathered_projection(torch_threads: int, dtype: torch.dtype) -> None:
    """The hand-written TransR backward (rows grouped by relation; float32 on one thread: the compiled
    pass) against autograd in float64 through W_r gathered per triple, with the L2 term, relations
    in no order and a node used twice."""
    kgat = model(kg_l2=0.3).double()
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for parameter in (kgat.embedding, kgat.relation_embedding, kgat.transfer):
            parameter.copy_(torch.randn(parameter.shape, dtype=torch.float64, generator=generator) * 0.5)
    head, relation, tail, negative = (torch.tensor(v) for v in ([1, 0, 2, 1, 0], [3, 0, 2, 0, 1], [0, 2, 1, 2, 1],
                                                               [2, 2, 0, 1, 0]))
    tested = kgat if dtype == torch.float64 else copy.deepcopy(kgat).to(dtype)
    loss = tested.transr_loss(head, relation, tail, negative)
    ours = torch.autograd.grad(loss, [tested.embedding, tested.relation_embedding, tested.transfer])
    parameters = [kgat.embedding, kgat.relation_embedding, kgat.transfer]
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5

    def project(nodes: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bd,bdk->bk", kgat.embedding[nodes], kgat.transfer[relation])

    h, t, wrong, r = project(head), project(tail), project(negative), kgat.relation_embedding[relation]
    expected = F.softplus((h + r - t).pow(2).sum(-1) - (h + r - wrong).pow(2).sum(-1)).mean() \
        + 0.3 * sum(x.pow(2).sum() for x in (h, r, t, wrong)) / (2 * len(head))
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=tolerance)
    for mine, reference in zip(ours, torch.autograd.grad(expected, parameters), strict=True):
        assert torch.allclose(mine.double(), reference, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
@pytest.mark.parametrize(("dtype", "dropout"), [(torch.float64, 0.0), (torch.float64, 0.5), (torch.float32, 0.0),
                                               (torch.float32, 0.5)])
def test_collaborative_rows_are_the_plain_layers_and_their_gradient(torch_threads: int, dtype: torch.dtype,
                                                                    dropout: float) -> None:
    """The CF phase's rows (the last layer at the batch's distinct rows only, one hand-written backward)
    against autograd through the layers over all nodes in float64, the same dropout masks drawn in the
    same order; two layers, rows repeated. float32 takes the compiled kernels on one thread."""
    config, _ = resolve_config("kgat", "three", embedding_dim=3, relation_dim=2, layer_sizes=(4, 2))
    torch.manual_seed(0)
    kgat = build_model("kgat", three_nodes(), config, torch.device("cpu")).double()
    kgat.attention.copy_(torch.tensor([0.3, 0.7, 0.9, 0.1, 0.6, 0.4]))
    tested = kgat if dtype == torch.float64 else copy.deepcopy(kgat).to(dtype)
    rows, upstream = torch.tensor([0, 2, 2, 1]), torch.randn(4, 9, dtype=torch.float64)
    parameters = [tested.embedding, *tested.sum_layers.parameters(), *tested.bi_layers.parameters()]
    torch.manual_seed(5)
    picked = collaborative_rows(tested.embedding, tested.attentive_adjacency(), tested.sum_layers, tested.bi_layers,
                                rows, dropout)
    ours = torch.autograd.grad((torch.cat(picked, 1) * upstream.to(dtype)).sum(), parameters)
    assert csr_kernels.applies(tested.attentive_adjacency()[0], tested.embedding) == (dtype == torch.float32)
    tolerance = 1e-10 if dtype == torch.float64 else 1e-5
    parameters = [kgat.embedding, *kgat.sum_layers.parameters(), *kgat.bi_layers.parameters()]
    torch.manual_seed(5)
    adjacency = kgat.attentive_adjacency()[0].to_dense()
    layers = [kgat.embedding]
    for sum_layer, bi_layer in zip(kgat.sum_layers, kgat.bi_layers, strict=True):
        ego = layers[-1]
        side = adjacency @ ego
        out = F.leaky_relu(sum_layer(ego + side), LEAKY_SLOPE) + F.leaky_relu(bi_layer(ego * side), LEAKY_SLOPE)
        if dropout:                                # the tested precision's uniform draws
            out = out * (torch.rand(out.shape, dtype=dtype) >= dropout) / (1 - dropout)
        layers.append(out)
    for mine, layer in zip(picked, layers, strict=True):
        assert torch.allclose(mine.double(), layer[rows], rtol=tolerance, atol=tolerance)
    theirs = torch.autograd.grad((torch.cat([layer[rows] for layer in layers], 1) * upstream).sum(), parameters)
    for mine, reference in zip(ours, theirs, strict=True):
        assert torch.allclose(mine.double(), reference, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("torch_threads", [1], indirect=True)
def test_row_products_are_the_rows_of_the_whole_product(torch_threads: int) -> None:
    """``csr_kernels``' products over some rows: each row is the whole product's, bit for bit, and
    the transposed scatter adds A[rows]^T G."""
    generator = torch.Generator().manual_seed(0)
    dense_a = torch.rand(7, 5, generator=generator) * (torch.rand(7, 5, generator=generator) < 0.5)
    dense_a[3] = 0                                                 # a row with no entry
    adjacency = graphs.csr_tensor(*(lambda c: (c.crow_indices().int(), c.col_indices().int(), c.values()))(
        dense_a.to_sparse_csr()), (7, 5))
    x, rows = torch.randn(5, 16, generator=generator), torch.tensor([6, 3, 0, 2])
    got = csr_kernels.csr_rows_dense_mm(adjacency, rows, x)
    assert torch.equal(got, csr_kernels.csr_dense_mm(adjacency, x)[rows])
    grad, out = torch.randn(4, 16, generator=generator), torch.randn(5, 16, generator=generator)
    expected = out + dense_a[rows].T @ grad
    assert torch.allclose(csr_kernels.csr_rows_transposed_add_(adjacency, rows, grad, out), expected, atol=1e-6)


def test_the_kg_phase_switches() -> None:
    """TransR on the whole CKG (6 triples) or the KG alone (2, over entities shifted past the user);
    with both phases off, epoch_end changes nothing."""
    generator = torch.Generator().manual_seed(0)
    whole, kg_only = model(), model(transr_interactions=False)
    assert len(whole.sampler.triples) == 6 and whole.transr_offset == 0
    assert kg_only.sampler.triples.tolist() == [[0, 0, 1], [1, 1, 0]] and kg_only.transr_offset == 1
    before = kg_only.attention.clone()
    assert np.isfinite(kg_only.epoch_end(None, 0, generator)["transr"])
    assert not torch.equal(before, kg_only.attention)                   # recomputed after TransR
    frozen = model(use_transr=False, use_attention=False)
    weights, attention = frozen.embedding.detach().clone(), frozen.attention.clone()
    assert frozen.epoch_end(None, 0, generator) == {}
    assert torch.equal(weights, frozen.embedding) and torch.equal(attention, frozen.attention)


def test_message_dropout_keeps_with_one_minus_p_and_rescales() -> None:
    torch.manual_seed(0)
    ones = torch.ones(1000, 100)
    assert message_dropout_(ones, 0.1, training=False) is ones and bool((ones == 1).all())
    dropped = message_dropout_(ones.clone(), 0.1, training=True)
    assert (dropped == 0).float().mean() == pytest.approx(0.1, abs=0.005)
    assert torch.allclose(dropped[dropped != 0], torch.tensor(1 / 0.9))


def test_a_dataset_without_a_kg_is_refused_by_name() -> None:
    data = three_nodes()
    data.triples, data.n_entities, data.n_relations = None, 0, 0
    config, _ = resolve_config("kgat", "three")
    with pytest.raises(DataError, match="KGAT needs an item knowledge graph.*dataset 'three'"):
        build_model("kgat", data, config, torch.device("cpu"))


def test_the_triple_order_and_so_the_attention_do_not_depend_on_the_order_of_train_pairs() -> None:
    """The ``attention`` buffer is saved per triple; a saved run's split reloads its train pairs in
    another order, so the model must lay the triples out the same way for both."""
    from dataclasses import replace

    from recommender.kg import ItemKG
    from recommender.models.kgat import ckg_triples

    data = three_nodes()
    shuffled = replace(data, train=data.train[::-1].copy())
    kg = ItemKG.from_data(data, "kgat", inverse=True)
    assert np.array_equal(ckg_triples(data, kg), ckg_triples(shuffled, kg))
    trained = model()
    with torch.no_grad():
        trained.attention.uniform_(0.1, 1.0)
    fresh = build_model("kgat", shuffled, trained.config, torch.device("cpu"))
    fresh.load_state_dict(trained.state_dict())
    trained.eval()
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(trained.final_embeddings()[0], fresh.final_embeddings()[0])
