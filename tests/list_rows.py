"""A dataset's rows held in lists, for format checks that need no server (several test modules share it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kg_store.formats import DatasetRows


def _stream(kind: str) -> Callable[[ListRows], Iterator]:
    """The ``DatasetRows`` method that streams the rows of ``kind``."""
    def rows(self: ListRows) -> Iterator:
        return iter(self.kinds.get(kind, []))
    rows.__name__ = kind
    return rows


class ListRows(DatasetRows):
    """The rows of each kind (``users``, ``items``, ``entities``, ``interactions``, ``triples``,
    ``item_entities``, ``user_interests``) from the list ``kinds`` holds; a kind not given has none."""

    def __init__(self, kinds: dict[str, list], dataset: str, relations: tuple[list[str], list[str]],
                 fields: dict[str, frozenset[str]]):
        super().__init__(dataset, *relations, fields)
        self.kinds = kinds

    users, items, entities = _stream("users"), _stream("items"), _stream("entities")
    interactions, triples = _stream("interactions"), _stream("triples")
    item_entities, user_interests = _stream("item_entities"), _stream("user_interests")
