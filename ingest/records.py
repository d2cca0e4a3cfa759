"""Typed records every ingest source produces and the one writer consumes.

A source yields :class:`RecordBatch` values: a :class:`RecordKind` and rows of that kind's row
type. Rows are plain tuples (not dicts or objects) because the Bolt protocol packs lists of
scalars fastest, and relationships are the bulk of every dataset. :class:`DatasetRecords`
collects a whole source, so it can be validated completely before anything is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Props = dict[str, Any]
NodeRow = tuple[int, Props]                          # (id, properties)
InteractionRow = tuple[int, int, str, Any, Any]      # (user, item, split, rating, ts)
TripleRow = tuple[int, int, int]                     # (head entity, relation index, tail entity)
PairRow = tuple[int, int]                            # (user, interest) or (item, entity)


class RecordKind(StrEnum):
    """Every kind of row a source can produce; the value is the ``DatasetRecords`` field."""

    USERS = "users"
    ITEMS = "items"
    ENTITIES = "entities"
    INTERESTS = "interests"
    ITEM_ENTITIES = "item_entities"
    INTERACTIONS = "interactions"
    TRIPLES = "triples"
    USER_INTERESTS = "user_interests"


@dataclass(frozen=True)
class RecordBatch:
    """Rows of one kind, as a source yields them."""

    kind: RecordKind
    rows: list


@dataclass(frozen=True)
class KnowledgeGraphSchema:
    """The relation list of a dataset's KG: relation URI (or name) and safe type, by relation index."""

    relations: list[str]
    relation_types: list[str]


@dataclass(frozen=True)
class SkippedLine:
    path: str
    line: int | None
    reason: str


@dataclass
class DatasetRecords:
    """Everything one dataset contributes to the graph, validated and ready to write."""

    name: str
    source: str
    users: list[NodeRow] = field(default_factory=list)
    items: list[NodeRow] = field(default_factory=list)
    entities: list[NodeRow] = field(default_factory=list)
    interests: list[NodeRow] = field(default_factory=list)
    relations: list[str] = field(default_factory=list)        # relation URI by relation index
    relation_types: list[str] = field(default_factory=list)   # safe type name by relation index
    item_entities: list[PairRow] = field(default_factory=list)
    interactions: list[InteractionRow] = field(default_factory=list)
    triples: list[TripleRow] = field(default_factory=list)
    user_interests: list[PairRow] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    duplicates: Counter = field(default_factory=Counter)     # repeated lines per file, loaded once
    notes: list[str] = field(default_factory=list)            # optional parts that are missing, etc.
    changes: dict[str, int] = field(default_factory=dict)     # a re-run's counts of what is new (table source)

    def add(self, batch: RecordBatch) -> None:
        getattr(self, batch.kind.value).extend(batch.rows)

    def rows(self, kind: RecordKind) -> list:
        return getattr(self, kind.value)

    def set_schema(self, schema: KnowledgeGraphSchema) -> None:
        self.relations, self.relation_types = list(schema.relations), list(schema.relation_types)

    @property
    def has_kg(self) -> bool:
        return bool(self.triples)

    @property
    def has_interests(self) -> bool:
        return bool(self.user_interests)

    def summary(self) -> dict[str, int]:
        """Counts the graph should hold after the load (used by tests and the CLI)."""
        splits: dict[str, int] = {}
        for row in self.interactions:
            splits[row[2]] = splits.get(row[2], 0) + 1
        return {
            "users": len(self.users),
            "items": len(self.items),
            "entities": len(self.entities),
            "interests": len(self.interests),
            "relations": len(self.relations),
            "triples": len(self.triples),
            "user_interests": len(self.user_interests),
            "item_entities": len(self.item_entities),
            **{f"interactions_{split}": n for split, n in sorted(splits.items())},
        }
