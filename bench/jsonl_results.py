"""One way for the benches to record a finished step: a dated JSON line appended and echoed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path


def append_result(path: Path, row: dict) -> None:
    """Append ``row`` (with the date first) to the JSONL at ``path`` and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {"date": datetime.now(UTC).isoformat(timespec="seconds"), **row}
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, default=str) + "\n")
    print(json.dumps(row, default=str), flush=True)
