"""``--since`` of a linked re-sync, as the graph's timestamps are stored.

Cypher compares a number with a number, a text with a text and a temporal value with one of the
same kind; any other pair compares to null, so a ``since`` of the wrong kind would read nothing and
say nothing. The interaction timestamps are therefore sampled first and ``since`` is converted to
their kind: a number for numbers, ISO 8601 text (or epoch seconds) for Neo4j ``datetime``,
``localdatetime`` and ``date`` values, the text itself for text. A ``since`` that cannot be read as
that kind, or timestamps of several kinds, are errors naming the mapping key.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import neo4j.time

from kg_store.connection import GraphStore
from kg_store.linked.cypher import render
from kg_store.linked.mapping import GraphMapping, MappingError

SAMPLE = 200        # timestamps looked at to learn their kind


def parse_since(text: str) -> int | float | str | None:
    """``since`` as given: an int, else a float, else the text (what a mapping query's ``$since`` gets)."""
    if not text:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _kind(value: Any) -> str:
    """``number``, ``text``, ``datetime`` (with a zone), ``localdatetime``, ``date``, or the type's name."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, neo4j.time.DateTime | datetime):
        return "datetime" if value.tzinfo is not None else "localdatetime"
    if isinstance(value, neo4j.time.Date | date):
        return "date"
    return type(value).__name__


def stored_kind(graph: GraphStore, mapping: GraphMapping) -> tuple[str, Any] | None:
    """The kind of the interactions' timestamps and one example; None when no interaction has one."""
    inter = mapping.interactions
    assert inter is not None and inter.timestamp is not None
    text = render("timestamp_sample", type=inter.type, property=inter.timestamp)
    values = graph.read_with(lambda tx: tx.run(text, {"limit": SAMPLE}).single(strict=True)["values"])
    kinds = {_kind(value): value for value in values}
    if len(kinds) > 1:
        raise MappingError(f"{mapping.origin}: interactions.timestamp: the :{inter.type} relationships hold values of "
                           f"several kinds ({', '.join(sorted(kinds))}); --since compares with one kind.")
    return next(iter(kinds.items())) if kinds else None


def _moment(text: str, where: str) -> datetime:
    """ISO 8601 text, or a number of epoch seconds, as a datetime (naive when the text names no zone)."""
    number = parse_since(text)
    if isinstance(number, int | float):
        return datetime.fromtimestamp(number, UTC)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{where}: --since {text!r} is neither ISO 8601 (2024-05-01, 2024-05-01T12:00:00Z) "
                           "nor epoch seconds.") from None


def _converted(text: str, kind: str, example: Any, where: str) -> Any:
    """``text`` as a value Cypher compares with timestamps of ``kind``."""
    if kind == "number":
        number = parse_since(text)
        if not isinstance(number, int | float):
            raise MappingError(f"{where} holds numbers (e.g. {example!r}); give --since as a number, not {text!r}.")
        return number
    if kind == "text":
        return text
    if kind == "date":
        if "T" in text or " " in text.strip():
            raise MappingError(f"{where} holds dates (e.g. {example}); give --since as a date (2024-05-01), "
                               f"not {text!r}.")
        return _moment(text, where).date()
    if kind in ("datetime", "localdatetime"):
        moment = _moment(text, where)
        if kind == "datetime":
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)   # no zone: UTC
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment
    raise MappingError(f"{where} holds {kind} values (e.g. {example!r}), which --since cannot be compared with.")


def since_for(graph: GraphStore, mapping: GraphMapping, text: str) -> Any:
    """The ``since`` value the read compares with (None: read every interaction).

    A mapping query gets ``$since`` as given (a number when it reads as one, else the text)."""
    if not text:
        return None
    if mapping.interactions is None:
        return parse_since(text)
    if mapping.interactions.timestamp is None:
        raise MappingError(f"{mapping.origin}: reading interactions since {text!r} needs interactions.timestamp.")
    found = stored_kind(graph, mapping)
    if found is None:
        raise MappingError(f"{mapping.origin}: interactions.timestamp: no :{mapping.interactions.type} relationship "
                           f"has a {mapping.interactions.timestamp!r} property, so none is since {text!r}.")
    return _converted(text, *found, f"{mapping.origin}: interactions.timestamp")
