"""Parquet exports: typed cells, written row group by row group, refused cleanly without pyarrow."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from read_models.queries import parquet
from read_models.queries.exports import MDC_COLUMNS, STAGE_COLUMNS
from read_models.queries.parquet import ParquetUnavailableError, parquet_chunks, write_parquet
from tests.read_models.test_exports_oracle import assert_parquet_is_the_csv


def point(
    day: str, value: float, *, target: float | str = "", ghost: bool = False
) -> dict[str, Any]:
    return {
        "metric_id": "m-1",
        "metric_name": "Discharges before noon",
        "unit": "%",
        "improvement_direction": "up",
        "target": target,
        "group_type": "project",
        "group_id": "p-1",
        "group_name": "Earlier discharges",
        "date": day,
        "value": value,
        "recalculate_limits": False,
        "ghost": ghost,
        "annotation": "",
    }


def as_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def as_parquet(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buffer = io.BytesIO()
    write_parquet(iter(rows), columns, buffer)
    return buffer.getvalue()


def test_dates_numbers_and_flags_are_typed_and_an_empty_typed_cell_is_null() -> None:
    rows = [point("2024-03-01", 20.5, target=30.0), point("2024-04-01", 22.0, ghost=True)]
    table = pq.read_table(io.BytesIO(as_parquet(rows, MDC_COLUMNS)))
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert (types["date"], types["value"], types["target"], types["ghost"]) == (
        pa.date32(),
        pa.float64(),
        pa.float64(),
        pa.bool_(),
    )
    assert types["metric_name"] == pa.string()
    assert table.column("date").to_pylist() == [date(2024, 3, 1), date(2024, 4, 1)]
    assert table.column("target").to_pylist() == [30.0, None]
    assert table.column("ghost").to_pylist() == [False, True]
    assert table.column("annotation").to_pylist() == ["", ""]  # text stays text, even empty


def test_every_flag_and_count_of_the_measures_export_is_typed_like_ghost() -> None:
    # astronomical, phase and baseline_points came with the SPC work and were left as text.
    rows = [
        point("2024-03-01", 20.5) | {"astronomical": True, "phase": 1, "baseline_points": 12},
        point("2024-04-01", 22.0) | {"astronomical": False, "phase": "", "baseline_points": ""},
    ]
    data = as_parquet(rows, MDC_COLUMNS)
    table = pq.read_table(io.BytesIO(data))
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert (types["astronomical"], types["phase"], types["baseline_points"]) == (
        pa.bool_(),
        pa.int64(),
        pa.int64(),
    )
    assert table.column("astronomical").to_pylist() == [True, False]
    assert table.column("phase").to_pylist() == [1, None]
    assert_parquet_is_the_csv(data, as_csv(rows, MDC_COLUMNS))


def test_recorded_times_keep_their_microseconds_in_utc() -> None:
    row = {
        "project_id": "p-1",
        "from_stage": "",
        "to_stage": "proposed",
        "effective_date": "2024-01-08",
        "recorded_at": "2024-01-09T10:11:12.345678Z",
    }
    table = pq.read_table(io.BytesIO(as_parquet([row], STAGE_COLUMNS)))
    assert table.column("recorded_at").to_pylist() == [
        datetime(2024, 1, 9, 10, 11, 12, 345678, tzinfo=UTC)
    ]
    assert_parquet_is_the_csv(as_parquet([row], STAGE_COLUMNS), as_csv([row], STAGE_COLUMNS))


def test_the_csv_comparison_catches_a_changed_cell() -> None:
    rows = [point("2024-03-01", 20.5), point("2024-04-01", 22.0)]
    assert_parquet_is_the_csv(as_parquet(rows, MDC_COLUMNS), as_csv(rows, MDC_COLUMNS))
    changed = [rows[0], point("2024-04-01", 22.5)]
    with pytest.raises(AssertionError, match="row 2"):
        assert_parquet_is_the_csv(as_parquet(changed, MDC_COLUMNS), as_csv(rows, MDC_COLUMNS))


def test_rows_are_written_and_sent_a_row_group_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet, "ROW_GROUP", 10)
    taken = 0

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal taken
        for n in range(35):
            taken += 1
            yield point(f"2024-{n % 12 + 1:02d}-01", float(n))

    chunks = parquet_chunks(rows(), MDC_COLUMNS)
    first = next(chunks)
    assert first  # the first row group is on its way...
    assert taken == 10  # ...before more than one group's rows were read
    data = first + b"".join(chunks)
    assert taken == 35
    assert pq.ParquetFile(io.BytesIO(data)).num_row_groups == 4
    assert pq.read_table(io.BytesIO(data)).column("value").to_pylist() == [
        float(n) for n in range(35)
    ]


def test_no_rows_is_a_file_with_the_columns_and_no_rows() -> None:
    table = pq.read_table(io.BytesIO(b"".join(parquet_chunks(iter([]), STAGE_COLUMNS))))
    assert (table.column_names, table.num_rows) == (STAGE_COLUMNS, 0)


def test_without_pyarrow_parquet_is_refused_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parquet, "parquet_available", lambda: False)
    with pytest.raises(ParquetUnavailableError, match="'parquet' extra"):
        parquet_chunks(iter([]), STAGE_COLUMNS)
    with pytest.raises(ParquetUnavailableError, match="pyarrow"):
        write_parquet(iter([]), STAGE_COLUMNS, io.BytesIO())
