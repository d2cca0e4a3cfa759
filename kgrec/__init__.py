"""kgrec: a Neo4j-backed knowledge-graph recommender (CIKGRec, KELLMRec).

The importable API lives in :mod:`kgrec.api`; the ``kgrec`` command (:mod:`kgrec.cli`) is a thin
layer over it.
"""

from kgrec.api import connect, ingest_cikg, ingest_movielens, start_local_neo4j

__all__ = ["connect", "ingest_cikg", "ingest_movielens", "start_local_neo4j"]
__version__ = "0.1.0"
