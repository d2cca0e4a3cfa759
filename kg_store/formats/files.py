"""Export one dataset of the graph into a folder, in a named file format."""

from __future__ import annotations

from pathlib import Path

from kg_store.connection import GraphStore
from kg_store.formats.folder import write_atomically
from kg_store.formats.graph_rows import GraphRows
from kg_store.formats.registry import create
from kg_store.interest_sets import AUTHORS_SET


def export_files(store: GraphStore, dataset: str, format_name: str, out: Path | str,
                 interest_set: str = AUTHORS_SET) -> list[Path]:
    """Write ``dataset`` as ``format_name`` files into ``out`` (absent or empty); returns the files.

    Formats with an interest file (cikg) write the edges of ``interest_set``.

    The format and the dataset are checked before anything is created, so a typo leaves no folder.
    """
    file_format = create(format_name)
    rows = GraphRows(store, dataset, interest_set)
    return write_atomically(out, lambda folder: file_format.write(rows, folder))
