"""Clustering ~60 phrases in four obvious topics with the real MiniLM encoder and with tf-idf + k-means."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.interests.cluster import Clustering, ClusterOptions, cluster_interests
from knowledge.interests.phrases import read_phrases_jsonl

PHRASES = Path(__file__).parent / "fixtures" / "interest_phrases.jsonl"
TOPICS = ("space", "love", "cooking", "football")


def topic_of(phrase: str) -> str:
    return next(topic for topic in TOPICS if topic in phrase)


def assert_four_topics(clustering: Clustering) -> None:
    assert len(clustering.clusters) == 4
    assert {topic_of(c.label) for c in clustering.clusters} == set(TOPICS)
    for cluster in clustering.clusters:
        assert {topic_of(p) for p in cluster.phrases} == {topic_of(cluster.label)}
        assert cluster.size == len(cluster.phrases) == 15 and cluster.label == cluster.phrases[0]
    for weights in clustering.user_weights.values():  # each fixture user holds one topic
        assert list(weights.values()) == [1.0]
    assert clustering.quality["clusters"] == 4 and clustering.quality["noise_share"] == 0.0


def test_hdbscan_on_minilm_finds_the_four_topics() -> None:
    clustering = cluster_interests(read_phrases_jsonl(PHRASES), ClusterOptions(method="hdbscan", seed=7))
    assert_four_topics(clustering)
    assert clustering.quality["silhouette"] > 0.5


def test_kmeans_on_tfidf_finds_the_four_topics() -> None:
    options = ClusterOptions(method="kmeans", k=4, max_user_share=0.5)
    assert_four_topics(cluster_interests(read_phrases_jsonl(PHRASES), options))


def test_kmeans_filter_drops_clusters_held_by_many_or_one() -> None:
    users = {u: ["jazz music", "space opera"] for u in range(10)}  # "jazz" held by everyone
    users[0] = users[0] + ["tax law"]                               # "tax" held by one user
    clustering = cluster_interests(users, ClusterOptions(method="kmeans", k=3, max_user_share=1.01))
    assert {c.label for c in clustering.clusters} == {"jazz music", "space opera"}
    assert clustering.user_weights[0] == {0: pytest.approx(1 / 3), 1: pytest.approx(1 / 3)}
    filtered = cluster_interests(users, ClusterOptions(method="kmeans", k=3, max_user_share=0.2))
    assert filtered.clusters == [] and filtered.user_weights == {}


def test_noise_can_be_dropped_and_empty_input_is_empty() -> None:
    assert cluster_interests({}).clusters == []
    users = read_phrases_jsonl(PHRASES)
    users[99] = ["quantum tax accounting"]
    dropped = cluster_interests(users, ClusterOptions(noise="drop", seed=7))
    kept = {p for c in dropped.clusters for p in c.phrases}
    assert len(kept) == round((1 - dropped.quality["noise_share"]) * dropped.quality["phrases"])
    assert (99 in dropped.user_weights) == ("quantum tax accounting" in kept)
