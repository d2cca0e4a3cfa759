"""Cypher files: store."""
