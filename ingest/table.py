"""Your own CSV, TSV or Parquet tables as an ingest source, described by a TOML mapping file.

``kgrec ingest table MAPPING.toml --dataset NAME``: the mapping (:mod:`ingest.table_mapping`) names
the file and columns of the interactions and, optionally, of item titles and texts, user attributes,
KG triples and item-entity links; the tables are read in batches with pyarrow
(:mod:`ingest.table_files`). What goes where:

- Ids are kept as written, as ``org_id`` (an integer column's values as their digits), and get
  stable integer ids. A first load numbers each kind ``0..n-1`` in sorted order of the distinct ids
  (numeric order when every id is an integer). A later load into the same dataset, of the same or of
  changed tables, keeps the id of every org_id already in the graph and gives new org_ids the next
  free ids, in sorted order among themselves (:mod:`ingest.table_ids`); the same tables write nothing
  new. Reading and checking the tables needs no graph: the ids are fitted just before writing.
- Interactions: ``rating`` (a number) and ``timestamp`` (integer seconds, ISO 8601 text, or a
  Parquet timestamp or date) go on the ``INTERACTED`` edge. A pair given again is counted and
  loaded once, the later row winning; in two different splits it is an error. With
  ``positive_threshold`` only rows rated at least that much are loaded (the rest are counted in a
  note). Users and items are those of the interactions and of the ``[users]`` / ``[items]`` tables.
- Splits: the ``split`` column's ``train`` / ``valid`` / ``test`` when mapped; otherwise each user's
  share ``test_ratio`` goes to test, the latest first when every row of the user has a timestamp,
  else by a seeded shuffle (:mod:`ingest.splits`), as for MovieLens and RecBole files. On a later
  load an interaction already in the graph keeps its split, and the new ones of each user are split
  among themselves.
- Re-runs add and update, never delete: rows gone from the tables stay in the graph, and the report
  counts them (``IngestReport.changes``); ``kgrec db drop`` and a new load remove them.
- ``[items]``: ``title`` becomes ``Item.title``; the ``text`` column(s), joined by a blank line,
  become ``Item.description`` with ``description_source = 'table'``, the property the text features
  and KELLMRec read (``kgrec enrich items`` replaces it with LLM descriptions).
- ``[users]``: each ``attributes`` column becomes a user property of the same name.
- ``[triples]``: head and tail are entity ids, the relation a name that becomes a relationship type
  (:func:`kg_store.graph_model.relation_types_for`); relations are numbered in sorted order, and
  a later load appends new ones to the dataset's list.
  Items are tied to entities by ``[item_entities]`` (an item and an entity column) when mapped,
  else each item to the entity with the same id, if there is one. A link whose item is unknown is
  not loaded (a note counts them); an item linked to two entities is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.protocol import Source, SourceOutput
from ingest.reader import BadLinePolicy
from ingest.records import DatasetRecords
from ingest.splits import SPLIT_OPTIONS, SplitSourceConfig

if TYPE_CHECKING:
    from kg_store.connection import GraphStore


@dataclass(frozen=True)
class TableConfig(SplitSourceConfig):
    """``path`` is the mapping file; the split options apply only without a mapped split column."""


class TableSource(Source):
    """CSV, TSV and Parquet tables named by a TOML mapping file (see the module docstring)."""

    name = "table"
    config_class = TableConfig
    description = "Load CSV, TSV or Parquet tables that a TOML mapping file describes (PATH: the mapping file)."
    cli_options = SPLIT_OPTIONS
    reads = "file"

    @classmethod
    def recognises(cls, folder: Path) -> bool:
        return folder.is_file() and folder.suffix.lower() == ".toml"

    def generate(self, policy: BadLinePolicy) -> Iterator[SourceOutput]:
        from ingest.table_load import generate

        yield from generate(self.config, policy)

    def records_for(self, store: GraphStore) -> DatasetRecords:
        """The tables' records with the ids, relation indices and splits the dataset already has in ``store``."""
        from ingest.table_ids import align_with_graph
        from ingest.table_mapping import read_mapping

        assert isinstance(self.config, TableConfig)
        given = "split" in read_mapping(self.config.path).tables()["interactions"].columns
        return align_with_graph(store, self.read(), None if given else self.config.split)
