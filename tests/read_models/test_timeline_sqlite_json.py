"""The timeline JSON SQLite writes is, byte for byte, the JSON composed in Python.

On SQLite the API's timeline (now, or as recorded by a moment) is joined and written by SQLite
itself (the entries' stored heads and data, ``json_quote`` and ``printf`` for the stage
changes); everywhere else, and on the effective axis, it is composed in Python from the rows.
Clients must not be able to tell which: same bytes, not just the same
JSON, for awkward text (quotes, backslashes, control characters, DEL, non-ASCII, characters
beyond the BMP) and for recorded times with and without microseconds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, Table, create_engine, text

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.settings import Settings
from domain import commands as c
from read_models.bootstrap import create_read_side
from read_models.queries.common import AsAt, Axis, PageParams
from read_models.queries.timeline import list_projects, project_timeline
from read_models.queries.timeline_json import (
    _composed_in_python,
    _sqlite_moment,
    _written_by_sqlite,
    project_timeline_json,
)
from read_models.views.timeline import json_moment
from tests.conftest import ADMIN

AWKWARD = 'Café “q” \\ \x01\x1f\t\n\x7f <&> 😀 \u2028 "end" [x] %s %d'
PAGES = [PageParams(), PageParams(page=2, per_page=3), PageParams(page=99, per_page=500)]


def _same_bytes(engine: Engine, project_id: UUID, as_at: AsAt | None) -> int:
    """Assert both ways write the same bytes on every page; how many pages had an answer."""
    answered = 0
    for params in PAGES:
        written = _written_by_sqlite(engine, project_id, as_at, params)
        assert written == _composed_in_python(engine, project_id, as_at, params), (as_at, params)
        answered += written is not None
    return answered


def test_sqlite_writes_the_bytes_python_composes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    tracker = create_tracker(settings)
    load_demo(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    engine = read_side.engine
    listed = list_projects(engine, PageParams(per_page=500)).items
    active = next(p.project_id for p in listed if p.status == "active")
    tracker.log_milestone(
        ADMIN,
        active,
        c.LogMilestone(occurred_on=date(2026, 10, 1), title=AWKWARD[:100], description=AWKWARD),
    )
    read_side.runner.catch_up()

    answered = 0
    for summary in listed:
        whole = project_timeline(engine, summary.project_id, None, PageParams(per_page=500))
        assert whole is not None
        stamps = [e.recorded_at for e in whole.entries.items]
        moments: list[AsAt | None] = [None]
        moments += [AsAt(axis=Axis.RECORDED, moment=stamps[i]) for i in (0, len(stamps) // 2)]
        moments.append(AsAt(axis=Axis.RECORDED, moment=stamps[0] - timedelta(microseconds=1)))
        for as_at in moments:
            answered += _same_bytes(engine, summary.project_id, as_at)
    assert answered > len(listed) * len(PAGES) * 2
    assert _written_by_sqlite(engine, UUID(int=1), None, PageParams()) is None

    composed = project_timeline_json(engine, active, None, PageParams(per_page=500))
    assert composed is not None
    assert b"Caf\\u00e9" in composed  # escaped as json.dumps escapes (the API's bytes so far)
    assert b"\\u007f" in composed
    assert b"\\ud83d\\ude00" in composed
    read_side.close()
    tracker.close()


def test_sqlite_writes_recorded_times_as_pydantic_does() -> None:
    engine = create_engine("sqlite://")
    moments = MetaData()
    table = Table("moments", moments, Column("n", Integer), Column("at", DateTime))
    moments.create_all(engine)
    stored = [
        datetime(2026, 11, 28, 13, 42, 28),
        datetime(2026, 11, 28, 13, 42, 28, 256858),
        datetime(2026, 11, 28, 13, 42, 28, 1),
        datetime(2026, 11, 28, 13, 42, 28, 500),
        datetime(2026, 11, 28, 13, 42, 28, 100000),
        datetime(1, 1, 1),
        datetime.max,
    ]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"n": n, "at": at} for n, at in enumerate(stored)])
        written = conn.execute(
            text(f"SELECT {_sqlite_moment('at')} || 'Z' FROM moments ORDER BY n")
        ).scalars()
        assert list(written) == [json_moment(at) for at in stored]
