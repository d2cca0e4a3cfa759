"""The negative samplers against the plain rejection loop they replace: every round checks the whole
batch and redraws the clashing negatives. Checking only the redrawn ones must give the same draws,
and a known pair or triple is never returned while a redraw remains."""

from __future__ import annotations

import numpy as np
import torch

from recommender.kg import KnownTriples, TripleSampler, TripleSet
from recommender.trainer import NegativeSampler


def dense_triples(seed: int = 0) -> np.ndarray:
    """Triples over 12 nodes and 3 relations where head 0 with relation 0 reaches 10 of the 12 tails,
    so that some negatives clash for several rounds."""
    rng = np.random.default_rng(seed)
    crowded = np.stack([np.zeros(10, np.int64), np.zeros(10, np.int64), np.arange(10)], 1)
    rest = np.stack([rng.integers(0, 12, 30), rng.integers(0, 3, 30), rng.integers(0, 12, 30)], 1)
    return np.unique(np.concatenate([crowded, rest]), axis=0)


def check_all_rounds(triples: torch.Tensor, known: KnownTriples, n_entities: int, size: int,
                     generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    picked = torch.randint(0, len(triples), (size,), generator=generator)
    head, relation, tail = triples[picked].unbind(1)
    negative = torch.randint(0, n_entities, (size,), generator=generator)
    for _ in range(10):
        clash = known.contains(head, relation, negative)
        if not clash.any():
            break
        negative[clash] = torch.randint(0, n_entities, (int(clash.sum()),), generator=generator)
    return head, relation, tail, negative


def test_triple_sampler_draws_what_checking_every_round_draws() -> None:
    triples = dense_triples()
    sampler = TripleSampler(triples, 12, 3)
    reference = KnownTriples(torch.from_numpy(triples), 3, 12)
    ours, theirs = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    clashes = 0
    for _ in range(20):
        got = sampler.sample(64, ours)
        expected = check_all_rounds(sampler.triples, reference, 12, 64, theirs)
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
        clashes += int(reference.contains(got[0], got[1], got[3]).sum())
    assert torch.equal(ours.get_state(), theirs.get_state())      # the same number of draws
    assert clashes > 0          # the crowded (head, relation) kept some clashing through all ten rounds
    torch.manual_seed(1)
    global_draw = sampler.sample(32)
    torch.manual_seed(1)
    assert all(torch.equal(a, b) for a, b in
               zip(global_draw, check_all_rounds(sampler.triples, reference, 12, 32, None), strict=True))


def test_triple_set_answers_as_the_sorted_keys() -> None:
    triples = dense_triples(seed=2)
    hashed, searched = TripleSet(triples, 3, 12), KnownTriples(torch.from_numpy(triples), 3, 12)
    rng = np.random.default_rng(3)
    head, relation, tail = rng.integers(0, 12, 500), rng.integers(0, 3, 500), rng.integers(0, 12, 500)
    expected = searched.contains(*(torch.from_numpy(a) for a in (head, relation, tail))).numpy()
    assert expected.any() and not expected.all()
    assert np.array_equal(hashed.known_rows(head, relation, tail, np.arange(500)), np.flatnonzero(expected))
    some = np.array([3, 7, 100, 499])
    assert np.array_equal(hashed.known_rows(head, relation, tail, some), some[expected[some]])
    empty = TripleSet(np.zeros((0, 3), np.int64), 3, 12)
    assert len(empty.known_rows(head, relation, tail, np.arange(500))) == 0


def test_negative_sampler_draws_what_checking_every_round_draws() -> None:
    rng = np.random.default_rng(0)
    n_items = 8
    train = np.unique(np.stack([rng.integers(0, 30, 150), rng.integers(0, n_items, 150)], 1), axis=0)
    known = set(map(tuple, train.tolist()))
    users = train[rng.permutation(len(train)), 0]
    sampler = NegativeSampler(train, n_items, np.random.default_rng(5))
    reference_rng = np.random.default_rng(5)
    keys = np.unique(train[:, 0] * n_items + train[:, 1])
    for _ in range(3):
        expected = reference_rng.integers(0, n_items, len(users))
        for _ in range(20):
            clash = np.isin(users * n_items + expected, keys)
            if not clash.any():
                break
            expected[clash] = reference_rng.integers(0, n_items, int(clash.sum()))
        got = sampler.sample(users)
        assert np.array_equal(got, expected)
        assert not any((u, i) in known for u, i in zip(users.tolist(), got.tolist(), strict=True))
