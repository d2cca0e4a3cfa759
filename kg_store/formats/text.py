"""Turning graph values into file fields that cannot break a line or a column.

Every format here is line based, and most split on whitespace or tabs, so a value that holds a
newline or a tab would silently shift every later column. Values are made safe here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

_BREAKS = re.compile(r"[\t\r\n\v\f\x85\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def one_line(value: Any) -> str:
    """``value`` as text without tabs or line breaks (each run becomes one space), trimmed."""
    return _BREAKS.sub(" ", str(value)).strip()


def one_token(value: Any) -> str:
    """``value`` as one whitespace-free token (runs of whitespace become ``_``)."""
    return _SPACES.sub("_", str(value).strip())


# the cells pandas.read_csv reads as missing by default (pandas' STR_NA_VALUES, '' included)
PANDAS_NA_STRINGS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                               "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})


def pandas_literal(text: str) -> str:
    """``text`` (non-empty, one line) as a tab-separated cell that ``pandas.read_csv`` reads as written
    (to within one leading space): a cell it would take as missing (``None``, ``NA``, ...) or as the
    start of a quoted field (a leading ``"``) gets a leading space, which neither its default NA
    matching nor its quoting sees. RecBole reads atomic files so, and drops the space from a sequence."""
    return " " + text if text in PANDAS_NA_STRINGS or text.startswith('"') else text


def open_text(path: Path) -> IO[str]:
    """A UTF-8 file with ``\\n`` line ends on every platform (the readers split on ``\\n``)."""
    return path.open("w", encoding="utf-8", newline="\n")


def write_lines(path: Path, lines: Iterable[str], header: str | None = None) -> Path:
    """Write ``header`` (if any) and then ``lines``, one per line; returns ``path``."""
    with open_text(path) as handle:
        if header is not None:
            handle.write(header + "\n")
        for line in lines:
            handle.write(line + "\n")
    return path
