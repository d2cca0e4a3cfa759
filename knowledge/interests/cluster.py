"""Group users' interest phrases into interests: the clusters an interest set is made of.

Phrases from LLM answers rarely repeat word for word ("space opera", "galactic adventures"),
so CIKGRec's user-interest graph needs them grouped. Two methods, side by side:

- ``hdbscan`` (default): sentence embeddings (the packaged, offline all-MiniLM-L6-v2 unless
  another model name or path is given) -> UMAP to a few cosine-preserving dimensions (seeded) ->
  sklearn's HDBSCAN, which finds the number of clusters itself; noise phrases join the nearest
  cluster centroid or are dropped.
- ``kmeans``: the reference implementation's tf-idf + k-means (k = 350, capped by the number of
  phrases), then its filter: clusters held by at least 1/5 of the users say nothing about a user,
  and clusters held by one user link nobody, so both are dropped.

Each cluster is labelled by its most central phrase (closest to the centroid). A user's weight on
a cluster is the share of that user's phrases that fall in it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from kg_store.errors import ConfigError
from knowledge.encoders import load_encoder

Method = Literal["hdbscan", "kmeans"]
NOISE = -1


@dataclass(frozen=True)
class ClusterOptions:
    """Knobs of both methods; each applies to the method named in its comment."""

    method: Method = "hdbscan"
    encoder: str | None = None          # hdbscan: sentence-transformers name or path (None: packaged MiniLM)
    n_components: int = 5               # hdbscan: UMAP dimensions (5-10 works well)
    n_neighbors: int = 15               # hdbscan: UMAP neighbourhood (capped by the phrase count)
    min_cluster_size: int = 5           # hdbscan
    noise: Literal["nearest", "drop"] = "nearest"   # hdbscan: what happens to noise phrases
    k: int = 350                        # kmeans: clusters (capped by the phrase count)
    max_user_share: float = 0.2         # kmeans filter: drop clusters held by >= this share of users
    min_users: int = 2                  # kmeans filter: drop clusters held by fewer users
    seed: int = 2024


@dataclass
class Cluster:
    id: int
    label: str             # the member phrase closest to the centroid
    size: int              # member phrases
    phrases: list[str]     # most central first


@dataclass
class Clustering:
    method: str
    clusters: list[Cluster]
    user_weights: dict[int, dict[int, float]]          # user -> {cluster id: share of the user's phrases}
    quality: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "quality": self.quality,
                "clusters": [vars(c) for c in self.clusters],
                "user_weights": {str(u): {str(c): w for c, w in ws.items()} for u, ws in self.user_weights.items()}}


def embed(phrases: Sequence[str], encoder: str | None = None) -> np.ndarray:
    """(n, d) unit-length sentence embeddings of ``phrases`` (``knowledge.encoders`` loads the model)."""
    model = load_encoder(encoder)
    return np.asarray(model.encode(list(phrases), normalize_embeddings=True, show_progress_bar=False))


def _reduce(vectors: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """UMAP to ``n_components`` (cosine, seeded); too few phrases for UMAP keep their vectors."""
    n = len(vectors)
    if n <= options.n_components + 2:
        return vectors
    import umap

    reducer = umap.UMAP(n_components=options.n_components, n_neighbors=max(2, min(options.n_neighbors, n - 1)),
                        metric="cosine", min_dist=0.0, random_state=options.seed, n_jobs=1)
    return reducer.fit_transform(vectors)


def _centroids(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {int(c): vectors[labels == c].mean(axis=0) for c in np.unique(labels) if c != NOISE}


def _hdbscan_labels(vectors: np.ndarray, options: ClusterOptions) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    min_size = max(2, options.min_cluster_size)
    if len(vectors) < min_size:  # no cluster can reach the minimum size: every phrase is noise
        return np.full(len(vectors), NOISE)
    labels = HDBSCAN(min_cluster_size=min_size, copy=True).fit_predict(vectors)
    if options.noise == "nearest" and (labels == NOISE).any() and (labels != NOISE).any():
        centroids = _centroids(vectors, labels)
        ids, matrix = list(centroids), np.stack(list(centroids.values()))
        noise = np.flatnonzero(labels == NOISE)
        distances = ((vectors[noise, None, :] - matrix[None, :, :]) ** 2).sum(-1)
        labels[noise] = np.array(ids)[distances.argmin(1)]
    return labels


def _kmeans(phrases: list[str], options: ClusterOptions) -> tuple[np.ndarray, np.ndarray]:
    """tf-idf vectors (dense, unit length) and k-means labels."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectors = TfidfVectorizer().fit_transform(phrases).toarray()
    k = max(1, min(options.k, len(phrases)))
    labels = KMeans(n_clusters=k, n_init=10, random_state=options.seed).fit_predict(vectors)
    return vectors, labels


def _holders(user_phrases: Mapping[int, list[str]], cluster_of: Mapping[str, int]) -> Counter:
    return Counter(c for phrases in user_phrases.values()
                   for c in {cluster_of[p] for p in phrases if cluster_of.get(p, NOISE) != NOISE})


def _filter(labels: np.ndarray, phrases: list[str], user_phrases: Mapping[int, list[str]],
            options: ClusterOptions) -> np.ndarray:
    """The reference's filter: no cluster held by >= ``max_user_share`` of users or by < ``min_users``."""
    holders = _holders(user_phrases, dict(zip(phrases, labels.tolist(), strict=True)))
    n_users = max(1, len(user_phrases))
    keep = {c for c, n in holders.items() if n / n_users < options.max_user_share and n >= options.min_users}
    return np.where(np.isin(labels, list(keep)), labels, NOISE)


def _silhouette(vectors: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import silhouette_score

    kept = labels != NOISE
    n_clusters = len(set(labels[kept].tolist()))
    if n_clusters < 2 or n_clusters >= kept.sum():
        return float("nan")
    return float(silhouette_score(vectors[kept], labels[kept]))


def _clusters(vectors: np.ndarray, labels: np.ndarray, phrases: list[str]) -> tuple[list[Cluster], dict[int, int]]:
    """Clusters numbered 0.. by size (largest first), members most central first; old -> new ids."""
    members: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels.tolist()):
        if label != NOISE:
            members[label].append(index)
    ordered = sorted(members, key=lambda c: (-len(members[c]), min(phrases[i] for i in members[c])))
    clusters, renumber = [], {}
    for new_id, old in enumerate(ordered):
        rows = np.array(members[old])
        distances = ((vectors[rows] - vectors[rows].mean(axis=0)) ** 2).sum(-1)
        central = [phrases[i] for i in rows[np.argsort(distances, kind="stable")]]
        clusters.append(Cluster(new_id, central[0], len(central), central))
        renumber[old] = new_id
    return clusters, renumber


def _weights(user_phrases: Mapping[int, list[str]], cluster_of: Mapping[str, int]) -> dict[int, dict[int, float]]:
    weights = {}
    for user, phrases in user_phrases.items():
        counts = Counter(cluster_of[p] for p in phrases if p in cluster_of)
        if counts:
            weights[user] = {c: round(n / len(phrases), 6) for c, n in sorted(counts.items())}
    return weights


def _clean(user_phrases: Mapping[Any, Sequence[str]]) -> dict[int, list[str]]:
    cleaned = {int(u): list(dict.fromkeys(p.strip().lower() for p in ps if p and p.strip()))
               for u, ps in user_phrases.items()}
    return {u: ps for u, ps in cleaned.items() if ps}


def cluster_interests(user_phrases: Mapping[Any, Sequence[str]], options: ClusterOptions | None = None) -> Clustering:
    """Cluster the unique phrases of all users; returns clusters, user weights and quality figures.

    ``quality``: ``silhouette`` (on the vectors clustered: UMAP output or tf-idf), ``clusters``,
    ``noise_share`` (phrases left out of every cluster), ``phrases`` and ``users``.
    """
    options = options or ClusterOptions()
    users = _clean(user_phrases)
    phrases = sorted({p for ps in users.values() for p in ps})
    if not phrases:
        return Clustering(options.method, [], {}, {"clusters": 0, "phrases": 0, "users": 0, "noise_share": 0.0})
    if options.method == "hdbscan":
        vectors = _reduce(embed(phrases, options.encoder), options)
        labels = _hdbscan_labels(vectors, options)
    elif options.method == "kmeans":
        vectors, labels = _kmeans(phrases, options)
        labels = _filter(labels, phrases, users, options)
    else:
        raise ConfigError(f"Unknown clustering method {options.method!r} (use hdbscan or kmeans).")
    clusters, renumber = _clusters(vectors, labels, phrases)
    cluster_of = {p: renumber[label] for p, label in zip(phrases, labels.tolist(), strict=True) if label != NOISE}
    quality = {"silhouette": _silhouette(vectors, labels), "clusters": len(clusters),
               "noise_share": round(float((labels == NOISE).mean()), 4), "phrases": len(phrases), "users": len(users)}
    return Clustering(options.method, clusters, _weights(users, cluster_of), quality)
