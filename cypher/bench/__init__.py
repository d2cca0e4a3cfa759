"""Cypher files: bench."""
