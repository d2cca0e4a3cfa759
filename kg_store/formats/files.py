"""Export one dataset of the graph into a folder, in a named file format."""

from __future__ import annotations

from pathlib import Path

from kg_store.connection import GraphStore
from kg_store.formats.folder import write_atomically
from kg_store.formats.graph_rows import GraphRows
from kg_store.formats.registry import get_format


def export_files(store: GraphStore, dataset: str, format_name: str, out: Path | str) -> list[Path]:
    """Write ``dataset`` as ``format_name`` files into ``out`` (absent or empty); returns the files.

    The format and the dataset are checked before anything is created, so a typo leaves no folder.
    """
    file_format = get_format(format_name)
    rows = GraphRows(store, dataset)
    return write_atomically(out, lambda folder: file_format.write(rows, folder))
