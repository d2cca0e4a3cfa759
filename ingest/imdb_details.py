"""IMDb plot, directors, writers and cast as item text (the scraped ML-100K ``movielens100k_details.json``).

KELLMRec-style prompts and text encoders need something to say about an item beyond its title;
this file gives a one-sentence plot and the credits for most ML-100K movies. Records are matched
to items by ``movie_id`` (= the ML-100K item id the MovieLens source stores as ``Item.id``); the
report says how many matched, so a wrong dataset shows up as "0 of 1,591" instead of silence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg_store.batching import DEFAULT_BATCH_SIZE, write_in_batches
from kg_store.connection import GraphStore
from kg_store.errors import BadInputError
from kg_store.progress import Progress

_LISTS = {"director": "directors", "writer": "writers", "cast": "cast"}


@dataclass(frozen=True)
class DetailsReport:
    dataset: str
    records: int
    matched: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_details(path: Path | str) -> list[dict[str, Any]]:
    """Rows ``{id, plot, directors, writers, cast}``; a malformed record raises, naming its position and id."""
    path = Path(path)
    try:
        records = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise BadInputError(path, None, "file not found") from None
    except ValueError as exc:
        raise BadInputError(path, None, f"not valid JSON ({exc})") from None
    if not isinstance(records, list):
        raise BadInputError(path, None, "expected a JSON array of movie records")
    return [_row(path, position, record) for position, record in enumerate(records, start=1)]


def _row(path: Path, position: int, record: Any) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise BadInputError(path, None, f"record {position} is not a JSON object")
    movie_id = record.get("movie_id")
    where = f"record {position} (movie_id {movie_id!r})"
    if not isinstance(movie_id, int) or isinstance(movie_id, bool) or movie_id < 0:
        raise BadInputError(path, None, f"{where}: movie_id must be a non-negative integer", "movie_id")
    plot = record.get("description")
    if plot is not None and not isinstance(plot, str):
        raise BadInputError(path, None, f"{where}: description must be a string", "description")
    row: dict[str, Any] = {"id": movie_id, "plot": plot}
    for key, name in _LISTS.items():
        value = record.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadInputError(path, None, f"{where}: {key} must be a list of names", key)
        row[name] = value
    return row


def import_details(store: GraphStore, path: Path | str, dataset: str, *, batch_size: int = DEFAULT_BATCH_SIZE,
                   progress: Progress = None) -> DetailsReport:
    """Set ``plot``, ``directors``, ``writers``, ``cast`` on the dataset's items that the file names."""
    rows = read_details(path)
    found = {r["id"] for r in store.read("knowledge/existing_item_ids", dataset=dataset, ids=[r["id"] for r in rows])}
    matched = [row for row in rows if row["id"] in found]
    write_in_batches(store, "knowledge/set_item_details", matched, batch_size=batch_size,
                     description=f"imdb {dataset}", progress=progress, dataset=dataset)
    return DetailsReport(dataset, len(rows), len(matched))
