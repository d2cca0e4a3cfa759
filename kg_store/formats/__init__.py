"""File formats a dataset of the graph can be exported to: ``cikg``, ``kgat``, ``recbole``, ``pykeen``.

One module per format (:class:`~kg_store.formats.base.FileFormat`), fed by typed row streams
(:class:`~kg_store.formats.base.DatasetRows`) that :mod:`kg_store.formats.graph_rows` reads from
Neo4j; :func:`~kg_store.formats.files.export_files` ties them together and writes atomically.
Every format reads back through kgrec's own ingest source of the same layout.
"""

from kg_store.formats.base import DatasetRows, FileFormat, Interaction, LayoutError, Node, Pair, Triple
from kg_store.formats.registry import format_names, get_format

__all__ = ["DatasetRows", "FileFormat", "Interaction", "LayoutError", "Node", "Pair", "Triple", "format_names",
           "get_format"]
