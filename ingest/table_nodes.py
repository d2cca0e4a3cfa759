"""The per-id tables of ``kgrec ingest table``: item titles and texts, user attributes, item-entity links.

These tables hold one row per id. A row repeated exactly is counted and loaded once; an id given
again with other values is a bad row (an error, or skipped with ``--skip-bad-lines``), since which
of the two is meant cannot be told.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.records import Props
from ingest.table_files import BadRow, Fields, TableReader, as_id, as_optional_text, as_property

TEXT_SEPARATOR = "\n\n"   # between the text columns of one item
TEXT_SOURCE = "table"     # Item.description_source of a text read from a table


def _item_props(values: dict[str, Any]) -> Props:
    props: Props = {}
    if values.get("title"):
        props["title"] = values["title"]
    texts = [value for label, value in values.items() if label.startswith("text:") and value and value.strip()]
    if texts:
        props["description"] = TEXT_SEPARATOR.join(texts)
        props["description_source"] = TEXT_SOURCE
    return props


def _user_props(values: dict[str, Any]) -> Props:
    return {label.split(":", 1)[1]: value for label, value in values.items()
            if label.startswith("attributes:") and value is not None and value != ""}


def _fields(reader: TableReader) -> tuple[Fields, Callable[[dict[str, Any]], Props]]:
    table = reader.table
    fields: Fields = {"id": (table.columns["id"], as_id)}
    if table.section == "items":
        if "title" in table.columns:
            fields["title"] = (table.columns["title"], as_optional_text)
        fields.update({f"text:{column}": (column, as_optional_text) for column in table.lists.get("text", ())})
        return fields, _item_props
    fields.update({f"attributes:{column}": (column, as_property) for column in table.lists.get("attributes", ())})
    return fields, _user_props


def _one_per_key(reader: TableReader, fields: Fields, value_of: Callable[[dict[str, Any]], Any],
                 key: str = "id") -> dict[str, Any]:
    """``{id: value}`` over the whole table; an exact repeat is counted, a different one is a bad row."""
    found: dict[str, Any] = {}
    clashes: list[BadRow] = []
    repeated = 0
    for batch in reader.batches(fields):
        columns = {label: values.to_pylist() for label, values in batch.values.items()}
        for n, row in enumerate(batch.rows.tolist()):
            values = {label: column[n] for label, column in columns.items()}
            org_id, value = values[key], value_of(values)
            if org_id not in found:
                found[org_id] = value
            elif found[org_id] == value:
                repeated += 1
            else:
                clashes.append((row, key, fields[key][0], f"{org_id!r} is given again with other values"))
    reader.report(clashes)
    reader.policy.count_duplicates(reader.path, repeated)
    return found


def read_nodes(reader: TableReader) -> dict[str, Props]:
    """``[items]`` or ``[users]``: the properties of each id."""
    fields, props_of = _fields(reader)
    return _one_per_key(reader, fields, props_of)


def read_links(reader: TableReader) -> dict[str, str]:
    """``[item_entities]``: the entity of each item; an item with two entities is a bad row."""
    columns = reader.table.columns
    fields: Fields = {"item": (columns["item"], as_id), "entity": (columns["entity"], as_id)}
    return _one_per_key(reader, fields, lambda values: values["entity"], key="item")
