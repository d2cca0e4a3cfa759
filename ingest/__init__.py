"""Ingest sources: parse data files into typed records, validate them whole, then write them.

Each source (``cikg``, ``movielens``) turns files into a :class:`~ingest.records.DatasetRecords`;
one writer (:mod:`ingest.writer`) sends any source's records to Neo4j in batches.
"""

from ingest.cikg import read_cikg
from ingest.movielens import read_movielens
from ingest.records import DatasetRecords, SkippedLine
from ingest.writer import IngestReport, write_dataset

__all__ = ["DatasetRecords", "IngestReport", "SkippedLine", "read_cikg", "read_movielens", "write_dataset"]
