"""Typed records every ingest source produces and the one writer consumes.

Rows are plain lists (not dicts or objects) because the Bolt protocol packs lists of scalars
fastest, and relationships are the bulk of every dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Props = dict[str, Any]
NodeRow = tuple[int, Props]                          # (id, properties)
InteractionRow = tuple[int, int, str, Any, Any]      # (user, item, split, rating, ts)
TripleRow = tuple[int, int, int]                     # (head entity, relation index, tail entity)
PairRow = tuple[int, int]                            # (user, interest) or (item, entity)


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
            **{f"interactions_{split}": n for split, n in sorted(splits.items())},
        }
