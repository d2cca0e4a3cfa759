"""Cypher files: the streams behind ``kgrec export`` (kg_store.formats), one kind of row each."""
