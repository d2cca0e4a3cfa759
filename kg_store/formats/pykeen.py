"""Labelled triples for PyKEEN: ``pykeen.triples.TriplesFactory.from_path(OUT / "triples.tsv")``.

- ``triples.tsv``: ``head<TAB>relation<TAB>tail``, no header (PyKEEN reads three columns as
  strings). An entity's label is its URI, else its org_id, else ``entity:<id>``; the relation
  label is the relationship type (``AUTHOR``), so the file has as many relations as the graph has
  KG relationship types in use. A label that PyKEEN would misread (a tab, a line break, a leading
  double quote) or that another entity already uses becomes ``entity:<id>``, so entities stay
  distinct.
- ``interactions.tsv``: ``user:<id> INTERACTED item:<id>`` for the train (and valid) edges and
  ``item:<id> LINKED_TO <entity label>`` for the item-entity links, so a KG-aware model can be
  trained on ``triples.tsv`` and ``interactions.tsv`` together (the links join items to the KG);
  ``test_interactions.tsv`` holds the test edges, kept apart so they never leak into training.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from kg_store.formats.base import DatasetRows, FileFormat, Interaction, LayoutError, Node
from kg_store.formats.text import open_text, write_lines

_UNSAFE = ("\t", "\n", "\r")


def fallback_label(entity_id: int) -> str:
    return f"entity:{entity_id}"


def entity_labels(entities: Iterable[Node]) -> dict[int, str]:
    """A distinct, TSV-safe label per entity id."""
    labels: dict[int, str] = {}
    taken: set[str] = set()
    for entity in entities:
        raw = entity.props.get("uri") or entity.props.get("org_id")
        label = str(raw).strip() if raw is not None else ""
        if not label or label in taken or label.startswith('"') or any(c in label for c in _UNSAFE):
            label = fallback_label(entity.id)
        taken.add(label)
        labels[entity.id] = label
    return labels


def write_interactions(out_dir: Path, edges: Iterable[Interaction], links: Iterable[tuple[int, int]],
                       labels: dict[int, str]) -> list[Path]:
    """``interactions.tsv`` (train/valid edges and item links) and ``test_interactions.tsv``."""
    train, test = out_dir / "interactions.tsv", out_dir / "test_interactions.tsv"
    test_count = 0
    with open_text(train) as train_file, open_text(test) as test_file:
        for edge in edges:
            line = f"user:{edge.user}\tINTERACTED\titem:{edge.item}\n"
            if edge.split == "test":
                test_file.write(line)
                test_count += 1
            else:
                train_file.write(line)
        for item, entity in links:
            train_file.write(f"item:{item}\tLINKED_TO\t{labels.get(entity, fallback_label(entity))}\n")
    if not test_count:
        test.unlink()
        return [train]
    return [train, test]


class PykeenFormat(FileFormat):
    """The KG as labelled triples, plus the interactions as triples of their own."""

    name = "pykeen"
    description = "PyKEEN labelled triples: triples.tsv (KG), interactions.tsv, test_interactions.tsv"

    def write(self, dataset_rows: DatasetRows, out_dir: Path) -> list[Path]:
        rows = dataset_rows
        labels = entity_labels(rows.entities())
        written = 0

        def lines() -> Iterator[str]:
            nonlocal written
            for head, relation, tail in rows.triples():
                written += 1
                yield f"{labels.get(head, fallback_label(head))}\t{relation}\t{labels.get(tail, fallback_label(tail))}"

        triples = write_lines(out_dir / "triples.tsv", lines())
        if not written:
            raise LayoutError(f"Dataset '{rows.dataset}' has no KG triples, so there is nothing for PyKEEN to "
                              "train on; export it with --format recbole or cikg instead.")
        return [triples, *write_interactions(out_dir, rows.interactions(), rows.item_entities(), labels)]
