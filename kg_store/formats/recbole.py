"""RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html), read back by
``kgrec ingest recbole``.

Tab separated, UTF-8, a ``name:type`` header line, one file per suffix, named after the dataset:

- ``<D>.inter``: ``user_id:token item_id:token`` and, when the graph has them, ``rating:float``
  and ``timestamp:float``; every interaction of every split;
- ``<D>.train.inter`` / ``<D>.valid.inter`` / ``<D>.test.inter``: the same rows by the graph's
  split, for RecBole's ``benchmark_filename: [train, valid, test]`` (all three are always
  written, a split without edges as a header line, because RecBole expects each listed file);
- ``<D>.user``: ``user_id:token`` plus ``age``, ``gender``, ``occupation``, ``zip_code`` (tokens,
  as in RecBole's MovieLens files) when users have them;
- ``<D>.item``: ``item_id:token`` plus RecBole's MovieLens fields ``movie_title:token_seq``
  (the title, split on spaces as RecBole does), ``release_year:token`` and ``genre:token_seq``
  (one token per genre, spaces inside a genre become ``_``), then the graph's ``uri``,
  ``freebase_id``, ``release_date`` and ``imdb_url`` as tokens when items have them (RecBole loads
  only the columns its ``load_col`` names; kgrec's reader takes title, genre and year);
- ``<D>.kg``: ``head_id:token relation_id:token tail_id:token``; the relation token is the
  relation's URI (or original name), so a re-ingest derives the same relationship types;
- ``<D>.link``: ``item_id:token entity_id:token``, exactly the graph's ``LINKED_TO`` edges.

Every token of a user, item or entity is its graph id (so no ``org_id`` column: the token is the
id to map back with; kgrec's reader keeps the token as ``org_id`` and numbers tokens in numeric
order, so ids that run 0..n-1 come back unchanged). RecBole has no file for user interests or for
entity properties (URI, name), and entities appear only through ``.kg`` and ``.link``: those
stay in the graph.
Point RecBole at the folder with ``data_path`` set to its parent and ``dataset`` set to ``<D>``
(rename the folder to ``<D>`` if it is called something else).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, Any

from kg_store.formats.base import DatasetRows, FileFormat, Interaction, Node
from kg_store.formats.relations import RelationIndex
from kg_store.formats.text import one_line, one_token, open_text, write_lines
from kg_store.graph_model import SPLITS, check_dataset_name


@dataclass(frozen=True)
class Column:
    """One RecBole field filled from one graph property."""

    prop: str
    field: str
    kind: str  # token | token_seq | float

    @property
    def header(self) -> str:
        return f"{self.field}:{self.kind}"

    def cell(self, value: Any) -> str:
        """The value as RecBole reads it: sequences space separated, nothing that breaks a column."""
        if value is None:
            return ""
        if self.kind == "token_seq" and isinstance(value, (list, tuple)):
            return " ".join(one_token(part) for part in value if one_token(part))
        return one_line(value)


USER_COLUMNS = (Column("age", "age", "token"), Column("gender", "gender", "token"),
                Column("occupation", "occupation", "token"), Column("zip", "zip_code", "token"))
ITEM_COLUMNS = (Column("title", "movie_title", "token_seq"), Column("year", "release_year", "token"),
                Column("genres", "genre", "token_seq"), Column("uri", "uri", "token"),
                Column("freebase_id", "freebase_id", "token"), Column("release_date", "release_date", "token"),
                Column("imdb_url", "imdb_url", "token"))
INTERACTION_COLUMNS = (Column("rating", "rating", "float"), Column("ts", "timestamp", "float"))


def _present(columns: tuple[Column, ...], fields: frozenset[str]) -> list[Column]:
    return [column for column in columns if column.prop in fields]


def write_nodes(path: Path, id_field: str, nodes: Iterable[Node], columns: list[Column]) -> Path:
    """A ``.user`` or ``.item`` file: the id token, then one column per property that occurs."""
    header = "\t".join([f"{id_field}:token", *(column.header for column in columns)])
    lines = ("\t".join([str(node.id), *(column.cell(node.props.get(column.prop)) for column in columns)])
             for node in nodes)
    return write_lines(path, lines, header=header)


def _interaction_line(edge: Interaction, columns: list[Column]) -> str:
    values = {"rating": edge.rating, "ts": edge.ts}
    return "\t".join([str(edge.user), str(edge.item), *(column.cell(values[column.prop]) for column in columns)])


def write_interactions(out_dir: Path, dataset: str, interactions: Iterable[Interaction],
                       columns: list[Column]) -> list[Path]:
    """``<D>.inter`` and one ``<D>.<split>.inter`` per split, in one pass over the edges."""
    header = "\t".join(["user_id:token", "item_id:token", *(column.header for column in columns)])
    paths = [out_dir / f"{dataset}.inter", *(out_dir / f"{dataset}.{split}.inter" for split in SPLITS)]
    with ExitStack() as stack:
        handles: list[IO[str]] = [stack.enter_context(open_text(path)) for path in paths]
        for handle in handles:
            handle.write(header + "\n")
        by_split = dict(zip(SPLITS, handles[1:], strict=True))
        for edge in interactions:
            line = _interaction_line(edge, columns) + "\n"
            handles[0].write(line)
            by_split.get(edge.split, by_split["train"]).write(line)
    return paths


def write_triples(path: Path, rows: DatasetRows) -> list[Path]:
    """``<D>.kg`` with relation URIs as relation tokens; no file when the graph has no KG."""
    triples = iter(rows.triples())
    first = next(triples, None)
    if first is None:
        return []
    relations = RelationIndex(rows.relation_types, rows.relation_uris)
    lines = (f"{h}\t{one_line(relations.label_of(r))}\t{t}" for h, r, t in chain([first], triples))
    return [write_lines(path, lines, header="head_id:token\trelation_id:token\ttail_id:token")]


def write_links(path: Path, rows: DatasetRows) -> list[Path]:
    """``<D>.link``; no file when no item is linked to an entity."""
    lines: Iterator[str] = (f"{item}\t{entity}" for item, entity in rows.item_entities())
    first = next(lines, None)
    if first is None:
        return []
    return [write_lines(path, chain([first], lines), header="item_id:token\tentity_id:token")]


class RecboleFormat(FileFormat):
    """RecBole's atomic files with the graph's splits as benchmark files."""

    name = "recbole"
    description = "RecBole atomic files: .inter (+ train/valid/test), .user, .item, .kg, .link"

    def write(self, dataset_rows: DatasetRows, out_dir: Path) -> list[Path]:
        rows = dataset_rows
        stem = check_dataset_name(rows.dataset)
        empty: frozenset[str] = frozenset()
        return [
            write_nodes(out_dir / f"{stem}.user", "user_id", rows.users(),
                        _present(USER_COLUMNS, rows.fields.get("users", empty))),
            write_nodes(out_dir / f"{stem}.item", "item_id", rows.items(),
                        _present(ITEM_COLUMNS, rows.fields.get("items", empty))),
            *write_interactions(out_dir, stem, rows.interactions(),
                                _present(INTERACTION_COLUMNS, rows.fields.get("interactions", empty))),
            *write_triples(out_dir / f"{stem}.kg", rows),
            *write_links(out_dir / f"{stem}.link", rows),
        ]
