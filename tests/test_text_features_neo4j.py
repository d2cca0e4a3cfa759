"""Text features on a real Neo4j with the 8-item ML-100K fixture and a tiny random encoder: vectors
are written in export order, cached by text hash (a rerun encodes nothing, one changed text exactly
one), long texts are counted, missing text names its command, the vector index is created once and
``nearest`` finds a node by its own text within its dataset only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_text_features import build_tiny_encoder

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.cypher_files import load_query
from kg_store.errors import UnsafeNameError
from kg_store.export import export_dataset
from kgrec import api
from knowledge.text_features import (
    MissingTextError,
    TextEncoder,
    drop_vector_index,
    encode_dataset,
    load_text_encoder,
    load_text_matrix,
    nearest,
    read_texts,
    vector_index,
)

ML100K = Path(__file__).parent / "fixtures" / "ml100k_synthetic"
LONG = " ".join(["word"] * 40)   # over the tiny encoder's 16 tokens


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture()
def tiny(tiny_path: Path, monkeypatch: pytest.MonkeyPatch) -> TextEncoder:
    """The tiny encoder, counting the texts each call of the model's ``encode`` gets (``tiny.calls``)."""
    encoder = load_text_encoder(str(tiny_path), device="cpu")
    calls: list[int] = []
    original = type(encoder.model).encode

    def counting(model, texts, *args, **kwargs):
        calls.append(len(texts))
        return original(model, texts, *args, **kwargs)

    monkeypatch.setattr(type(encoder.model), "encode", counting)
    encoder.calls = calls  # type: ignore[attr-defined]
    return encoder


@pytest.fixture()
def vec_name(store: GraphStore) -> Iterator[str]:
    """A fresh vector name; its (global) indexes are dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    for label in ("item", "user"):
        drop_vector_index(store, label, name)


def _descriptions(store: GraphStore, dataset: str, texts: dict[int, str]) -> None:
    rows = [[item, text, "wiki", None, "k"] for item, text in texts.items()]
    write_in_batches(store, "knowledge/set_item_descriptions", rows, dataset=dataset)


def _texts(n: int = 8) -> dict[int, str]:
    topics = ["space opera", "romantic comedy", "cooking show", "football", "war drama", "heist", "ghost story"]
    texts = {item: f"a film about {topics[(item - 1) % len(topics)]} number {item}" for item in range(1, n + 1)}
    texts[2] = LONG
    return texts


def _index_count(store: GraphStore, index: str) -> int:
    return store.read_with(lambda tx: len(list(tx.run("SHOW INDEXES YIELD name WHERE name = $n RETURN name", n=index))))


def test_vectors_are_cached_by_text_hash_and_aligned_with_export(store, dataset_name, tiny, vec_name) -> None:
    api.ingest(store, "movielens", ML100K, dataset_name, progress=False)
    texts = _texts()
    _descriptions(store, dataset_name, texts)
    first = encode_dataset(store, dataset_name, "item", "description", name=vec_name, encoder=tiny, progress=False)
    assert (first.nodes, first.encoded, first.cached, first.missing, first.truncated) == (8, 8, 0, 0, 1)
    assert first.index_created and sum(tiny.calls) == 8

    export = export_dataset(store, dataset_name, use_cache=False)
    matrix = load_text_matrix(store, dataset_name, "item", vec_name)
    assert np.array_equal(matrix.ids, export.item_ids) and matrix.missing == 0
    assert matrix.sources == {"description"}   # what the vectors were encoded from (leakage checks read it)
    expected = tiny.encode([texts[int(i)] for i in export.item_ids])
    np.testing.assert_allclose(matrix.vectors, expected, atol=1e-5)

    tiny.calls.clear()
    second = encode_dataset(store, dataset_name, "item", "description", name=vec_name, encoder=tiny, progress=False)
    assert (second.encoded, second.cached, second.truncated) == (0, 8, 0) and tiny.calls == []
    assert not second.index_created and _index_count(store, first.index) == 1

    _descriptions(store, dataset_name, {5: "a brand new text about sailing"})
    third = encode_dataset(store, dataset_name, "item", "description", name=vec_name, encoder=tiny, progress=False)
    assert (third.encoded, third.cached) == (1, 7) and tiny.calls == [1]
    after = load_text_matrix(store, dataset_name, "item", vec_name)
    changed = np.flatnonzero(~np.isclose(after.vectors, matrix.vectors, atol=1e-6).all(axis=1))
    assert after.ids[changed].tolist() == [5]


def test_nearest_finds_a_node_by_its_own_text_within_its_dataset(store, dataset_name, tiny, vec_name) -> None:
    other = f"test_{uuid.uuid4().hex[:10]}"
    try:
        for dataset in (dataset_name, other):    # the same texts in two datasets share one index
            api.ingest(store, "movielens", ML100K, dataset, progress=False)
            _descriptions(store, dataset, _texts())
            encode_dataset(store, dataset, "item", "description", name=vec_name, encoder=tiny, progress=False)
        index = vector_index(store, "item", vec_name)
        assert index is not None and index["dimensions"] == 16 and index["property"] == f"text_vec_{vec_name}"
        hits = nearest(store, dataset_name, "item", _texts()[4], k=3, name=vec_name, encoder=tiny)
        assert hits[0]["id"] == 4 and hits[0]["score"] == pytest.approx(1.0, abs=1e-4) and len(hits) == 3
        everything = nearest(store, dataset_name, "item", tiny.encode([_texts()[6]])[0], k=8, name=vec_name)
        assert sorted(hit["id"] for hit in everything) == list(range(1, 9))   # no twin from the other dataset
        assert everything[0]["id"] == 6
    finally:
        store.autocommit_text(load_query("store/drop_dataset"), dataset=other)


def test_missing_text_names_the_command_and_counts(store, dataset_name, tiny, vec_name) -> None:
    api.ingest(store, "movielens", ML100K, dataset_name, progress=False)
    with pytest.raises(MissingTextError, match=rf"5 of 5 User .*kgrec enrich users --dataset {dataset_name}"):
        encode_dataset(store, dataset_name, "user", "description", name=vec_name, encoder=tiny)
    with pytest.raises(MissingTextError, match="kgrec text encode"):
        load_text_matrix(store, dataset_name, "item", vec_name)
    _descriptions(store, dataset_name, {1: "one", 3: "three", 8: "eight"})
    report = encode_dataset(store, dataset_name, "item", "description", name=vec_name, encoder=tiny, progress=False)
    assert (report.encoded, report.missing) == (3, 5)
    assert report.hint == (f"5 of 8 Item nodes of '{dataset_name}' lack 'description'; "
                           f"write it with `kgrec enrich items --dataset {dataset_name}`.")
    matrix = load_text_matrix(store, dataset_name, "item", vec_name)
    assert matrix.missing == 5 and matrix.vectors.shape == (8, 16)
    assert np.flatnonzero(np.abs(matrix.vectors).sum(1) > 0).tolist() == [0, 2, 7]


def test_facts_text_covers_items_without_description(store, dataset_name, tiny, vec_name) -> None:
    api.ingest(store, "movielens", ML100K, dataset_name, progress=False)
    rows = read_texts(store, dataset_name, "item", "facts")
    assert len(rows) == 8 and all(row.text and "Genres: " in row.text for row in rows)
    report = encode_dataset(store, dataset_name, "item", "facts", name=vec_name, encoder=tiny, progress=False)
    assert (report.encoded, report.missing) == (8, 0)


def test_bad_names_are_refused_before_any_query(store, dataset_name, tiny) -> None:
    with pytest.raises(UnsafeNameError, match="must match"):
        encode_dataset(store, dataset_name, "item", "title`) DETACH DELETE n //", encoder=tiny)
    with pytest.raises(UnsafeNameError, match="not allowed"):
        encode_dataset(store, dataset_name, "item", "imdb_url", encoder=tiny)
    with pytest.raises(UnsafeNameError, match="item or user"):
        encode_dataset(store, dataset_name, "Entity", "description", encoder=tiny)


def test_cli_encode_then_nearest(cli_env, store, dataset_name, tiny_path, vec_name) -> None:
    from click.testing import CliRunner

    from kgrec.cli import main

    api.ingest(store, "movielens", ML100K, dataset_name, progress=False)
    _descriptions(store, dataset_name, _texts())

    def kgrec(*args: str):
        return CliRunner().invoke(main, ["text", *args], env=cli_env)

    encoded = kgrec("encode", "--dataset", dataset_name, "--name", vec_name, "--encoder", str(tiny_path),
                    "--no-progress")
    assert encoded.exit_code == 0, encoded.output
    assert "8 Item nodes: 8 encoded, 0 cached, 1 truncated (over 16 tokens), 0 missing text" in encoded.output
    found = kgrec("nearest", "--dataset", dataset_name, "--name", vec_name, "--query", _texts()[3], "-k", "2")
    assert found.exit_code == 0, found.output
    assert found.output.splitlines()[0].split()[1] == "3"
    bad = kgrec("encode", "--dataset", dataset_name, "--property", "no-such", "--encoder", str(tiny_path))
    assert bad.exit_code == 2 and "must match" in bad.output
