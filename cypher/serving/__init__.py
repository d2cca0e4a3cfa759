"""Cypher files: what `kgrec serve` reads and writes per request."""
