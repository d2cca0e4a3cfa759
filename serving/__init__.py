"""``kgrec serve``: recommendations, explanations and cold start over HTTP (FastAPI + uvicorn).

Everything is read from the graph — each user's ``TOP_K`` list, the latest ``TrainingRun`` and the
vectors it wrote — so a process that sees only a (remote) Neo4j can serve. Each process holds the
latest run's lists and vectors in memory and answers reads and cold starts from there, also while
Neo4j is down (marked stale); ``--workers N`` runs several such processes that share only the graph.
"""

from serving.app import create_app
from serving.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
