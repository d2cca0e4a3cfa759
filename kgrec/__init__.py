"""kgrec: a Neo4j-backed knowledge-graph recommender (CIKGRec, KELLMRec).

``import kgrec`` gives the whole pipeline as plain calls, each returning a typed result with
``to_dict()`` / ``to_json()`` (:mod:`kgrec.results`)::

    import kgrec

    kgrec.connect()                                   # NEO4J_* settings, else the local server
    kgrec.ingest("dbbook2014")
    run = kgrec.train("cikgrec", "dbbook2014", epochs=20)
    print(kgrec.recommend("dbbook2014", user=0, limit=5).to_json())

The calls live in :mod:`kgrec.pipeline` (connect, ingest, split, LLM knowledge) and
:mod:`kgrec.models_api` (train, evaluate, recommend, explain, export, serve); the lower-level
:mod:`kgrec.api`, :mod:`kgrec.training` and :mod:`kgrec.ctr_training` stay importable. Importing
kgrec loads neither torch nor the web server: they load when a call needs them.
"""

from kgrec.api import ingest_cikg, ingest_movielens
from kgrec.models_api import create_app, evaluate, explain, export, recommend, train
from kgrec.pipeline import (
    cluster_interests,
    connect,
    describe_items,
    describe_users,
    infer_interests,
    ingest,
    split,
    start_local_neo4j,
)
from knowledge.descriptions import DescribeConfig
from knowledge.interests.cluster import ClusterOptions
from knowledge.interests.infer import InferConfig

__all__ = [
    "connect", "start_local_neo4j", "ingest", "split", "describe_items", "describe_users", "infer_interests",
    "cluster_interests", "train", "evaluate", "recommend", "explain", "export", "create_app",
    "ClusterOptions", "DescribeConfig", "InferConfig", "ingest_cikg", "ingest_movielens",
]
__version__ = "0.1.0"
