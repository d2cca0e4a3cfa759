"""Cypher files: graph-returning queries to paste into Neo4j Browser (the README's walk-through)."""
