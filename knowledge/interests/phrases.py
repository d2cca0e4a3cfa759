"""Per-user interest phrases on disk: the JSONL hand-over between LLM inference and clustering.

One line per user, ``{"user": 17, "phrases": ["space opera", ...]}``. Inference writes them (to
:func:`phrases_cache_path` by default) and clustering reads them, so either step can be re-run
alone; a bad line is reported with its file and line number.
"""

from __future__ import annotations

import json
from pathlib import Path

from kg_store.errors import BadInputError
from kg_store.graph_model import check_dataset_name
from kg_store.paths import kgrec_cache_home


def phrases_cache_path(dataset: str) -> Path:
    """Where inference leaves a dataset's phrases (``--from-cache`` reads it)."""
    return kgrec_cache_home() / "interests" / check_dataset_name(dataset) / "phrases.jsonl"


def read_phrases_jsonl(path: Path | str) -> dict[int, list[str]]:
    """``{user: phrases}``; a user on several lines gets the phrases of all of them."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, None, "file not found (expected JSONL lines {\"user\": id, \"phrases\": [...]})")
    users: dict[int, list[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                user, phrases = _parse_line(path, number, line)
                users.setdefault(user, []).extend(phrases)
    return users


def _parse_line(path: Path, number: int, line: str) -> tuple[int, list[str]]:
    try:
        row = json.loads(line)
    except ValueError as error:
        raise BadInputError(path, number, f"not JSON ({error.msg})") from None
    if not isinstance(row, dict) or not isinstance(row.get("user"), int) or isinstance(row.get("user"), bool):
        raise BadInputError(path, number, "needs an integer 'user'", "user")
    phrases = row.get("phrases")
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise BadInputError(path, number, "needs a list of strings", "phrases")
    return row["user"], phrases
