"""The CIKG graph model: labels, relationship types, and the allow-list for names from data.

::

    (:Dataset {name, source, status, version, relation_ids, relation_uris, relation_types})
    (:User     {dataset, id, ...})            (:Item {dataset, id, title, ...})
    (:Entity   {dataset, id, uri})            (:Interest {dataset, id, label})
    (:User)-[:INTERACTED {split, rating, ts}]->(:Item)
    (:Item)-[:LINKED_TO]->(:Entity)           item tied to its KG entity
    (:Entity)-[:<RELATION>]->(:Entity)        one KG triple; type from the relation list
    (:User)-[:HAS_INTEREST]->(:Interest)
    (:User)-[:TOP_K {items, scores}]->(:TrainingRun)   a run's top-K for the user (kg_store.writeback)
    (:User)-[:RECOMMENDED {score, rank, model, run_id}]->(:Item)   optional view of those lists
    (:KgrecIdMap {dataset, kind, label, start, keys})   a linked dataset's id maps (kg_store.linked)
    (:KgrecSplits {dataset, start, users, items, splits})   a linked dataset's interaction splits
    (:KgrecItemText {dataset, id, key, description, ...})   a linked dataset's LLM item text (and user text,
    (:KgrecUserText ...); (:KgrecPrompt {dataset, task, user, key, items, titles}): its interest prompts)

Cypher cannot take a label or relationship type as a value, so names that come from data
(KG relations) are normalised and then checked here before they reach a query.
"""

from __future__ import annotations

import re

from kg_store.errors import InvalidDatasetNameError, UnsafeNameError

NODE_LABELS = ("User", "Item", "Entity", "Interest")
CORE_RELATIONSHIP_TYPES = ("INTERACTED", "LINKED_TO", "HAS_INTEREST", "RECOMMENDED", "TOP_K")
SPLITS = ("train", "valid", "test")

_SAFE_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_dataset_name(name: str) -> str:
    """Return ``name`` if it is a safe dataset name, else raise ``InvalidDatasetNameError``.

    Dataset names become folder names (``<data home>/<name>``) and graph keys, so they must not
    be able to climb out of a folder (``..``, ``/``) or hide (a leading ``.``).
    """
    if not isinstance(name, str) or not _DATASET_NAME.fullmatch(name) or ".." in name:
        raise InvalidDatasetNameError(
            f"Dataset name {name!r} is not valid: use 1 to 64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit, without '..'."
        )
    return name


def relation_type_name(relation: str) -> str:
    """Relationship type for a KG relation URI or name: its local name in UPPER_SNAKE_CASE.

    ``http://dbpedia.org/ontology/wikiPageWikiLink`` -> ``WIKI_PAGE_WIKI_LINK``,
    ``http://www.w3.org/1999/02/22-rdf-syntax-ns#type`` -> ``TYPE``.
    """
    local = re.split(r"[/#]", relation.rstrip("/#"))[-1]
    words = _CAMEL_BOUNDARY.sub("_", local)
    name = _NON_WORD.sub("_", words).strip("_").upper()
    if name and name[0].isdigit():
        name = "R_" + name
    return check_relation_type(name or "RELATED")


def check_relation_type(name: str) -> str:
    """Return ``name`` if it is a safe KG relationship type, else raise ``UnsafeNameError``."""
    if not _SAFE_TYPE.match(name):
        raise UnsafeNameError(f"Relationship type {name!r} is not a safe name (A-Z, 0-9, _).")
    if name in CORE_RELATIONSHIP_TYPES:
        raise UnsafeNameError(f"Relationship type {name!r} is reserved for kgrec's own edges.")
    return name


def relation_types_for(relations: list[str]) -> list[str]:
    """Distinct safe type names for a relation list; clashes get the relation's index appended."""
    names: list[str] = []
    for index, relation in enumerate(relations):
        name = relation_type_name(relation)
        if name in names:
            name = check_relation_type(f"{name}_{index}")
        names.append(name)
    return names


class RelationAllowList:
    """The relationship types one dataset may write: exactly those of its relation list."""

    def __init__(self, types: list[str]):
        self.types = [check_relation_type(t) for t in types]
        self._allowed = frozenset(self.types)

    def check(self, name: str) -> str:
        if name not in self._allowed:
            raise UnsafeNameError(f"Relationship type {name!r} is not in this dataset's relation list.")
        return name
