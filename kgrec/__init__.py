"""kgrec: a Neo4j-backed knowledge-graph recommender (CIKGRec, KELLMRec).

``import kgrec`` gives the whole pipeline as plain calls, each returning a typed result with
``to_dict()`` / ``to_json()`` (:mod:`kgrec.results`, :mod:`kgrec.admin_results`)::

    import kgrec

    kgrec.connect()                                   # NEO4J_* settings, else the local server
    kgrec.ingest("dbbook2014")
    run = kgrec.train("cikgrec", "dbbook2014", epochs=20)
    print(kgrec.recommend("dbbook2014", user=0, limit=5).to_json())

The calls live in :mod:`kgrec.pipeline` (connect, ingest, split, LLM knowledge),
:mod:`kgrec.models_api` (train, estimate_training, evaluate, recommend, explain, export, serve),
:mod:`kgrec.graph_api` (datasets, checks, named queries, interest sets), :mod:`kgrec.neo4j_api`
(kgrec's own Neo4j server), :mod:`kgrec.data_api` (catalog, downloads, lookup order, synthetic
sets), :mod:`kgrec.knowledge_api` (Wikipedia, IMDb details, item links, text vectors) and
:mod:`kgrec.llm_api` (backends, one prompt, the response cache); the ``kgrec`` command calls only
these. The lower-level :mod:`kgrec.api`, :mod:`kgrec.training` and :mod:`kgrec.ctr_training` stay
importable. Importing kgrec loads neither torch nor the web server: they load when a call needs them.
"""

from kgrec.api import ingest_cikg, ingest_movielens
from kgrec.data_api import catalog, dataset_locations, fetch_dataset, locate_dataset, write_synthetic
from kgrec.demo import DemoOptions, run_demo
from kgrec.graph_api import (
    check_dataset,
    dataset_stats,
    drop_dataset,
    interest_sets,
    list_datasets,
    lists_from_edges,
    named_queries,
    named_query,
    run_query,
)
from kgrec.knowledge_api import (
    encode_texts,
    import_imdb_details,
    ingest_wikipedia,
    link_items,
    nearest_texts,
    wikipedia_stats,
)
from kgrec.llm_api import ask, export_llm_cache, import_llm_cache, llm_backend, llm_cache_stats
from kgrec.models_api import (
    create_app,
    estimate_training,
    evaluate,
    explain,
    export,
    recommend,
    serve,
    set_threads,
    train,
)
from kgrec.neo4j_api import neo4j_home, neo4j_password, neo4j_status, neo4j_uri_set, start_neo4j, stop_neo4j
from kgrec.pipeline import (
    cluster_interests,
    connect,
    describe_items,
    describe_users,
    infer_interests,
    ingest,
    new_connection,
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
    # the connection, the demo, serving and training estimates
    "new_connection", "run_demo", "DemoOptions", "serve", "estimate_training", "set_threads",
    # the graph's contents (kgrec.graph_api)
    "list_datasets", "dataset_stats", "drop_dataset", "lists_from_edges", "check_dataset", "named_queries",
    "named_query", "run_query", "interest_sets",
    # kgrec's own Neo4j server (kgrec.neo4j_api)
    "neo4j_home", "neo4j_uri_set", "start_neo4j", "stop_neo4j", "neo4j_status", "neo4j_password",
    # datasets on disk (kgrec.data_api)
    "catalog", "fetch_dataset", "dataset_locations", "locate_dataset", "write_synthetic",
    # item knowledge (kgrec.knowledge_api)
    "ingest_wikipedia", "wikipedia_stats", "import_imdb_details", "link_items", "encode_texts", "nearest_texts",
    # language models and the response cache (kgrec.llm_api)
    "llm_backend", "ask", "export_llm_cache", "import_llm_cache", "llm_cache_stats",
]
__version__ = "0.1.0"
