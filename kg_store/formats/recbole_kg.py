"""``<D>.kg`` and ``<D>.link`` laid out so that RecBole's ``KnowledgeBasedDataset`` keeps every item.

RecBole 1.2.1 merges items and entities into one id space (``_merge_item_and_entity``) and
assumes, without checking, that:

- ``.link`` is one-to-one: it builds ``item2entity`` and ``entity2item`` dictionaries and lines
  them up by count, so two items on one entity shift every later entity (a ``KeyError``);
- every linked entity is an entity of ``.kg`` (a head or a tail): with ``benchmark_filename`` a
  linked entity outside ``.kg`` raises a ``KeyError``; without it ``_filter_link`` unlinks the item
  and then drops every interaction of every unlinked item;
- every linked item is an item token of the loaded files: with ``benchmark_filename`` and only
  ``.inter`` loaded (its default ``load_col``), a linked item without interactions is a ``KeyError``.

So ``.link`` names exactly the items that have interactions, each with an entity of its own that
``.kg`` mentions. Where the graph cannot give one, the export adds a placeholder triple, under a
relation of its own so no real relation changes meaning:

- a linked entity in no triple gets ``e kgrec:self e``;
- an item without an entity gets the entity token ``kgrec:item:<item>`` and
  ``kgrec:item:<item> kgrec:self kgrec:item:<item>``;
- an item whose entity a lower item id already holds gets ``kgrec:item:<item>`` and
  ``kgrec:item:<item> kgrec:same_entity e``, which keeps it one hop from its entity's facts.

``kgrec ingest recbole`` drops the placeholder triples and entities again, and turns a
``kgrec:same_entity`` triple back into the item's link, so a re-ingest gives the graph's KG.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg_store.formats.base import DatasetRows
from kg_store.formats.relations import RelationIndex
from kg_store.formats.text import one_line, open_text, pandas_literal, write_lines

SELF_RELATION = "kgrec:self"
SAME_ENTITY_RELATION = "kgrec:same_entity"
PLACEHOLDER_RELATIONS = frozenset({SELF_RELATION, SAME_ENTITY_RELATION})
ITEM_ENTITY_PREFIX = "kgrec:item:"
KG_HEADER = "head_id:token\trelation_id:token\ttail_id:token"
LINK_HEADER = "item_id:token\tentity_id:token"


@dataclass
class LinkPlan:
    """Each interacting item's entity token, and the placeholder triples that make RecBole keep it."""

    links: dict[int, str] = field(default_factory=dict)
    placeholders: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        relations = [relation for _, relation, _ in self.placeholders]
        return {"links": len(self.links), "self": relations.count(SELF_RELATION),
                "same_entity": relations.count(SAME_ENTITY_RELATION)}


def graph_links(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """item -> entity from the graph's ``LINKED_TO`` edges (the lowest entity for an item with two)."""
    links: dict[int, int] = {}
    for item, entity in pairs:
        links[item] = min(entity, links.get(item, entity))
    return links


def plan_links(items: Iterable[int], links: dict[int, int], in_kg: set[int]) -> LinkPlan:
    """One entity per item in ``items``, each a head or tail of ``.kg`` once the placeholders are added.

    ``in_kg`` holds the linked entities that some triple names. Items are taken in id order, so the
    lowest item id on a shared entity keeps it.
    """
    plan = LinkPlan()
    holder: dict[int, int] = {}
    for item in sorted(items):
        entity = links.get(item)
        if entity is not None and entity not in holder:
            holder[entity] = item
            plan.links[item] = str(entity)
            if entity not in in_kg:
                plan.placeholders.append((str(entity), SELF_RELATION, str(entity)))
            continue
        own = f"{ITEM_ENTITY_PREFIX}{item}"
        plan.links[item] = own
        target = own if entity is None else str(entity)
        plan.placeholders.append((own, SELF_RELATION if entity is None else SAME_ENTITY_RELATION, target))
    return plan


def _graph_triples(rows: DatasetRows, linked: set[int], in_kg: set[int]) -> Iterator[str]:
    """The graph's triples as ``.kg`` lines, noting which linked entities they name."""
    relations = RelationIndex(rows.relation_types, rows.relation_uris)
    for head, relation, tail in rows.triples():
        if head in linked:
            in_kg.add(head)
        if tail in linked:
            in_kg.add(tail)
        yield f"{head}\t{pandas_literal(one_line(relations.label_of(relation)))}\t{tail}"


def write_kg_and_links(out_dir: Path, stem: str, rows: DatasetRows, items: set[int]) -> list[Path]:
    """``<D>.kg`` (the graph's triples, then the placeholders) and ``<D>.link`` for ``items``; neither
    file when the graph has no triple and no link (RecBole's KG models do not apply then)."""
    links = graph_links(rows.item_entities())
    kg_path, link_path = out_dir / f"{stem}.kg", out_dir / f"{stem}.link"
    in_kg: set[int] = set()
    plan: LinkPlan | None = None
    with open_text(kg_path) as handle:
        handle.write(KG_HEADER + "\n")
        triples = 0
        for line in _graph_triples(rows, set(links.values()), in_kg):
            handle.write(line + "\n")
            triples += 1
        if triples or links:
            plan = plan_links(items, links, in_kg)
            handle.writelines("\t".join(triple) + "\n" for triple in plan.placeholders)
    if plan is None:
        kg_path.unlink()
        return []
    write_lines(link_path, (f"{item}\t{entity}" for item, entity in sorted(plan.links.items())), header=LINK_HEADER)
    return [kg_path, link_path]


def restore_links(triples: list[tuple[str, str, str]],
                  links: dict[str, str]) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """The KG and links the export was written from: placeholder triples and entities removed, an
    item on a ``kgrec:same_entity`` placeholder linked to that entity again (for ``kgrec ingest``)."""
    same = {head: tail for head, relation, tail in triples if relation == SAME_ENTITY_RELATION}
    kept = [triple for triple in triples if triple[1] not in PLACEHOLDER_RELATIONS]
    restored = {item: same.get(entity, entity) for item, entity in links.items()}
    return kept, {item: entity for item, entity in restored.items() if not entity.startswith(ITEM_ENTITY_PREFIX)}
