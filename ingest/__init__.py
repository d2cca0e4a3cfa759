"""Ingest sources: parse data files into typed records, validate them whole, then write them.

Each source (:mod:`ingest.cikg`, :mod:`ingest.movielens`, :mod:`ingest.recbole`,
:mod:`ingest.table`) is a :class:`~ingest.protocol.Source` named in :mod:`ingest.registry`; one
table-driven writer (:mod:`ingest.writer`) sends any source's records to Neo4j in batches.
"""

from ingest.cikg import CikgSource, KgatSource, read_cikg
from ingest.movielens import MovieLensSource, read_movielens
from ingest.protocol import Source, SourceConfig, SourceOption
from ingest.recbole import RecBoleConfig, RecBoleSource
from ingest.records import DatasetRecords, RecordKind, SkippedLine
from ingest.registry import get as get_source
from ingest.registry import names as source_names
from ingest.table import TableConfig, TableSource
from ingest.writer import WRITE_PLAN, IngestReport, write_dataset

__all__ = [
    "CikgSource", "DatasetRecords", "IngestReport", "KgatSource", "MovieLensSource", "RecBoleConfig", "RecBoleSource",
    "RecordKind", "SkippedLine",
    "Source", "SourceConfig", "SourceOption", "TableConfig", "TableSource", "WRITE_PLAN", "get_source", "read_cikg",
    "read_movielens", "source_names", "write_dataset",
]
