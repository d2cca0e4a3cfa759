"""``kgrec serve``: recommendations, explanations and cold start over HTTP (FastAPI + uvicorn).

Everything is read from the graph — each user's ``TOP_K`` list, the latest ``TrainingRun`` and the item
vectors it wrote — so a process that sees only a (remote) Neo4j can serve.
"""

from serving.app import create_app
from serving.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
