"""Chat backends (HTTP, local transformers), prompt budgets, and the Neo4j response cache.

Backends are found by name through :func:`knowledge.llm.base.create_backend`; importing this
package loads neither torch nor ``requests``: each backend module is imported when first named.
"""

from knowledge.llm.base import (
    ChatBackend,
    ChatRequest,
    Completion,
    GenerationParams,
    backend_names,
    create_backend,
)

__all__ = ["ChatBackend", "ChatRequest", "Completion", "GenerationParams", "backend_names", "create_backend"]
