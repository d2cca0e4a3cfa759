"""KGRec (``kgrec-sr``): its rationale score and masked-reconstruction loss against values worked out
by hand on a tiny KG, the one-thread kernels against the torch path, the triple sampling and masking,
and the clear error on a dataset without a KG."""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from recommender.config import resolve_config
from recommender.data import RecData
from recommender.errors import DataError
from recommender.losses import ScoreWorkspace, candidate_info_nce
from recommender.models import build_model
from recommender.models.kgrec_sr import BLOCK_ROWS, all_items_info_nce, finish, gumbel_noise
from recommender.models.kgrec_sr_attention import attend, head_rows, mean_messages
from recommender.models.kgrec_sr_graphs import RelationalTriples, TripleSet


def tiny_data(with_kg: bool = True) -> RecData:
    """2 users, 2 items (entities 0 and 1), one more entity (2); relations 0 and 1."""
    train = np.array([[0, 0], [1, 1], [1, 0]])
    data = RecData("tinyset", 2, 2, train, np.zeros((0, 2), np.int64), np.array([[0, 1]]))
    data.item_entity = np.array([0, 1])
    if with_kg:
        data.n_entities, data.n_relations = 3, 2
        data.triples = np.array([[0, 0, 2], [1, 0, 2], [0, 1, 1]])
    return data


def tiny_model(**settings):
    config, _ = resolve_config("kgrec-sr", "tinyset", embedding_dim=4, n_heads=2, **settings)
    model = build_model("kgrec-sr", tiny_data(), config, torch.device("cpu"))
    with torch.no_grad():   # W^Q = I; entities e0, e1, e2; relations r0, r1 (and their inverses)
        model.query_weight.copy_(torch.eye(4))
        model.embedding[2:] = torch.tensor([[1.0, 0.0, 1.0, 2.0], [0.5, 1.0, -1.0, 0.0], [2.0, -1.0, 0.0, 1.0]])
        model.relation_embedding[:2] = torch.tensor([[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, -1.0]])
    return model


@contextmanager
def threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("n_threads", [1, 2], ids=["kernel", "torch"])
def test_rationale_score_matches_the_hand_computation(n_threads: int) -> None:
    """Entity 0 heads two triples, (0, r0, 2) and (0, r1, 1). With W^Q = I and d = 2:
    f_k = e_0,k . (e_t,k ⊙ r_k) / sqrt(2), mean over the two heads, softmax over the two triples,
    times |N_0| = 2."""
    model = tiny_model()
    e0, e1, e2 = [1.0, 0.0, 1.0, 2.0], [0.5, 1.0, -1.0, 0.0], [2.0, -1.0, 0.0, 1.0]
    r0, r1 = [1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, -1.0]

    def mean_logit(tail: list[float], relation: list[float]) -> float:
        heads = [sum(e0[c] * tail[c] * relation[c] for c in span) / math.sqrt(2) for span in ((0, 1), (2, 3))]
        return sum(heads) / 2

    to_2, to_1 = mean_logit(e2, r0), mean_logit(e1, r1)
    assert to_2 == pytest.approx((2.0 + 2.0) / math.sqrt(2) / 2)    # head 1: 1*2*1; head 2: 0 + 2*1*1
    assert to_1 == pytest.approx((1.0 + -1.0) / math.sqrt(2) / 2)   # head 1: 1*.5*2; head 2: 1*-1*1 + 0
    expected = 2 * math.exp(to_2) / (math.exp(to_2) + math.exp(to_1))

    triples = model.triples.all
    with threads(n_threads):
        gamma = model.rationale_scores(model.embedding[2:], triples)
    found = (triples.head == 0) & (triples.tail == 2) & (triples.relation == 0)
    assert gamma[found].item() == pytest.approx(expected, rel=1e-5)
    assert gamma[triples.head == 0].sum().item() == pytest.approx(2.0, rel=1e-5)   # |N_h| times a softmax


def test_masked_reconstruction_loss_matches_the_hand_computation() -> None:
    """L_m = mean over the masked triples of -log sigma(e_h . (e_t ⊙ e_r))."""
    model = tiny_model()
    entity = torch.tensor([[1.0, 0.0, 1.0, 2.0], [0.5, 1.0, -1.0, 0.0], [2.0, -1.0, 0.0, 1.0]])
    masked = TripleSet(torch.tensor([[0, 0], [0, 1], [2, 1], [0, 0]]))   # (0, r0, 2) and (0, r1, 1)
    # e0 . (e2 ⊙ r0) = 2 + 0 + 0 + 2 = 4;  e0 . (e1 ⊙ r1) = 1 + 0 - 1 + 0 = 0
    expected = (-math.log(1 / (1 + math.exp(-4.0))) - math.log(0.5)) / 2
    assert model.reconstruction_loss(entity, masked).item() == pytest.approx(expected, rel=1e-6)


def random_triples(generator: torch.Generator, n_rows: int = 30, n_relations: int = 5,
                   n_triples: int = 300) -> tuple[TripleSet, tuple[torch.Tensor, torch.Tensor]]:
    """Distinct random triples over ``n_rows`` entities in head order, with their (tail, relation) pairs."""
    triples = torch.stack([torch.randint(0, n, (n_triples,), generator=generator)
                           for n in (n_rows, n_relations, n_rows)], 1)
    store = RelationalTriples(triples.numpy(), n_rows)
    return store.all, (store.pair_tail, store.pair_relation)


def test_one_thread_kernels_match_the_torch_path() -> None:
    """The attention and the KG view's means: the numba passes (keys and values made per triple)
    against the torch path (per distinct pair, autograd), values and gradients."""
    generator = torch.Generator().manual_seed(3)
    n_rows, n_relations, dim, heads = 30, 5, 8, 2
    triples, pairs = random_triples(generator, n_rows, n_relations)
    crow = head_rows(triples.head, n_rows)
    shapes = (n_rows, n_rows, n_relations)
    inputs = [torch.randn(rows, dim, generator=generator, requires_grad=True) for rows in shapes]
    grad = torch.randn(n_rows, dim, generator=generator)
    query, entity, relation = inputs
    paths = {"attend": lambda: attend(crow, triples, query, entity, relation, pairs, heads),
             "mean": lambda: mean_messages(crow, triples, entity, relation,
                                           lambda: RelationalTriples(
                                               torch.stack([triples.head, triples.relation, triples.tail], 1).numpy(),
                                               n_rows).mean_graphs(triples), pairs)}
    for name, path in paths.items():
        results = []
        for n_threads in (1, 2):            # one thread: the numba kernels; two: the torch path
            with threads(n_threads):
                out = path()
                out.backward(grad)
            results.append([out.detach(), *(torch.zeros(1) if x.grad is None else x.grad.clone() for x in inputs)])
            for x in inputs:
                x.grad = None
        for ours, theirs in zip(*results, strict=True):
            assert torch.allclose(ours, theirs, atol=1e-5), (name, (ours - theirs).abs().max())


def test_one_thread_dropout_and_normalisation_matches_the_torch_path() -> None:
    """finish: the same draws drop the same entries; unit rows; the same gradient (an all-dropped row
    included)."""
    layer = torch.randn(50, 16)
    layer[3] = 0.0
    grad = torch.randn(50, 16)
    results = []
    for n_threads in (1, 2):
        x = layer.clone().requires_grad_()
        torch.manual_seed(7)
        with threads(n_threads):
            out = finish(x, 0.3)
            out.backward(grad)
        results.append((out.detach(), x.grad))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-6)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-5)
    kept = results[0][0].norm(dim=1)
    assert torch.allclose(kept[kept > 0], torch.ones(int((kept > 0).sum())), atol=1e-6)


@pytest.mark.parametrize("temperature", [1.0, 0.2])
def test_blocked_contrast_matches_the_candidate_info_nce(temperature: float) -> None:
    """L_c made block by block (600 items: three blocks, the last one short) against
    candidate_info_nce with targets 0..I-1: the same loss and gradients."""
    assert 2 * BLOCK_ROWS < 600 < 3 * BLOCK_ROWS
    generator = torch.Generator().manual_seed(8)
    anchors = torch.randn(600, 16, generator=generator, requires_grad=True)
    candidates = torch.randn(600, 16, generator=generator, requires_grad=True)
    results = []
    for loss in (lambda: all_items_info_nce(anchors, candidates, temperature, ScoreWorkspace()),
                 lambda: candidate_info_nce(anchors, candidates, temperature, torch.arange(600))):
        with threads(1):                     # the blocked path is the one-thread path
            value = loss()
            results.append((value.detach(), *torch.autograd.grad(3.0 * value, (anchors, candidates))))
    for ours, theirs in zip(*results, strict=True):
        assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-7), (ours - theirs).abs().max()


def test_sampling_keeps_each_relations_share_and_masking_takes_the_top_scores() -> None:
    model = tiny_model(random_mask=False, mask_size=1)
    counts = torch.bincount(model.triples.all.relation, minlength=4)
    for _ in range(5):
        sampled = model.triples.sample(0.5)
        assert torch.equal(torch.bincount(sampled.relation, minlength=4), counts // 2)
        assert torch.all(sampled.head[1:] >= sampled.head[:-1])            # still in head order
    scores = torch.tensor([0.0, 100.0, 0.0, -3.0, 1.0, 0.5])
    masked = model.mask(scores + gumbel_noise(scores))                  # noise cannot close a gap of 100
    assert masked.tolist() == [False, True, False, False, False, False]


@pytest.mark.parametrize("draw_range", [2**31, 3], ids=["draws", "many-ties"])
def test_sampling_takes_each_relations_smallest_draws(draw_range: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The selection per relation keeps the triples a stable sort of relation * 2^31 + draw ranks
    first in each relation (ties: the earlier triple), the torch path's rule."""
    triples, _ = random_triples(torch.Generator().manual_seed(5), n_rows=40, n_relations=4, n_triples=400)
    store = RelationalTriples(torch.stack([triples.head, triples.relation, triples.tail], 1).numpy(), 40)
    randint = torch.randint
    monkeypatch.setattr(torch, "randint", lambda low, high, size, **kw: randint(0, min(high, draw_range), size, **kw))
    for seed in range(5):
        torch.manual_seed(seed)
        sampled = store.sample(0.5)
        torch.manual_seed(seed)
        draws = torch.randint(0, 2**31, (len(store.by_relation),)).numpy()
        ranked = np.argsort(store.relation_sorted.numpy() * 2**31 + draws, kind="stable")
        quota = (store.relation_count.double() * 0.5).long().numpy()
        rank = store.rank_in_relation.numpy()
        chosen = np.sort(store.by_relation.numpy()[ranked[rank < quota[store.relation_sorted.numpy()]]])
        assert torch.equal(sampled.columns, store.all.columns[:, chosen])


def test_dataset_without_kg_is_a_clear_error() -> None:
    config, _ = resolve_config("kgrec-sr", "tinyset", embedding_dim=4)
    with pytest.raises(DataError, match=r"kgrec-sr needs an item knowledge graph.*'tinyset' has no KG triples"):
        build_model("kgrec-sr", tiny_data(with_kg=False), config, torch.device("cpu"))
