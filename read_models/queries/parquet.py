"""Parquet for the tabular exports: the CSV's columns and rows, with typed cells, streamed.

Analysts loading exports into pandas, R or DuckDB want dates as dates and numbers as numbers
without guessing; Parquet carries the types. The cells are the CSV's: a text column holds the
same text (an empty cell stays empty text), and a typed column (``COLUMN_TYPES``) holds the
value the CSV cell writes, or null where the CSV cell is empty.

pyarrow is an optional dependency (the ``parquet`` extra): without it only CSV is offered, and
asking for Parquet is refused with ``ParquetUnavailableError``, naming the extra to install.
Rows are written in row groups of ``ROW_GROUP`` rows, so memory stays flat however many
there are.
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

# Rows per Parquet row group: large enough for compact columns, small enough to hold in memory.
ROW_GROUP = 10_000

# The export columns that are not text, by name (a name means the same in every export).
COLUMN_TYPES = {
    "effective_date": "date",
    "proposed_on": "date",
    "piloted_on": "date",
    "adopted_on": "date",
    "date": "date",
    "recorded_at": "timestamp",
    "value": "float",
    "target": "float",
    "recalculate_limits": "bool",
    "ghost": "bool",
    "astronomical": "bool",
    "phase": "int",
    "baseline_points": "int",
}


class ParquetUnavailableError(RuntimeError):
    """Parquet was asked for, but pyarrow (the ``parquet`` extra) is not installed."""


def parquet_available() -> bool:
    """Whether pyarrow is installed, so Parquet exports can be written."""
    return importlib.util.find_spec("pyarrow") is not None


def _pyarrow() -> tuple[Any, Any]:
    if not parquet_available():
        msg = (
            "Parquet exports need pyarrow: install the 'parquet' extra "
            "(pip install 'impact-tracker[parquet]'), or export CSV."
        )
        raise ParquetUnavailableError(msg)
    import pyarrow
    import pyarrow.parquet

    return pyarrow, pyarrow.parquet


def _empty_is_null(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None or value == "" else parse(value)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _timestamp(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _flag(value: Any) -> bool:
    """A flag from a bool, or from its text in any case (``True``, ``false``, ``1``)."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "date": _empty_is_null(_date),
    "timestamp": _empty_is_null(_timestamp),
    "float": _empty_is_null(float),
    "int": _empty_is_null(int),
    "bool": _empty_is_null(_flag),
}


def cell(column: str, value: Any) -> Any:
    """A row's value as its Parquet cell: typed for the typed columns, text for the rest."""
    kind = COLUMN_TYPES.get(column)
    if kind is None:
        return "" if value is None else str(value)
    return _PARSERS[kind](value)


def _schema(pa: Any, columns: list[str]) -> Any:
    types = {
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "float": pa.float64(),
        "int": pa.int64(),
        "bool": pa.bool_(),
    }
    return pa.schema([(c, types.get(COLUMN_TYPES.get(c, ""), pa.string())) for c in columns])


def _batches(
    pa: Any, schema: Any, columns: list[str], rows: Iterable[dict[str, Any]]
) -> Iterator[Any]:
    """The rows as record batches of ``ROW_GROUP`` rows, built as the rows stream in."""
    group: list[dict[str, Any]] = []
    for row in rows:
        group.append({c: cell(c, row.get(c)) for c in columns})
        if len(group) >= ROW_GROUP:
            yield pa.RecordBatch.from_pylist(group, schema=schema)
            group = []
    if group:
        yield pa.RecordBatch.from_pylist(group, schema=schema)


def write_parquet(
    rows: Iterable[dict[str, Any]],
    columns: list[str],
    sink: Path | IO[bytes],
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Write the rows as Parquet to a file or binary stream; returns the row count.

    ``on_rows`` is told how many rows each row group added (for a progress bar).
    """
    pa, pq = _pyarrow()
    schema = _schema(pa, columns)
    count = 0
    with pq.ParquetWriter(str(sink) if isinstance(sink, Path) else sink, schema) as writer:
        for batch in _batches(pa, schema, columns, rows):
            writer.write_batch(batch)
            count += batch.num_rows
            if on_rows is not None:
                on_rows(batch.num_rows)
    return count


class _Chunks(io.RawIOBase):
    """A write-only stream that keeps what was written until it is taken (for streaming)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        """It is written to (the Parquet writer checks)."""
        return True

    def write(self, data: Any) -> int:
        """Keep a chunk until it is taken."""
        chunk = bytes(data)
        self.written.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        """The bytes written so far (taken or not): the writer's offsets depend on it."""
        return self.position

    def take(self) -> bytes:
        """What was written since the last take."""
        chunk = b"".join(self.written)
        self.written.clear()
        return chunk


def parquet_chunks(rows: Iterable[dict[str, Any]], columns: list[str]) -> Iterator[bytes]:
    """The Parquet file of the rows, in chunks to stream: each row group once it is written.

    Checks for pyarrow before returning, so a response can still be refused.
    """
    pa, pq = _pyarrow()
    return _chunks(pa, pq, rows, columns)


def _chunks(
    pa: Any, pq: Any, rows: Iterable[dict[str, Any]], columns: list[str]
) -> Iterator[bytes]:
    sink = _Chunks()
    schema = _schema(pa, columns)
    with pq.ParquetWriter(sink, schema) as writer:
        for batch in _batches(pa, schema, columns, rows):
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()
