"""The events export streams: it reads the log a page at a time, as its rows are taken.

So its memory follows the page size, not the log's length (``benchmarks/exports.py`` measures
the peak on a million events; this checks the reason for it on every engine, cheaply).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from application.tracker import ImpactTracker
from read_models.queries import exports
from tests.conftest import Programme
from tests.read_models.test_exports_oracle import record_scenario

PAGE = 5


def test_the_events_export_reads_one_page_at_a_time_as_rows_are_taken(
    tracker: ImpactTracker, programme: Programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_scenario(tracker, programme)
    total = tracker.head()
    assert total > 3 * PAGE
    monkeypatch.setattr(exports, "BATCH", PAGE)
    reads: list[tuple[int, int]] = []  # (rows taken before the read, rows asked for)
    taken = 0
    select = tracker.recorder.select_notifications

    def spy(start: int, limit: int, *args: Any, **kwargs: Any) -> Sequence[Any]:
        reads.append((taken, limit))
        return select(start, limit, *args, **kwargs)

    monkeypatch.setattr(tracker.recorder, "select_notifications", spy)
    rows = exports.events_jsonl(tracker, None)
    assert reads == []  # nothing is read before the first row is asked for
    for _ in rows:
        taken += 1
        # Never more than one page ahead of the rows taken so far.
        assert len(reads) <= taken // PAGE + 1
    assert taken == total
    assert all(limit == PAGE for _, limit in reads)
    # Each page is read once the previous one's rows were all taken (and the log's end last).
    assert [before for before, _ in reads] == [min(PAGE * n, total) for n in range(len(reads))]
    assert len(reads) == -(-total // PAGE) + 1  # the last read finds the end of the log
