"""Cypher files: the CTR user split, profile cuts, samples and persisted rerank candidate lists."""
