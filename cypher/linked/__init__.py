"""Cypher files: linked datasets (templates and kgrec-owned nodes)."""
