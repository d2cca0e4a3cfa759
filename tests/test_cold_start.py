"""The cold-start aggregation on its own: the mean of items' and interests' final vectors, no Neo4j."""

from __future__ import annotations

import numpy as np
import pytest

from kg_store.embeddings import InterestVectors, ItemVectors
from kg_store.errors import UnknownItemError
from serving.cold_start import InterestIndex, ItemIndex, aggregate, cold_start
from serving.errors import UnknownInterestError

ITEMS = ItemVectors(ids=np.array([3, 5, 8, 11], dtype=np.int64), titles=["a", "b", None, "d"],
                    vectors=np.array([[1, 0], [0, 1], [1, 1], [-1, 2]], dtype=np.float32))
INTERESTS = InterestVectors(set="s", ids=np.array([0, 4], dtype=np.int64), labels=["x", None],
                            vectors=np.array([[0, 3], [-3, 0]], dtype=np.float32))


def test_aggregate_is_the_mean_of_all_neighbours() -> None:
    items = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert aggregate(items).tolist() == [0.5, 0.5]
    assert aggregate(items, None).tolist() == aggregate(items, np.zeros((0, 2), np.float32)).tolist() == [0.5, 0.5]
    assert aggregate(items, np.array([[0.0, 4.0]], dtype=np.float32)).tolist() == pytest.approx([1 / 3, 5 / 3])


def test_cold_start_without_interests_is_the_items_mean() -> None:
    found = cold_start(ItemIndex(ITEMS), "d", [3], k=3)          # user = [1, 0]: 8 (1), 5 (0), 11 (-1)
    assert found.rows == [2, 1, 3] and found.scores == [1.0, 0.0, -1.0]


def test_interests_move_the_user_and_change_the_ranking() -> None:
    index, interests = ItemIndex(ITEMS), InterestIndex(INTERESTS)
    vectors = interests.matrix[interests.rows("d", [0])]        # user = ([1, 0] + [0, 3]) / 2 = [.5, 1.5]
    found = cold_start(index, "d", [3, 3], k=3, interest_vectors=vectors)
    assert found.rows == [3, 2, 1]                               # 11: 2.5, 8: 2.0, 5: 1.5
    assert found.scores == pytest.approx([2.5, 2.0, 1.5])
    both = cold_start(index, "d", [3], k=1, interest_vectors=interests.matrix)   # ([1,0]+[0,3]+[-3,0]) / 3
    assert both.rows == [3] and both.scores == pytest.approx([(2 / 3) + 2.0])


def test_unknown_ids_are_named() -> None:
    with pytest.raises(UnknownItemError, match="4, 9"):
        ItemIndex(ITEMS).rows("d", [3, 4, 9])
    with pytest.raises(UnknownInterestError, match="set 's'.*7"):
        InterestIndex(INTERESTS).rows("d", [0, 7])
    assert InterestIndex(INTERESTS).label(1) is None and len(InterestIndex(INTERESTS)) == 2
