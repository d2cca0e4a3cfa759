"""Cypher queries of kgrec, one per ``.cypher`` file, loaded by name (see kg_store.cypher_files)."""
