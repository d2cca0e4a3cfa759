"""Relation ids and names for formats that number or name KG relations.

The graph stores a triple's relation as a relationship type (``AUTHOR``); the ``:Dataset`` node
keeps the relation list it came from (index = original relation id, with the URI or name and the
type). Formats write the original id and URI so that a re-ingest derives the same types again.
A type found on an edge but missing from that list (written by something other than an ingest)
gets the next free id and its own name, as the training export does.
"""

from __future__ import annotations


class RelationIndex:
    """Relation id and URI (or name) for each relationship type, in the dataset's order."""

    def __init__(self, relation_types: list[str], relation_uris: list[str]):
        self._types = list(relation_types)
        self._uris = list(relation_uris)
        self._ids = {name: k for k, name in enumerate(self._types)}

    def id_of(self, relation_type: str) -> int:
        """The relation id of a type; an unknown type is appended and keeps its new id."""
        if relation_type not in self._ids:
            self._ids[relation_type] = len(self._types)
            self._types.append(relation_type)
        return self._ids[relation_type]

    def label_of(self, relation_type: str) -> str:
        """The relation's URI (or original name); the type itself when none is recorded."""
        k = self.id_of(relation_type)
        return self._uris[k] if k < len(self._uris) and self._uris[k] else relation_type

    def labels(self) -> list[str]:
        """URI (or name) by relation id, for every relation seen or listed so far."""
        return [self.label_of(name) for name in list(self._types)]
