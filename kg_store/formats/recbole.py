"""RecBole atomic files (https://recbole.io/docs/user_guide/data/atomic_files.html), read back by
``kgrec ingest recbole`` and loaded losslessly by RecBole 1.2.1's own loaders, its KG dataset included.

Tab separated, UTF-8, a ``name:type`` header line, one file per suffix, named after the dataset:

- ``<D>.inter``: ``user_id:token item_id:token`` and, when the graph has them, ``rating:float``
  and ``timestamp:float``; every interaction of every split;
- ``<D>.train.inter`` / ``<D>.valid.inter`` / ``<D>.test.inter``: the same rows split, for
  RecBole's ``benchmark_filename: [train, valid, test]``. Validation is the graph's stored split
  when it has one, else the split kgrec's trainer carves (``kg_store.carve``: 1/8 of each user's
  train pairs, seed 2024), so RecBole's early stopping watches the very pairs kgrec's does; those
  pairs leave ``train.inter``. The three files are disjoint and together hold ``<D>.inter``;
- ``<D>.user``: ``user_id:token`` plus ``age``, ``gender``, ``occupation``, ``zip_code`` (tokens,
  as in RecBole's MovieLens files) when users have them;
- ``<D>.item``: ``item_id:token`` plus ``title:token`` (a name no RecBole setting gives a meaning,
  for books and films alike; the whole title is one token, see below), ``release_year:token`` and
  ``genre:token_seq`` (one token per genre, spaces inside a genre become ``_``), then the graph's
  ``uri``, ``freebase_id``, ``release_date`` and ``imdb_url`` as tokens when items have them
  (RecBole loads only the columns its ``load_col`` names; kgrec's reader takes title, genre, year);
- ``<D>.kg`` and ``<D>.link``: the graph's triples and ``LINKED_TO`` edges, laid out by
  :mod:`kg_store.formats.recbole_kg` so RecBole's KG dataset drops no item and no interaction.

RecBole reads every file with ``pandas.read_csv`` (tab separated, its default NA strings and
quoting, ``str`` for tokens). A text cell that pandas would read as missing or as a quoted field
gets a leading space (:func:`kg_store.formats.text.pandas_literal`); an empty token stays empty
(RecBole reads it as ``[PAD]``, its missing value). RecBole 1.2.1 loads no ``token_seq`` column under
pandas 3: its ``fillna(inplace=True)`` on a column no longer fills, so an empty cell reaches its
split as a float, and ``Series.agg(len)`` now gives the column's length, not each row's. So the
title is a ``token``, which loads under any pandas (a model that wants words splits it on spaces);
an empty ``token_seq`` cell (a genre list) is written as one space, RecBole's sequence separator,
which loads as an empty sequence where pandas 2 is installed.

Every token of a user, item or entity is its graph id (so no ``org_id`` column: the token is the
id to map back with; kgrec's reader keeps the token as ``org_id`` and numbers tokens in numeric
order, so ids that run 0..n-1 come back unchanged). RecBole has no file for user interests or for
entity properties (URI, name), and entities appear only through ``.kg`` and ``.link``: those
stay in the graph.
Point RecBole at the folder with ``data_path`` set to its parent and ``dataset`` set to ``<D>``
(rename the folder to ``<D>`` if it is called something else).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from kg_store.carve import valid_mask
from kg_store.formats.base import DatasetRows, FileFormat, Interaction, Node
from kg_store.formats.recbole_kg import write_kg_and_links
from kg_store.formats.text import one_line, one_token, open_text, pandas_literal, write_lines
from kg_store.graph_model import SPLITS, check_dataset_name

SEQ_SEPARATOR = " "  # RecBole's seq_separator: also what an empty sequence is written as


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
        """The value as RecBole reads it back: sequences space separated, nothing that breaks a
        column, and never a cell pandas would turn into a missing value where RecBole needs text."""
        if value is None:
            text = ""
        elif self.kind == "token_seq" and isinstance(value, (list, tuple)):
            text = SEQ_SEPARATOR.join(one_token(part) for part in value if one_token(part))
        else:
            text = one_line(value)
        if self.kind == "float" or (text == "" and self.kind == "token"):
            return text  # a missing float or token: RecBole fills it (the mean, or [PAD])
        return pandas_literal(text) if text else SEQ_SEPARATOR


USER_COLUMNS = (Column("age", "age", "token"), Column("gender", "gender", "token"),
                Column("occupation", "occupation", "token"), Column("zip", "zip_code", "token"))
ITEM_COLUMNS = (Column("title", "title", "token"), Column("year", "release_year", "token"),
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


@dataclass
class InteractionFiles:
    """What one pass over the interactions leaves: the files, the items seen, and the train pairs
    (in file order) to carve validation from when the graph stores none."""

    paths: dict[str, Path]
    items: set[int] = field(default_factory=set)
    train_users: array = field(default_factory=lambda: array("q"))
    train_items: array = field(default_factory=lambda: array("q"))
    valid_rows: int = 0


def _write_splits(files: InteractionFiles, interactions: Iterable[Interaction], columns: list[Column],
                  header: str) -> None:
    with ExitStack() as stack:
        handles: dict[str, IO[str]] = {name: stack.enter_context(open_text(path)) for name, path in files.paths.items()}
        for handle in handles.values():
            handle.write(header + "\n")
        for edge in interactions:
            line = _interaction_line(edge, columns) + "\n"
            split = edge.split if edge.split in SPLITS else "train"
            handles["all"].write(line)
            handles[split].write(line)
            files.items.add(edge.item)
            if split == "train":
                files.train_users.append(edge.user)
                files.train_items.append(edge.item)
            files.valid_rows += split == "valid"


def _carve_valid(files: InteractionFiles) -> None:
    """Move the carved validation rows from ``train.inter`` to ``valid.inter`` (which holds only its header)."""
    train = np.stack([np.frombuffer(files.train_users, np.int64), np.frombuffer(files.train_items, np.int64)], 1)
    to_valid = valid_mask(train)
    if not to_valid.any():
        return
    unsplit = files.paths["train"].with_name(files.paths["train"].name + ".unsplit")
    files.paths["train"].replace(unsplit)
    with unsplit.open(encoding="utf-8") as source, open_text(files.paths["train"]) as train_out, \
            files.paths["valid"].open("a", encoding="utf-8", newline="\n") as valid_out:
        train_out.write(source.readline())
        for line, valid in zip(source, to_valid, strict=True):
            (valid_out if valid else train_out).write(line)
    unsplit.unlink()


def write_interactions(out_dir: Path, dataset: str, interactions: Iterable[Interaction],
                       columns: list[Column]) -> InteractionFiles:
    """``<D>.inter`` and one ``<D>.<split>.inter`` per split, validation carved when the graph has none."""
    header = "\t".join(["user_id:token", "item_id:token", *(column.header for column in columns)])
    files = InteractionFiles({"all": out_dir / f"{dataset}.inter",
                              **{split: out_dir / f"{dataset}.{split}.inter" for split in SPLITS}})
    _write_splits(files, interactions, columns, header)
    if files.valid_rows == 0 and len(files.train_users):
        _carve_valid(files)
    return files


class RecboleFormat(FileFormat):
    """RecBole's atomic files with the graph's splits as benchmark files."""

    name = "recbole"
    description = "RecBole atomic files: .inter (+ train/valid/test), .user, .item, .kg, .link"

    def write(self, dataset_rows: DatasetRows, out_dir: Path) -> list[Path]:
        rows = dataset_rows
        stem = check_dataset_name(rows.dataset)
        empty: frozenset[str] = frozenset()
        paths = [
            write_nodes(out_dir / f"{stem}.user", "user_id", rows.users(),
                        _present(USER_COLUMNS, rows.fields.get("users", empty))),
            write_nodes(out_dir / f"{stem}.item", "item_id", rows.items(),
                        _present(ITEM_COLUMNS, rows.fields.get("items", empty))),
        ]
        inter = write_interactions(out_dir, stem, rows.interactions(),
                                   _present(INTERACTION_COLUMNS, rows.fields.get("interactions", empty)))
        return [*paths, *inter.paths.values(), *write_kg_and_links(out_dir, stem, rows, inter.items)]
