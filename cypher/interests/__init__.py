"""Cypher files: interest sets (listing, atomic replacement)."""
