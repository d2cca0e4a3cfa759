"""Sentence vectors of item and user text, cached in Neo4j by text hash (KELLMRec §3.2 text features).

KELLMRec adapts encoded knowledge text into CTR models and rerankers. Encoding is the slow part,
so each node keeps, next to its vector (``text_vec_<name>``, float32), the sha256 of the text it
encodes and the encoder's name: a rerun encodes only texts that changed or whose encoder did. The
text is a node property from an allow-list (``description`` from ``kgrec enrich``, ``plot`` from
``kgrec wiki imdb``, ...) or, for items without descriptions, ``facts``: title, genres, year and
IMDb plot. A cosine vector index per (label, name) serves :func:`nearest`; models read the vectors
in export order with :func:`load_text_matrix`. Property and index names, the index, batched writes,
matrix reads and the neighbour search are :mod:`kg_store.vectors`; this module adds the texts,
the encoder and the cache.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from kg_store import vectors as node_vectors
from kg_store.connection import GraphStore
from kg_store.datasets import dataset_info
from kg_store.errors import ConfigError, KgrecError, UnsafeNameError
from kg_store.progress import Progress, bars_enabled
from kg_store.vectors import TextVectorKeys as VectorKeys  # re-exported: the names one text vector takes
from knowledge.encoders import PACKAGED_ENCODER as PACKAGED_ENCODER  # re-exported: the name vectors carry
from knowledge.encoders import encoder_id, load_encoder

FACTS = "facts"
LABELS = {"item": "Item", "user": "User"}
TEXT_PROPERTIES = {"Item": frozenset({"description", "description_ungrounded", "plot", "title", FACTS}),
                   "User": frozenset({"description", "description_profile"})}
WRITERS = {"description": "kgrec enrich {kind}s --dataset {dataset}",
           "description_profile": "kgrec enrich users --history ctr-profile --dataset {dataset}",
           "description_ungrounded": "kgrec enrich items --dataset {dataset}",
           "plot": "kgrec wiki imdb movielens100k_details.json --dataset {dataset}",
           FACTS: "kgrec ingest ... (titles, genres, years) or kgrec wiki imdb ... --dataset {dataset} (plots)"}
_WRITE_BATCH = 500


class MissingTextError(KgrecError):
    """The nodes have no text (or no vectors) to work with; says which command writes them."""

    exit_code = 2


# -- names ------------------------------------------------------------------------------------------
def check_label(label: str) -> str:
    """``Item`` or ``User`` (any case); anything else is refused before it reaches a query."""
    canonical = LABELS.get(label.lower()) if isinstance(label, str) else None
    if canonical is None:
        raise UnsafeNameError(f"Label {label!r} has no text features; use item or user.")
    return canonical


def check_property(label: str, prop: str, allow: Iterable[str] = ()) -> str:
    """A text property name: lower-case identifier, and known for the label or explicitly allowed."""
    label = check_label(label)
    node_vectors.check_piece(prop, "Text property")
    allowed = TEXT_PROPERTIES[label] | ({p for p in allow if p != FACTS})
    if prop not in allowed:
        raise UnsafeNameError(f"Text property {prop!r} is not allowed on {label}; known: "
                              f"{', '.join(sorted(TEXT_PROPERTIES[label]))} (allow others explicitly).")
    return prop


def check_name(name: str) -> str:
    """A vector name; it becomes property and index names, so it is an identifier too."""
    node_vectors.check_piece(name, "Vector name")
    if name.endswith(("_sha256", "_encoder")):
        raise UnsafeNameError(f"Vector name {name!r} may not end in _sha256 or _encoder (its keys do).")
    return name


def vector_keys(label: str, name: str) -> VectorKeys:
    """The properties (``text_vec_<name>``, ``_sha256``, ``_encoder``, ``_source``) and index of a text vector."""
    return node_vectors.text_vector_keys(check_label(label), check_name(name))


# -- reading texts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextRow:
    id: int
    text: str | None             # None: the node has no (non-blank) text
    stored_sha256: str | None    # cache key of the vector the node holds
    stored_encoder: str | None
    has_vector: bool


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def facts_text(row: dict[str, Any]) -> str | None:
    """An item's own facts as one text (title, genres, year, IMDb plot); None when it has none."""
    parts = []
    if row.get("title"):
        parts.append(f"{row['title']}.")
    if row.get("genres"):
        parts.append("Genres: " + ", ".join(row["genres"]) + ".")
    if row.get("year"):
        parts.append(f"Year: {row['year']}.")
    if row.get("plot"):
        parts.append(str(row["plot"]).strip())
    return " ".join(parts) or None


def _check_dataset(store: GraphStore, dataset: str) -> None:
    """The dataset exists and keeps kgrec's own item and user nodes, which text vectors live on."""
    if dataset_info(store, dataset).get("linked"):
        raise ConfigError(f"Dataset '{dataset}' is linked to a graph of your own: text vectors live on kgrec's own "
                          "Item and User nodes, which a linked dataset does not have. Its LLM descriptions are on "
                          f"(:KgrecItemText {{dataset: '{dataset}'}}) and (:KgrecUserText) nodes.")


def _clean(text: Any) -> str | None:
    return text.strip() if isinstance(text, str) and text.strip() else None


def read_texts(store: GraphStore, dataset: str, label: str = "Item", prop: str = "description", *,
               name: str | None = None, allow: Iterable[str] = ()) -> list[TextRow]:
    """Every node's text (``None`` where missing) with its cache key under ``name``; sorted by id."""
    label, prop = check_label(label), check_property(label, prop, allow)
    keys = vector_keys(label, name or prop)
    _check_dataset(store, dataset)
    if prop == FACTS:
        rows = store.read("text/item_facts", dataset=dataset, **keys.params())
        texts = [facts_text(row) for row in rows]
    else:
        rows = store.read(f"text/{label.lower()}_texts", dataset=dataset, property=prop, **keys.params())
        texts = [_clean(row["text"]) for row in rows]
    return [TextRow(row["id"], text, row["sha256"], row["encoder"], row["has_vector"])
            for row, text in zip(rows, texts, strict=True)]


def missing_text_hint(dataset: str, label: str, prop: str, missing: int, total: int) -> str:
    """``N of M Items lack 'description'; write them with `kgrec enrich items --dataset D`.``"""
    command = WRITERS.get(prop, "the command that sets {prop}").format(kind=label.lower(), dataset=dataset, prop=prop)
    return f"{missing:,} of {total:,} {label} nodes of '{dataset}' lack '{prop}'; write it with `{command}`."


# -- encoding ---------------------------------------------------------------------------------------
def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class TextEncoder:
    """A sentence-transformers model and the name its vectors are cached under."""

    model: Any
    name: str

    @property
    def dimensions(self) -> int:
        get = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """Texts longer (in tokens, special tokens included) than the model reads; it cuts them."""
        if not texts:
            return 0
        ids = self.model.tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return sum(len(tokens) > self.max_tokens for tokens in ids)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Progress = False) -> np.ndarray:
        """(n, d) unit-length float32 vectors, ``batch_size`` texts per forward pass on the model's device."""
        if not texts:
            return np.zeros((0, self.dimensions), np.float32)
        vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                    show_progress_bar=bars_enabled(progress), convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def load_text_encoder(encoder: str | None = None, device: str | None = None) -> TextEncoder:
    """The packaged MiniLM (default) or any sentence-transformers / HF encoder, from local files only.

    Loaded through :func:`knowledge.encoders.load_encoder` (cached per process, so a process holds
    each model once), then moved to ``device`` (CUDA when present).
    """
    return TextEncoder(load_encoder(encoder).to(device or default_device()), encoder_id(encoder))


# -- encode and store -------------------------------------------------------------------------------
@dataclass
class EncodeReport:
    dataset: str
    label: str
    property: str
    name: str
    encoder: str
    dimensions: int
    max_tokens: int         # the encoder reads at most this many tokens of a text
    nodes: int = 0
    encoded: int = 0        # texts sent through the encoder this run
    cached: int = 0         # unchanged texts whose stored vector was kept
    truncated: int = 0      # of the encoded, texts longer than the encoder reads (cut by it)
    missing: int = 0        # nodes without text (no vector written)
    index: str = ""
    index_created: bool = False
    seconds: float = 0.0
    hint: str = ""          # what to run when texts are missing

    @property
    def texts_per_second(self) -> float:
        return self.encoded / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "texts_per_second": round(self.texts_per_second, 1)}


def is_cached(row: TextRow, sha: str, encoder: str) -> bool:
    return row.has_vector and row.stored_sha256 == sha and row.stored_encoder == encoder


def encode_dataset(store: GraphStore, dataset: str, label: str = "Item", prop: str = "description", *,
                   name: str | None = None, encoder: str | TextEncoder | None = None, batch_size: int = 64,
                   allow: Iterable[str] = (), progress: Progress = None) -> EncodeReport:
    """Encode every node's text that has no up-to-date vector, store the vectors, ensure the index.

    Raises :class:`MissingTextError` when no node has the text, naming the command that writes it.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}.")
    label = check_label(label)
    keys = vector_keys(label, name or prop)
    rows = read_texts(store, dataset, label, prop, name=keys.name, allow=allow)
    present = [row for row in rows if row.text is not None]
    hint = missing_text_hint(dataset, label, prop, len(rows) - len(present), len(rows)) if len(present) < len(rows) else ""
    if not present:
        raise MissingTextError(f"No text to encode: {hint}" if rows else f"Dataset '{dataset}' has no {label} nodes.")
    model = encoder if isinstance(encoder, TextEncoder) else load_text_encoder(encoder)
    _check_index_fits(store, keys, model.dimensions)
    report = EncodeReport(dataset, label, prop, keys.name, model.name, model.dimensions, model.max_tokens, nodes=len(rows),
                          missing=len(rows) - len(present), index=keys.index, hint=hint)
    pending = [(row, text_sha256(row.text)) for row in present]
    pending = [(row, sha) for row, sha in pending if not is_cached(row, sha, model.name)]
    report.cached = len(present) - len(pending)
    texts = [row.text for row, _ in pending]
    started = time.perf_counter()
    report.truncated = model.count_truncated(texts)
    vectors = model.encode(texts, batch_size, progress)
    report.seconds = time.perf_counter() - started
    report.encoded = len(texts)
    node_vectors.write_vectors(store, f"text/set_{label.lower()}_vectors", [row.id for row, _ in pending], vectors,
                               [sha for _, sha in pending], batch_size=_WRITE_BATCH,
                               description=f"{dataset}: {label} text vectors", progress=progress, dataset=dataset,
                               encoder=model.name, source=prop, **keys.params())
    report.index_created = ensure_vector_index(store, label, keys.name, model.dimensions)
    return report


# -- vector index -----------------------------------------------------------------------------------
def vector_index(store: GraphStore, label: str, name: str) -> dict[str, Any] | None:
    """The index of (label, name): ``{name, label, property, dimensions, state}``, or None."""
    return node_vectors.find_index(store, vector_keys(label, name).index)


def _check_index_fits(store: GraphStore, keys: VectorKeys, dimensions: int) -> dict[str, Any] | None:
    """The existing index, if any; one shared by every dataset holds one size, so another size is refused."""
    index = vector_index(store, keys.label, keys.name)
    if index is not None and index["dimensions"] != dimensions:
        raise _size_error(keys, index["dimensions"], dimensions)
    return index


def _size_error(keys: VectorKeys, found: int, dimensions: int) -> ConfigError:
    return ConfigError(f"Vector index '{keys.index}' holds {found}-d vectors, the encoder gives "
                       f"{dimensions}-d; choose another --name for this encoder.")


def ensure_vector_index(store: GraphStore, label: str, name: str, dimensions: int) -> bool:
    """Create the cosine index of (label, name) unless it exists; True when created. Waits until online."""
    keys = vector_keys(label, name)
    try:
        return node_vectors.ensure_index(store, keys.index_key, dimensions)
    except node_vectors.IndexSizeError as error:
        raise _size_error(keys, error.found, dimensions) from error


def drop_vector_index(store: GraphStore, label: str, name: str) -> None:
    """Drop the index of (label, name) if present (the vectors stay on the nodes)."""
    node_vectors.drop_index(store, vector_keys(label, name).index)


def stored_encoders(store: GraphStore, dataset: str, label: str, name: str) -> list[str]:
    """Encoders the dataset's nodes hold vectors of under ``name``, most used first."""
    keys = vector_keys(label, name)
    return [row["encoder"] for row in store.read(f"text/{keys.label.lower()}_encoders", dataset=dataset,
                                                 **keys.params())]


def _query_vector(store: GraphStore, dataset: str, keys: VectorKeys, query: str | Sequence[float],
                  encoder: str | TextEncoder | None) -> list[float]:
    if not isinstance(query, str):
        return [float(x) for x in query]
    if encoder is None:
        found = stored_encoders(store, dataset, keys.label, keys.name)
        if len(found) != 1:
            raise ConfigError(f"Vectors '{keys.name}' of '{dataset}' come from {len(found)} encoders "
                              f"({', '.join(found) or 'none'}); name the encoder for the query.")
        encoder = found[0]
    model = encoder if isinstance(encoder, TextEncoder) else load_text_encoder(encoder)
    return model.encode([query])[0].tolist()


def nearest(store: GraphStore, dataset: str, label: str, query: str | Sequence[float], k: int = 10, *,
            name: str = "description", encoder: str | TextEncoder | None = None) -> list[dict[str, Any]]:
    """The ``k`` nodes of ``dataset`` whose vectors are closest to a text or a vector; score (1 + cos) / 2.

    A text is encoded with the encoder the stored vectors came from unless one is given. The index
    spans all datasets, so it is asked for more neighbours until ``k`` of this dataset are found.
    """
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}.")
    keys = vector_keys(label, name)
    _check_dataset(store, dataset)
    index = vector_index(store, keys.label, keys.name)
    if index is None:
        raise MissingTextError(f"No vector index '{keys.index}'; run `kgrec text encode --dataset {dataset} "
                               f"--label {keys.label.lower()} --name {keys.name}` first.")
    return node_vectors.nearest(store, index, _query_vector(store, dataset, keys, query, encoder), dataset, k)


# -- for training -----------------------------------------------------------------------------------
class TextMatrix(NamedTuple):
    vectors: np.ndarray     # (n, d) float32; zero rows for nodes without a vector
    ids: np.ndarray         # (n,) graph ids; row k belongs to ids[k] (export order: sorted ids)
    missing: int            # rows without a vector
    sources: frozenset[str] = frozenset()   # the text properties the vectors were encoded from


def load_text_matrix(store: GraphStore, dataset: str, label: str, name: str,
                     ids: Sequence[int] | np.ndarray | None = None) -> TextMatrix:
    """The stored vectors as a matrix aligned with ``ids`` (default: all nodes sorted by id, the export's order).

    Raises :class:`MissingTextError` when no node has a vector under ``name``, and ``ConfigError``
    when the vectors come from several encoders (a cut run: encode again).
    """
    keys = vector_keys(label, name)
    _check_dataset(store, dataset)
    found = node_vectors.read_matrix(store, f"text/{keys.label.lower()}_vectors", ids, dataset=dataset,
                                     **keys.params())
    written = [row for row in found.rows if row["vector"] is not None]
    if not written:
        raise MissingTextError(f"No {keys.label} of '{dataset}' has a vector '{keys.name}'; run `kgrec text encode "
                               f"--dataset {dataset} --label {keys.label.lower()} --name {keys.name}` first.")
    encoders = {row["encoder"] for row in written}
    if len(encoders) > 1:
        raise ConfigError(f"Vectors '{keys.name}' of '{dataset}' come from {len(encoders)} encoders; "
                          "run kgrec text encode again to finish the change.")
    sources = frozenset(row["source"] for row in written if row.get("source"))
    return TextMatrix(found.vectors, found.ids, found.missing, sources)
