"""Reading mapped tables with pyarrow, in batches, with errors that name the file, the row and the key.

CSV and TSV stream through :func:`pyarrow.csv.open_csv` (every mapped column read as raw bytes, so
ids such as ``007`` stay as written and kgrec, not Arrow's type guess, decides what a value is);
Parquet through :meth:`pyarrow.parquet.ParquetFile.iter_batches`, keeping its column types. Each
batch's columns are converted at once (:data:`Converter`), and only a batch with a bad value is
looked at value by value, to name each bad row. A CSV/TSV row is named by its line, found by
re-reading the file with :mod:`csv` only when there is something to report; a Parquet row by its
number (the first row is 1). TSV has no quoting: a tab separates, and quotes are data.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ingest.reader import BadLinePolicy
from ingest.table_mapping import TableFile
from kg_store.errors import BadInputError

Bad = list[tuple[int, str]]                         # (row in the batch, what is wrong)
Converter = Callable[[pa.Array], tuple[object, Bad]]  # a batch's column -> its values and its bad rows
SPLITS = ("train", "valid", "test")
_BLOCK_BYTES = 4 << 20
_PARQUET_ROWS = 65_536


def _shown(array: pa.Array, index: int) -> str:
    value = array[index].as_py()
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
    return repr(text[:40])


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def as_text(array: pa.Array) -> tuple[pa.Array, Bad]:
    """UTF-8 strings; bytes that do not decode and nulls are bad rows (numbers become their digits)."""
    text, bad = as_optional_text(array)
    failed = {k for k, _ in bad}
    nulls = np.flatnonzero(text.is_null().to_numpy(zero_copy_only=False))
    return text, sorted([*bad, *((int(k), "is empty") for k in nulls if int(k) not in failed)])


def as_optional_text(array: pa.Array) -> tuple[pa.Array, Bad]:
    """UTF-8 strings or nulls; only bytes that do not decode are bad rows."""
    if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        try:
            array = array.cast(pa.string())
        except pa.ArrowInvalid:
            values, bad = [], []
            for k, raw in enumerate(array.to_pylist()):
                try:
                    values.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    values.append(None)
                    bad.append((k, f"{_shown(array, k)} is not valid UTF-8"))
            return pa.array(values, pa.string()), bad
    elif not pa.types.is_string(array.type):   # large strings, dictionaries, numbers: one type for every batch
        array = array.cast(pa.string())
    return array, []


def as_property(array: pa.Array) -> tuple[pa.Array, Bad]:
    """A node property as stored: text, numbers, booleans, date-times and lists of them; CSV's bytes
    become text. Any other type (a struct, a map) cannot be a Neo4j property: the column is refused."""
    if pa.types.is_dictionary(array.type):   # a categorical column
        array = array.dictionary_decode()
    kind = array.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        kind = kind.value_type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return as_optional_text(array)
    scalar = (_is_text(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
              or pa.types.is_timestamp(kind) or pa.types.is_date(kind))
    if not scalar:
        raise pa.ArrowTypeError("a node property holds text, numbers, booleans, date-times or lists of these")
    return array, []


def as_id(array: pa.Array) -> tuple[pa.Array, Bad]:
    """Ids as given (strings); an empty one is a bad row."""
    text, bad = as_text(array)
    empty = np.flatnonzero(pc.fill_null(pc.equal(text, ""), False).to_numpy(zero_copy_only=False))
    return text, sorted([*bad, *((int(k), "is empty") for k in empty)])


def _empty(array: pa.Array) -> np.ndarray:
    """Rows without a value: null, or empty text."""
    empty = array.is_null()
    if _is_text(array.type) or pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
        empty = pc.or_kleene(empty, pc.equal(pc.binary_length(array), 0))
    return empty.to_numpy(zero_copy_only=False)


def _reasons(array: pa.Array, wrong: np.ndarray, problem: str) -> Bad:
    rows = np.flatnonzero(wrong)
    if not len(rows):
        return []
    empty = _empty(array)
    return [(int(k), "is empty" if empty[k] else f"{_shown(array, int(k))} {problem}") for k in rows]


def as_float(array: pa.Array) -> tuple[np.ndarray, Bad]:
    """Finite numbers as float64; anything else is a bad row."""
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)   # a null becomes NaN
    else:
        text, _ = as_optional_text(array)
        try:
            values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            values = np.array([_python_float(value) for value in text.to_pylist()], dtype=np.float64)
    return values, _reasons(array, ~np.isfinite(values), "is not a number")


def _python_float(text: str | None) -> float:
    try:
        return float(text) if text is not None else math.nan
    except ValueError:
        return math.nan


def _epoch(text: str | None) -> int | None:
    """An integer, or an ISO 8601 date-time (UTC when it names no offset), as seconds since 1970."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _integers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """An integer array's values (0 where null) and which rows hold one."""
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    return array.fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False), valid


def as_epoch(array: pa.Array) -> tuple[np.ndarray, Bad]:
    """Timestamps as int64 seconds: integers, ISO 8601 text, or Arrow timestamps and dates."""
    kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        values, valid = _integers(pc.cast(array, pa.timestamp("s", tz=getattr(kind, "tz", None)), safe=False))
    elif pa.types.is_integer(kind):
        values, valid = _integers(array)
    elif pa.types.is_floating(kind):
        floats = array.to_numpy(zero_copy_only=False)
        valid = np.isfinite(floats) & (floats == np.round(floats))
        values = np.where(valid, floats, 0).astype(np.int64)
    else:
        text, _ = as_optional_text(array)
        try:
            values, valid = _integers(pc.cast(text, pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            seconds = [_epoch(value) for value in text.to_pylist()]
            valid = np.array([value is not None for value in seconds], dtype=bool)
            values = np.array([value or 0 for value in seconds], dtype=np.int64)
    return values, _reasons(array, ~valid, "is not a timestamp (whole seconds or ISO 8601)")


def as_split(array: pa.Array) -> tuple[pa.Array, Bad]:
    """``train``, ``valid`` or ``test`` (any case, spaces around ignored)."""
    text, bad = as_text(array)
    text = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    known = pc.fill_null(pc.is_in(text, value_set=pa.array(SPLITS)), True).to_numpy(zero_copy_only=False)
    return text, sorted([*bad, *((int(k), f"{_shown(array, k)} is not train, valid or test")
                                 for k in np.flatnonzero(~known))])


@dataclass(frozen=True)
class Batch:
    """The good rows of one batch: their row numbers in the file (0-based) and each field's values."""

    rows: np.ndarray
    values: dict[str, object]


#: a field to read: label -> (column, converter). The label is the mapping key, or ``key:column`` for
#: a key that names several columns (``text:blurb``); messages name the key before the ``:``.
Fields = dict[str, tuple[str, Converter]]
BadRow = tuple[int, str, str, str]   # (row in the file, 0-based; mapping key; column; what is wrong)


class TableReader:
    """One mapped table, read batch by batch; bad rows go through the bad-line policy."""

    def __init__(self, table: TableFile, policy: BadLinePolicy):
        self.table, self.policy = table, policy
        self.path = table.path
        self._invalid: list[str] = []   # CSV rows with another number of fields than the header

    @property
    def _delimiter(self) -> str:
        return "\t" if self.table.format == "tsv" else ","

    def _text_stream(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(pa.input_stream(str(self.path), compression="detect"), encoding="utf-8-sig",
                                errors="replace", newline="")   # bad bytes are reported per row, not here

    def _csv_rows(self, handle: io.TextIOWrapper) -> Iterator[list[str]]:
        quoting = csv.QUOTE_NONE if self.table.format == "tsv" else csv.QUOTE_MINIMAL
        return csv.reader(handle, delimiter=self._delimiter, quoting=quoting)

    def header(self) -> list[str]:
        try:
            if self.table.format == "parquet":
                return list(pq.ParquetFile(self.path).schema_arrow.names)
            with self._text_stream() as handle:
                return next(self._csv_rows(handle))
        except StopIteration:
            raise BadInputError(self.path, None, "file is empty") from None
        except (pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as exc:
            raise BadInputError(self.path, None, f"cannot read it as {self.table.format} ({exc})") from None

    def check_columns(self) -> None:
        """Every column the mapping names is in the file: else an error naming key, file and column."""
        names = self.header()
        for key, column in [*self.table.columns.items(),
                            *((k, c) for k, cols in self.table.lists.items() for c in cols)]:
            if column not in names:
                raise BadInputError(self.path, None, f"no column {column!r} (named by {self.table.key(key)}); "
                                                     f"its columns: {', '.join(names)}")

    def _arrow_batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        if self.table.format == "parquet":
            yield from pq.ParquetFile(self.path).iter_batches(batch_size=_PARQUET_ROWS, columns=columns)
            return
        parse = pa_csv.ParseOptions(delimiter=self._delimiter, newlines_in_values=True,
                                    quote_char=False if self.table.format == "tsv" else '"',
                                    invalid_row_handler=self._on_invalid_row)
        convert = pa_csv.ConvertOptions(include_columns=columns, column_types=dict.fromkeys(columns, pa.binary()))
        yield from pa_csv.open_csv(self.path, read_options=pa_csv.ReadOptions(block_size=_BLOCK_BYTES),
                                   parse_options=parse, convert_options=convert)

    def _on_invalid_row(self, row: pa_csv.InvalidRow) -> str:
        self._invalid.append(row.text)
        return "skip" if self.policy.skip_bad_lines else "error"

    def _convert(self, batch: pa.RecordBatch, fields: Fields) -> tuple[dict[str, object], dict[int, tuple[str, str]]]:
        values, bad = {}, {}
        for label, (column, convert) in fields.items():
            array = batch.column(column)
            try:
                values[label], found = convert(array)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                key = self.table.key(label.split(":")[0])
                raise BadInputError(self.path, None, f"column of type {array.type} cannot be read ({key}): {exc}",
                                    column) from None
            for k, reason in found:
                bad.setdefault(k, (label, reason))    # the first bad field of a row names it
        return values, bad

    def batches(self, fields: Fields) -> Iterator[Batch]:
        """Each batch's good rows, converted. A bad row stops the read, or is skipped and reported
        once the file is read, per the policy."""
        offset, bad_rows, cut = 0, [], None
        try:
            for batch in self._arrow_batches(list(dict.fromkeys(column for column, _ in fields.values()))):
                values, bad = self._convert(batch, fields)
                bad_rows += [(offset + k, label, fields[label][0], reason) for k, (label, reason) in sorted(bad.items())]
                if bad and not self.policy.skip_bad_lines:
                    break
                keep = np.ones(batch.num_rows, dtype=bool)
                keep[list(bad)] = False
                yield Batch(offset + np.flatnonzero(keep), {label: _take(v, keep) for label, v in values.items()})
                offset += batch.num_rows
        except pa.ArrowInvalid as exc:   # a row of the wrong width stopped the read, or the file is unreadable
            cut = BadInputError(self.path, None, f"cannot read it as {self.table.format} ({exc})")
            if self.policy.skip_bad_lines or not self._invalid:
                raise cut from None
        self.report(bad_rows, with_invalid=True)
        if cut is not None:   # the report names the row and raises; this only if the row was not found again
            raise cut

    def report(self, bad_rows: list[BadRow], with_invalid: bool = False) -> None:
        """Bad rows (and, at the end of the read, rows of the wrong width) through the policy, in
        file order, each named by its line (CSV, TSV) or its number (Parquet)."""
        invalid = self._invalid if with_invalid else []
        if not bad_rows and not invalid:
            return
        lines, invalid_lines = self._locate([row for row, *_ in bad_rows])
        parquet = self.table.format == "parquet"
        errors = [(lines.get(row, math.inf), row,
                   BadInputError(self.path, lines.get(row), f"{f'row {row + 1}: ' if parquet else ''}{reason} "
                                                            f"({self.table.key(label.split(':')[0])})", column))
                  for row, label, column, reason in bad_rows]
        width = len(self.header())
        errors += [(line or math.inf, -1, BadInputError(self.path, line, f"expected {width} fields, found another "
                                                                          f"number: {text[:60]!r}"))
                   for line, text in zip([*invalid_lines, *[None] * len(invalid)], invalid, strict=False)]
        for *_, error in sorted(errors, key=lambda entry: entry[:2]):
            self.policy.handle(error)

    def _locate(self, rows: list[int]) -> tuple[dict[int, int], list[int | None]]:
        """Lines of the given rows (0-based, counting well-formed rows only) and of the rows of the
        wrong width, from one pass of :mod:`csv` over the file. Parquet rows have no lines."""
        if self.table.format == "parquet":
            return {}, [None] * len(self._invalid)
        wanted, found, invalid = set(rows), {}, []
        width, row, previous = None, 0, 0
        limit = csv.field_size_limit(1 << 30)
        try:
            with self._text_stream() as handle:
                reader = self._csv_rows(handle)
                for fields in reader:
                    start, previous = previous + 1, reader.line_num
                    if width is None:
                        width = len(fields)
                    elif fields and len(fields) != width:
                        invalid.append(start)
                    elif fields:
                        if row in wanted:
                            found[row] = start
                        row += 1
        finally:
            csv.field_size_limit(limit)
        return found, invalid


def _take(values: object, keep: np.ndarray) -> object:
    if keep.all():
        return values
    return values.filter(pa.array(keep)) if isinstance(values, pa.Array) else values[keep]
