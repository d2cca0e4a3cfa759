"""CIKGRec's file layout, written from the graph (read back by ``kgrec ingest cikg``).

Files, space separated, ids as in the graph:

- ``train.txt`` / ``test.txt``: ``user item item ...``, one line per user; ``valid`` edges (and
  any other split) go to ``train.txt``, since the layout has two splits;
- ``kg_final.txt``: ``head relation tail`` with the original relation ids, and
  ``relation_list.txt`` (``org_id remap_id`` = relation URI and id);
- ``entity_list.txt`` (``org_id remap_id``; org_id = the entity's URI, else its org_id, else its id);
- ``item_list.txt``: ``org_id remap_id entity_name`` with the item's URI or ``None``; items with
  titles and no URIs get ``org_id remap_id item_name`` with the title as the rest of the line,
  items with only Freebase ids ``org_id remap_id freebase_id``, items with none of these two columns;
- ``user_list.txt`` (``org_id remap_id``) and ``user_interest_clustered.txt`` (``user interest``).

In this layout item *i* is entity *i*: the reader links each item to the entity with its id. A
graph whose links say otherwise cannot be written faithfully, so it is refused with a sentence that
names the clash and the format that can hold it (recbole, whose ``.link`` file keeps any link).
For the same reason entities travel only with ``kg_final.txt``: a graph with entities and no
triples is refused too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import ClassVar

from kg_store.formats.base import DatasetRows, FileFormat, Interaction, LayoutError, Node, Pair
from kg_store.formats.relations import RelationIndex
from kg_store.formats.text import one_line, one_token, write_lines

TWO_COLUMNS = "org_id remap_id"
ENTITY_ORG_IDS = ("uri", "org_id")  # the reader turns a URI org_id back into the entity's uri and name


def _org_id(node: Node, keys: tuple[str, ...] = ("org_id",), single_token: bool = False) -> str:
    """The node's original id (the first of ``keys`` it has), else its graph id: never empty."""
    raw = next((node.props[key] for key in keys if node.props.get(key) is not None), None)
    text = (one_token if single_token else one_line)(raw) if raw is not None else ""
    return text or str(node.id)


def write_id_list(path: Path, nodes: Iterable[Node], keys: tuple[str, ...] = ("org_id",)) -> Path:
    """A two-column list file (``org_id remap_id``); the reader takes the last token as the id."""
    return write_lines(path, (f"{_org_id(node, keys)} {node.id}" for node in nodes), header=TWO_COLUMNS)


def item_name_column(fields: frozenset[str]) -> tuple[str | None, tuple[str, ...]]:
    """The third column of ``item_list.txt`` and the item properties that fill it, in order."""
    if "uri" in fields:
        return "entity_name", ("uri", "title")
    if "title" in fields:
        return "item_name", ("title",)
    if "freebase_id" in fields:
        return "freebase_id", ("freebase_id",)
    return None, ()


def _item_line(item: Node, sources: tuple[str, ...]) -> str:
    if not sources:
        return f"{_org_id(item)} {item.id}"
    name = next((one_line(item.props[key]) for key in sources if item.props.get(key) is not None), "")
    return f"{_org_id(item, single_token=True)} {item.id} {name or 'None'}"


def write_item_list(path: Path, items: Iterable[Node], fields: frozenset[str]) -> set[int]:
    """Write ``item_list.txt``; returns the item ids (needed for the item-is-entity check)."""
    column, sources = item_name_column(fields)
    header = f"{TWO_COLUMNS} {column}" if column else TWO_COLUMNS
    ids: set[int] = set()

    def lines() -> Iterator[str]:
        for item in items:
            ids.add(item.id)
            yield _item_line(item, sources)

    write_lines(path, lines(), header=header)
    return ids


def group_by_user(interactions: Iterable[Interaction]) -> dict[str, dict[int, list[int]]]:
    """``{file name: {user: items}}``: test edges to ``test.txt``, every other split to ``train.txt``."""
    files: dict[str, dict[int, list[int]]] = {"train.txt": {}, "test.txt": {}}
    for edge in interactions:
        name = "test.txt" if edge.split == "test" else "train.txt"
        files[name].setdefault(edge.user, []).append(edge.item)
    return files


def write_interactions(out_dir: Path, dataset: str, interactions: Iterable[Interaction]) -> list[Path]:
    """``train.txt`` and, when there are test edges, ``test.txt``; the reader needs ``train.txt``."""
    files = group_by_user(interactions)
    if not files["train.txt"]:
        raise LayoutError(f"Dataset '{dataset}' has no train interactions; this layout needs a train.txt.")
    return [write_lines(out_dir / name, (" ".join(map(str, [user, *sorted(items)])) for user, items in
                                         sorted(by_user.items())))
            for name, by_user in files.items() if by_user]


def check_links(dataset: str, layout: str, links: Iterable[Pair]) -> set[int]:
    """The linked item ids; refuses a link between an item and an entity of another id."""
    linked: set[int] = set()
    for item, entity in links:
        if item != entity:
            raise LayoutError(
                f"Dataset '{dataset}' cannot be written in the {layout} layout: item {item} is linked to "
                f"entity {entity}, but there item i is entity i (the reader ties them by id). "
                "Use --format recbole, whose .link file keeps any item-entity link.")
        linked.add(item)
    return linked


def write_knowledge_graph(out_dir: Path, rows: DatasetRows, layout: str) -> tuple[list[Path], set[int]]:
    """``kg_final.txt``, ``relation_list.txt`` and ``entity_list.txt``; returns them and the entity ids."""
    triples = iter(rows.triples())
    first = next(triples, None)
    if first is None:
        if next(iter(rows.entities()), None) is not None:
            raise LayoutError(
                f"Dataset '{rows.dataset}' has KG entities but no KG triples; the {layout} layout carries "
                "entities only with kg_final.txt. Use --format recbole, whose .link file keeps item-entity links.")
        return [], set()
    relations = RelationIndex(rows.relation_types, rows.relation_uris)
    kg = write_lines(out_dir / "kg_final.txt", (f"{h} {relations.id_of(r)} {t}" for h, r, t in chain([first], triples)))
    relation_list = write_lines(out_dir / "relation_list.txt",
                                (f"{one_line(label)} {k}" for k, label in enumerate(relations.labels())),
                                header=TWO_COLUMNS)
    entity_ids: set[int] = set()

    def entities() -> Iterator[Node]:
        for entity in rows.entities():
            entity_ids.add(entity.id)
            yield entity

    entity_list = write_id_list(out_dir / "entity_list.txt", entities(), ENTITY_ORG_IDS)
    return [kg, relation_list, entity_list], entity_ids


def check_unlinked_items(dataset: str, layout: str, item_ids: set[int], linked: set[int],
                         entity_ids: set[int]) -> None:
    """An unlinked item whose id is an entity's id would be linked to it on reading: refuse."""
    clash = sorted((item_ids - linked) & entity_ids)
    if clash:
        raise LayoutError(
            f"Dataset '{dataset}' cannot be written in the {layout} layout: item {clash[0]} has no entity, "
            f"but entity {clash[0]} exists and the reader would link them (item i is entity i there). "
            "Use --format recbole, whose .link file keeps exactly the graph's links.")


def write_interests(out_dir: Path, pairs: Iterable[Pair]) -> list[Path]:
    """``user_interest_clustered.txt`` (``user interest``), when the graph has interest edges."""
    lines = [f"{user} {interest}" for user, interest in pairs]
    return [write_lines(out_dir / "user_interest_clustered.txt", lines)] if lines else []


class CikgFormat(FileFormat):
    """CIKGRec's layout with clustered user interests."""

    name = "cikg"
    description = "CIKGRec layout: train/test, kg_final, list files, user_interest_clustered"
    with_interests: ClassVar[bool] = True

    def write(self, dataset_rows: DatasetRows, out_dir: Path) -> list[Path]:
        rows, layout = dataset_rows, self.name
        linked = check_links(rows.dataset, layout, rows.item_entities())
        paths = [write_id_list(out_dir / "user_list.txt", rows.users())]
        item_ids = write_item_list(out_dir / "item_list.txt", rows.items(), rows.fields.get("items", frozenset()))
        paths.append(out_dir / "item_list.txt")
        paths += write_interactions(out_dir, rows.dataset, rows.interactions())
        kg_paths, entity_ids = write_knowledge_graph(out_dir, rows, layout)
        check_unlinked_items(rows.dataset, layout, item_ids, linked, entity_ids)
        paths += kg_paths
        if self.with_interests:
            paths += write_interests(out_dir, rows.user_interests())
        return paths
