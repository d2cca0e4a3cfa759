"""SWING against a brute-force loop over the definition, including ties and lonely users/items."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.errors import DataError
from recommender.features.swing import most_similar, swing_positives, swing_scores


def brute_item_swing(a: np.ndarray, alpha: float) -> np.ndarray:
    """s(i, j) = sum over ordered distinct (u, v) in U_i ∩ U_j of 1 / (alpha + |I_u ∩ I_v|)."""
    n_users, n_items = a.shape
    items_of = [set(np.flatnonzero(a[u])) for u in range(n_users)]
    users_of = [set(np.flatnonzero(a[:, i])) for i in range(n_items)]
    s = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            if i == j:
                continue
            both = users_of[i] & users_of[j]
            s[i, j] = sum(1.0 / (alpha + len(items_of[u] & items_of[v])) for u in both for v in both if u != v)
    return s


def brute_best(s: np.ndarray) -> np.ndarray:
    """Highest positive score per row, ties to the smallest index (with a float tolerance), else -1."""
    out = []
    for i, row in enumerate(s):
        others = [(v, j) for j, v in enumerate(row) if j != i and v > 0]
        if not others:
            out.append(-1)
            continue
        top = max(v for v, _ in others)
        out.append(min(j for v, j in others if v >= top - 1e-9 * max(top, 1)))
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_scores_match_brute_force(seed: int, alpha: float) -> None:
    rng = np.random.default_rng(seed)
    a = (rng.random((9, 7)) < 0.45).astype(float)
    a[8] = 0          # a user with no items
    a[:, 6] = 0       # an item nobody holds
    a[7] = 0
    a[7, 5] = 1       # a user whose only item may co-occur with nobody's other items
    items = swing_scores(a, alpha, pairs_per_chunk=3).toarray()   # tiny chunks exercise the chunking
    np.testing.assert_allclose(items, brute_item_swing(a, alpha), atol=1e-12)
    users = swing_scores(sp.csr_matrix(a.T), alpha).toarray()
    np.testing.assert_allclose(users, brute_item_swing(a.T, alpha), atol=1e-12)
    positives = swing_positives(a, alpha)
    np.testing.assert_array_equal(positives.item_positive, brute_best(brute_item_swing(a, alpha)))
    np.testing.assert_array_equal(positives.user_positive, brute_best(brute_item_swing(a.T, alpha)))
    assert positives.item_positive[6] == -1 and positives.user_positive[8] == -1


def test_hand_computed_example_with_ties() -> None:
    # users 0 and 1 both hold items 0, 1, 2; user 2 holds item 3 only.
    a = np.array([[1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1]], dtype=float)
    s = swing_scores(a, 1.0).toarray()
    # each of items 0..2 pairs with the others through (u0, u1) and (u1, u0): 2 / (1 + 3)
    expected = np.zeros((4, 4))
    expected[:3, :3] = 0.5
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(s, expected)
    positives = swing_positives(a)
    assert positives.item_positive.tolist() == [1, 0, 0, -1]   # ties go to the smallest other index
    # users 0 and 1: ordered item pairs of {0,1,2} = 6, each 1 / (1 + |U_i ∩ U_j| = 2)
    users = swing_scores(a.T).toarray()
    assert users[0, 1] == pytest.approx(2.0) and users[0, 2] == 0.0
    assert positives.user_positive.tolist() == [1, 0, -1]


def test_input_is_binarised_and_not_modified() -> None:
    counts = sp.csr_matrix(np.array([[2.0, 3.0, 0.0], [1.0, 5.0, 0.0], [0.0, 1.0, 1.0]]))
    before = counts.toarray().copy()
    np.testing.assert_allclose(swing_scores(counts).toarray(), swing_scores(counts > 0).toarray())
    np.testing.assert_array_equal(counts.toarray(), before)
    with pytest.raises(DataError, match="alpha"):
        swing_scores(counts, alpha=-1)
    with pytest.raises(DataError, match="non-negative"):
        swing_scores(-counts)
    assert most_similar(sp.csr_matrix((3, 3))).tolist() == [-1, -1, -1]
