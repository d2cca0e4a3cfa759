"""Vector indexes, writes, matrix reads and neighbour search of ``kg_store.vectors`` on a real Neo4j:
an index is created once, refuses another size, and is dropped again; written vectors come back
aligned with the ids asked for."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from kg_store import vectors
from kg_store.connection import GraphStore


def test_index_create_and_drop_round_trip(store: GraphStore) -> None:
    keys = vectors.text_vector_keys("Item", f"t_{uuid.uuid4().hex[:10]}")
    try:
        assert vectors.find_index(store, keys.index) is None
        assert vectors.ensure_index(store, keys.index_key, 4) is True
        found = vectors.find_index(store, keys.index)
        assert found is not None
        assert (found["name"], found["label"], found["property"], found["dimensions"], found["state"]) == (
            keys.index, "Item", keys.vector, 4, "ONLINE")
        assert vectors.ensure_index(store, keys.index_key, 4) is False        # present: nothing created
        with pytest.raises(vectors.IndexSizeError) as error:
            vectors.ensure_index(store, keys.index_key, 8)
        assert (error.value.found, error.value.dimensions) == (4, 8)
    finally:
        vectors.drop_index(store, keys.index)
    assert vectors.find_index(store, keys.index) is None
    vectors.drop_index(store, keys.index)                                     # absent: no error


def test_written_vectors_read_back_and_are_searched(store: GraphStore, dataset_name: str) -> None:
    store.autocommit_text("UNWIND range(1, 5) AS i CREATE (:Item {dataset: $d, id: i, title: 'item ' + i})",
                          d=dataset_name)
    keys = vectors.text_vector_keys("Item", f"t_{uuid.uuid4().hex[:10]}")
    matrix = np.eye(4, dtype=np.float32) + 0.1
    written = vectors.write_vectors(store, "text/set_item_vectors", [4, 1, 2, 3], matrix, ["s4", "s1", "s2", "s3"],
                                    batch_size=2, description="", progress=False, dataset=dataset_name,
                                    encoder="enc", source="description", **keys.params())
    assert written == 4
    try:
        vectors.ensure_index(store, keys.index_key, 4)
        found = vectors.read_matrix(store, "text/item_vectors", dataset=dataset_name, **keys.params())
        assert found.ids.tolist() == [1, 2, 3, 4, 5] and found.missing == 1   # item 5 has no vector
        np.testing.assert_allclose(found.vectors[:4], matrix[[1, 2, 3, 0]], atol=1e-6)
        assert not found.vectors[4].any()
        chosen = vectors.read_matrix(store, "text/item_vectors", [3, 9], dataset=dataset_name, **keys.params())
        assert chosen.missing == 1 and np.allclose(chosen.vectors[0], matrix[3])
        hits = vectors.nearest(store, vectors.find_index(store, keys.index), matrix[2], dataset_name, k=2)
        assert len(hits) == 2 and hits[0]["id"] == 2 and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)
    finally:
        vectors.drop_index(store, keys.index)
