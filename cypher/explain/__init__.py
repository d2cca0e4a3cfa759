"""Cypher files: the explanation paths behind `kgrec explain` (user, item -> why)."""
