"""The one name builder of vector properties and indexes: allow-listed pieces only, and the exact
names the graph already holds for model embeddings and text vectors."""

from __future__ import annotations

import pytest

from kg_store.errors import UnsafeNameError
from kg_store.vectors import (
    MAX_PIECE,
    check_piece,
    checked_name,
    embedding_keys,
    text_vector_keys,
    vector_name,
)


@pytest.mark.parametrize("piece", ["Emb", "emb-x", "1st", "_x", "", "x y", "emb`) DETACH DELETE n //", None, 3,
                                   "a" * (MAX_PIECE + 1)])
def test_pieces_outside_the_allow_list_are_refused(piece: object) -> None:
    with pytest.raises(UnsafeNameError, match=r"must match \[a-z\]\[a-z0-9_\]\* \(at most 48 characters\)"):
        vector_name("text_vec", piece)  # type: ignore[arg-type]


def test_the_error_names_what_was_refused() -> None:
    with pytest.raises(UnsafeNameError, match="^Model name 'Light-GCN' must match"):
        embedding_keys("Light-GCN", "emb_lightgcn")
    with pytest.raises(UnsafeNameError, match="^Embedding property 'emb lightgcn' must match"):
        embedding_keys("lightgcn", "emb lightgcn")
    with pytest.raises(UnsafeNameError, match="^Vector name 'Facts' must match"):
        text_vector_keys("Item", "Facts")
    with pytest.raises(UnsafeNameError, match="holds no vectors"):
        text_vector_keys("Entity", "facts")
    with pytest.raises(UnsafeNameError, match="at least one piece"):
        vector_name()


def test_pieces_join_with_underscores_and_whole_names_are_rechecked() -> None:
    assert vector_name("embedding", "item", "lightgcn") == "embedding_item_lightgcn"
    assert check_piece("description_minilm") == "description_minilm"
    long = vector_name("text", "interest", "a" * MAX_PIECE)
    assert checked_name(long) == long            # a whole name may be longer than one piece
    with pytest.raises(UnsafeNameError, match="Vector property or index name"):
        checked_name("text_item_x; DROP")


def test_model_embedding_names_are_the_stored_ones() -> None:
    keys = embedding_keys("cikgrec", "emb_cikgrec")
    assert (keys.property, keys.run_property) == ("emb_cikgrec", "emb_cikgrec_run")
    assert [keys.index(label) for label in ("User", "Item", "Interest")] == [
        "embedding_user_cikgrec", "embedding_item_cikgrec", "embedding_interest_cikgrec"]
    index = keys.index_key("Interest")
    assert (index.name, index.label, index.property) == ("embedding_interest_cikgrec", "Interest", "emb_cikgrec")


def test_text_vector_names_are_the_stored_ones() -> None:
    keys = text_vector_keys("User", "profile_description_minilm")
    assert keys.params() == {"vector_property": "text_vec_profile_description_minilm",
                             "sha_property": "text_vec_profile_description_minilm_sha256",
                             "encoder_property": "text_vec_profile_description_minilm_encoder",
                             "source_property": "text_vec_profile_description_minilm_source"}
    assert keys.index == "text_user_profile_description_minilm"
    assert keys.index_key.property == keys.vector and keys.index_key.label == "User"
