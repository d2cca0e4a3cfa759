"""Cypher files: export."""
