"""The SQLite recorder's own writer connection: one transaction per write, closed with the store."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.bootstrap import create_tracker
from application.persistence.sqlite import TrackerSQLiteRecorder
from application.settings import Settings


def _event(stream: UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version, topic="t", state=b"{}")


def test_a_duplicate_version_writes_nothing_and_the_writer_goes_on(tmp_path: Path) -> None:
    tracker = create_tracker(Settings(data_dir=tmp_path))
    recorder = tracker.recorder
    assert isinstance(recorder, TrackerSQLiteRecorder)
    stream = uuid4()
    first = recorder.insert_events([_event(stream, 1)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([_event(stream, 2), _event(stream, 1)])  # all or nothing
    after = recorder.insert_events([_event(stream, 2)])
    assert [e.originator_version for e in recorder.select_events(stream)] == [1, 2]
    assert first is not None
    assert after is not None
    assert after[0] > first[0]
    tracker.close()


def test_closing_the_tracker_closes_the_writer(tmp_path: Path) -> None:
    tracker = create_tracker(Settings(data_dir=tmp_path))
    recorder = tracker.recorder
    assert isinstance(recorder, TrackerSQLiteRecorder)
    recorder.insert_events([_event(uuid4(), 1)])
    writer = recorder._writer
    assert writer is not None
    tracker.close()
    assert recorder._writer is None
    with pytest.raises(sqlite3.ProgrammingError):
        writer._sqlite_conn.execute("SELECT 1")
