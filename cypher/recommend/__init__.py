"""Cypher files: recommendations and training runs."""
