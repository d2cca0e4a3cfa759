"""``export_files``: one dataset of the graph, written as another tool's files.

Kept out of :mod:`kgrec.api` only so that module and this one can change independently; it is
the same kind of thin wrapper over ``kg_store``::

    from kgrec import connect
    from kgrec.export_api import export_files
    paths = export_files(connect(), "dbbook2014", "recbole", "out/dbbook2014")
"""

from __future__ import annotations

from pathlib import Path

from kg_store.connection import GraphStore
from kg_store.formats import format_names
from kg_store.formats.files import export_files as _export_files

__all__ = ["export_files", "format_names"]


def export_files(store: GraphStore, dataset: str, format: str, out: Path | str) -> list[Path]:
    """Write ``dataset`` in ``format`` (``cikg``, ``kgat``, ``recbole``, ``pykeen``) into ``out``,
    which must be absent or empty; the folder appears complete or not at all. Returns the files."""
    return _export_files(store, dataset, format, out)
