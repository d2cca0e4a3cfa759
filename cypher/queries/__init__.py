"""Cypher files: the named inspection queries behind `kgrec query` (one header comment each)."""
