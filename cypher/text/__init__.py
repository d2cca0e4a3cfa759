"""Cypher files: text features (sentence vectors of node text, their cache keys and vector indexes)."""
