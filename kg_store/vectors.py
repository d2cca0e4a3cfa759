"""Vectors on graph nodes: their property and index names, vector indexes, batched writes, matrix reads
and nearest-neighbour search, for every kind of vector kgrec keeps.

Two kinds share this module: a ranking model's final vectors (``kg_store.embeddings``) under
``emb_<model>`` with ``emb_<model>_run`` and an index ``embedding_<label>_<model>``, and text vectors
(``knowledge.text_features``) under ``text_vec_<name>`` with ``_sha256``, ``_encoder`` and ``_source``
and an index ``text_<label>_<name>``. A model, vector or text name comes from config or the command
line and ends up as a node property key and a schema object, so every such name is made by
:func:`vector_name` from pieces matching ``[a-z][a-z0-9_]*``; the queries take the checked names
as parameters. A vector index spans every dataset (Neo4j indexes cover a label, not a dataset), so
one index holds one vector size and search filters the hits to the dataset asked for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from kg_store.batching import write_in_batches
from kg_store.connection import GraphStore
from kg_store.errors import ConfigError, UnsafeNameError
from kg_store.progress import Progress

NAME_PIECE = re.compile(r"^[a-z][a-z0-9_]*$")
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")     # a model's name piece: '-' is written as '_'
MAX_PIECE = 48          # a model, vector or text name
MAX_NAME = 128          # a whole property or index name, several pieces joined
VECTOR_LABELS = ("User", "Item", "Interest")
INDEX_WAIT_SECONDS = 300


# -- names ------------------------------------------------------------------------------------------
def check_piece(value: object, what: str = "Name", limit: int = MAX_PIECE) -> str:
    """``value`` when it is a lower-case identifier of at most ``limit`` characters; else refused."""
    if not isinstance(value, str) or not NAME_PIECE.match(value) or len(value) > limit:
        raise UnsafeNameError(f"{what} {value!r} must match {NAME_PIECE.pattern[1:-1]} "
                              f"(at most {limit} characters).")
    return value


def vector_name(*pieces: str) -> str:
    """The one builder of vector property and index names: checked pieces joined by ``_``."""
    if not pieces:
        raise UnsafeNameError("A vector property or index name needs at least one piece.")
    return "_".join(check_piece(piece, "Name piece") for piece in pieces)


def checked_name(name: str) -> str:
    """A whole property or index name handed in again (read from the graph, or built earlier), rechecked."""
    return check_piece(name, "Vector property or index name", MAX_NAME)


def check_vector_label(label: str) -> str:
    """A node label that may hold vectors (``User``, ``Item``, ``Interest``); the index's label too."""
    if label not in VECTOR_LABELS:
        raise UnsafeNameError(f"Label {label!r} holds no vectors; use one of {', '.join(VECTOR_LABELS)}.")
    return label


class VectorIndexKey(NamedTuple):
    """Where a vector index points: its name, label and vector property."""

    name: str
    label: str
    property: str


@dataclass(frozen=True)
class EmbeddingKeys:
    """A ranking model's vector property (from ``recommender.registry``) and the names derived from it."""

    model: str
    property: str

    @property
    def run_property(self) -> str:
        return vector_name(self.property, "run")

    def index(self, label: str) -> str:
        return vector_name("embedding", check_vector_label(label).lower(), self.model)

    def index_key(self, label: str) -> VectorIndexKey:
        return VectorIndexKey(self.index(label), label, vector_name(self.property))


@dataclass(frozen=True)
class TextVectorKeys:
    """The node properties and index that hold one named text vector of one label."""

    label: str
    name: str

    def _prop(self, *suffix: str) -> str:
        return vector_name("text_vec", self.name, *suffix)

    @property
    def vector(self) -> str:
        return self._prop()

    @property
    def sha256(self) -> str:
        return self._prop("sha256")

    @property
    def encoder(self) -> str:
        return self._prop("encoder")

    @property
    def source(self) -> str:
        return self._prop("source")

    @property
    def index(self) -> str:
        return vector_name("text", check_vector_label(self.label).lower(), self.name)

    @property
    def index_key(self) -> VectorIndexKey:
        return VectorIndexKey(self.index, self.label, self.vector)

    def params(self) -> dict[str, str]:
        """The query parameters naming the four properties."""
        return {"vector_property": self.vector, "sha_property": self.sha256, "encoder_property": self.encoder,
                "source_property": self.source}


def embedding_keys(model: str, prop: str) -> EmbeddingKeys:
    """Names of ``model``'s vectors stored under ``prop``; both are checked here. A model name may
    hold ``-`` (``kgrec-sr``), which index names take as ``_`` (the registry keeps the two apart)."""
    if not isinstance(model, str) or not MODEL_NAME.match(model) or len(model) > MAX_PIECE:
        raise UnsafeNameError(f"Model name {model!r} must match {MODEL_NAME.pattern[1:-1]} "
                              f"(at most {MAX_PIECE} characters).")
    return EmbeddingKeys(model.replace("-", "_"), check_piece(prop, "Embedding property"))


def text_vector_keys(label: str, name: str) -> TextVectorKeys:
    """Names of the text vector ``name`` of ``label`` (``Item`` or ``User``)."""
    return TextVectorKeys(check_vector_label(label), check_piece(name, "Vector name"))


# -- vector indexes ---------------------------------------------------------------------------------
class IndexSizeError(ConfigError):
    """An index of this name exists for vectors of another size (one index holds one size)."""

    def __init__(self, index: str, found: int, dimensions: int):
        super().__init__(f"Vector index '{index}' holds {found}-d vectors, not {dimensions}-d.")
        self.index, self.found, self.dimensions = index, found, dimensions


def find_index(store: GraphStore, name: str) -> dict[str, Any] | None:
    """The vector index ``name``: ``{name, label, property, dimensions, state}``, or None."""
    rows = store.read("text/vector_index", name=checked_name(name))
    return rows[0] if rows else None


def ensure_index(store: GraphStore, key: VectorIndexKey, dimensions: int) -> bool:
    """Create the cosine index ``key`` unless it exists and wait until it is online; True when created.

    Raises :class:`IndexSizeError` when it exists for another size: the index other datasets use is
    never dropped to fit a new one.
    """
    found = find_index(store, key.name)
    if found is not None:
        if found["dimensions"] != dimensions:
            raise IndexSizeError(key.name, found["dimensions"], int(dimensions))
        return False
    store.write("text/create_vector_index", name=key.name, label=check_vector_label(key.label),
                property=checked_name(key.property), dimensions=int(dimensions))
    store.autocommit("store/await_indexes", seconds=INDEX_WAIT_SECONDS)
    return True


def drop_index(store: GraphStore, name: str) -> None:
    """Drop the vector index ``name`` if present; the vectors stay on the nodes."""
    store.autocommit("text/drop_vector_index", name=checked_name(name))


# -- writing and reading ----------------------------------------------------------------------------
def write_vectors(store: GraphStore, query: str, ids: Sequence[int] | np.ndarray, vectors: np.ndarray,
                  *columns: Sequence[Any], batch_size: int, description: str, progress: Progress = None,
                  **params: Any) -> int:
    """Write one vector per node through the named ``set_*`` query, ``batch_size`` rows per transaction.

    The query unwinds ``[[id, [float, ...], *columns], ...]`` (values rounded to float32, as the
    typed vector property stores them); returns the number of rows.
    """
    floats = np.asarray(vectors, dtype=np.float32).tolist()
    rows = [[int(node), vector, *more] for node, vector, *more in zip(ids, floats, *columns, strict=True)]
    write_in_batches(store, query, rows, batch_size=batch_size, description=description, progress=progress,
                     **params)
    return len(rows)


@dataclass(frozen=True)
class StoredMatrix:
    """Vectors read back from the graph, row ``k`` belonging to ``ids[k]``."""

    rows: list[dict[str, Any]]   # what the query returned, in its order
    ids: np.ndarray              # (n,) int64
    vectors: np.ndarray          # (n, d) float32; zero rows where a node has none; (n, 0) when none has
    missing: int                 # rows without a vector


def read_matrix(store: GraphStore, query: str, ids: Sequence[int] | np.ndarray | None = None,
                **params: Any) -> StoredMatrix:
    """Run ``query`` (rows with ``id`` and ``vector``, null where none) and stack the vectors aligned with
    ``ids`` (default: the rows' ids in the query's order)."""
    rows = store.read(query, **params)
    stored = {row["id"]: row["vector"] for row in rows if row["vector"] is not None}
    order = np.asarray([row["id"] for row in rows], dtype=np.int64) if ids is None else np.asarray(ids)
    dimensions = len(next(iter(stored.values()))) if stored else 0
    matrix = np.zeros((len(order), dimensions), np.float32)
    missing = 0
    for position, node_id in enumerate(order.tolist()):
        vector = stored.get(node_id)
        if vector is None:
            missing += 1
        else:
            matrix[position] = vector
    return StoredMatrix(rows, order, matrix, missing)


# -- nearest neighbours -----------------------------------------------------------------------------
def nearest(store: GraphStore, index: dict[str, Any], vector: Sequence[float], dataset: str,
            k: int) -> list[dict[str, Any]]:
    """The ``k`` nodes of ``dataset`` closest to ``vector`` in ``index`` (a :func:`find_index` row),
    ``{id, title, score}`` with score (1 + cos) / 2, best first.

    Hits are rescored exactly from the stored vectors; the index spans all datasets, so it is asked
    for more neighbours until ``k`` of this dataset are found or it has no more.
    """
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}.")
    query = [float(x) for x in vector]
    if len(query) != index["dimensions"]:
        raise ConfigError(f"The query vector has {len(query)} dimensions, index '{index['name']}' "
                          f"{index['dimensions']}.")
    fetch = max(4 * k, 32)
    while True:
        row = store.read("text/nearest", index=checked_name(index["name"]), fetch=fetch, vector=query,
                         dataset=dataset, vector_property=checked_name(index["property"]))[0]
        if len(row["hits"]) >= k or row["fetched"] < fetch:
            return row["hits"][:k]
        fetch *= 4
