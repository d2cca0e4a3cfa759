"""Cypher files: KG quality checks run by ``kgrec db check`` (kg_store/checks.py)."""
