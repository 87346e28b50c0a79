"""The API's composed timeline JSON is exactly the JSON of the ``ProjectTimeline`` model.

``project_timeline_json`` writes entries straight from the view's rows instead of building and
dumping models; these tests hold it to the model's output for every demo project (every event
type: corrections, retractions, adoptions, pauses, closures), both as-at axes, several pages,
awkward text, and times with and without microseconds, on every engine.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import Engine

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.settings import Settings
from domain import commands as c
from domain.values import ImprovementDirection
from read_models.bootstrap import create_read_side
from read_models.queries.common import AsAt, Axis, PageParams, UtcDateTime
from read_models.queries.timeline import list_projects, project_timeline
from read_models.queries.timeline_json import project_timeline_json
from read_models.views.timeline import json_moment
from tests.conftest import ADMIN

AWKWARD = 'Café “quoted” \\ back\\slash\n<tag> & emoji 😀 \u2028 "end"'
PAGES = [PageParams(), PageParams(page=2, per_page=7), PageParams(page=99, per_page=500)]
EFFECTIVE = [date(2024, 1, 1) + timedelta(days=d) for d in (0, 200, 400, 800)]


def _compare(engine: Engine, project_id: UUID, as_at: AsAt | None, params: PageParams) -> bool:
    """Assert the two agree; say whether the project had events by then."""
    model = project_timeline(engine, project_id, as_at, params)
    composed = project_timeline_json(engine, project_id, as_at, params)
    expected: Any = None if model is None else json.loads(model.model_dump_json())
    assert (None if composed is None else json.loads(composed)) == expected, (as_at, params)
    return model is not None


def test_the_composed_json_equals_the_models_json_on_every_engine(settings: Settings) -> None:
    tracker = create_tracker(settings)
    load_demo(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    engine = read_side.engine
    listed = list_projects(engine, PageParams(per_page=500)).items
    projects = [p.project_id for p in listed]
    active = next(p.project_id for p in listed if p.status == "active")
    tracker.log_milestone(
        ADMIN,
        active,
        c.LogMilestone(occurred_on=date(2026, 10, 1), title=AWKWARD[:100], description=AWKWARD),
    )
    measure_id = tracker.define_measure(
        ADMIN,
        active,
        c.DefineMeasure(
            occurred_on=date(2026, 10, 1),
            name="Pasted",
            unit="n",
            direction=ImprovementDirection.UP,
        ),
    ).entity_id
    assert measure_id is not None
    tracker.paste_measurements(  # a paste's entry holds its values: nested data to compose
        ADMIN,
        active,
        c.PasteMeasurements(
            occurred_on=date(2026, 10, 1),
            measure_id=measure_id,
            first_period=date(2026, 1, 1),
            pasted="1.5\n2\n1e-7",
        ),
    )
    read_side.runner.catch_up()

    found = 0
    for project_id in projects:
        whole = project_timeline(engine, project_id, None, PageParams(per_page=500))
        assert whole is not None
        stamps = [e.recorded_at for e in whole.entries.items]
        moments: list[AsAt | None] = [None]
        moments += [AsAt(axis=Axis.EFFECTIVE, moment=day) for day in EFFECTIVE]
        moments += [AsAt(axis=Axis.RECORDED, moment=stamps[i]) for i in (0, len(stamps) // 2, -1)]
        moments.append(AsAt(axis=Axis.RECORDED, moment=stamps[0] - timedelta(microseconds=1)))
        for as_at in moments:
            for params in PAGES:
                found += _compare(engine, project_id, as_at, params)
    assert found > len(projects) * len(PAGES) * 4  # most questions had an answer to compare

    composed = project_timeline_json(engine, active, None, PageParams(per_page=500))
    assert composed is not None
    items = json.loads(composed)["entries"]["items"]
    assert AWKWARD in {e["data"].get("description") for e in items}
    (pasted,) = [e for e in items if e["event_type"] == "MeasurementsPasted"]
    assert [v["value"] for v in pasted["data"]["values"]] == [1.5, 2.0, 1e-7]
    read_side.close()
    tracker.close()


def test_recorded_times_are_written_as_pydantic_writes_them() -> None:
    adapter = TypeAdapter(UtcDateTime)
    for moment in (
        datetime(2026, 11, 28, 13, 42, 28),
        datetime(2026, 11, 28, 13, 42, 28, 256858),
        datetime(2026, 11, 28, 13, 42, 28, 1),
        datetime(2026, 11, 28, 13, 42, 28, 500, tzinfo=UTC),
    ):
        written = adapter.dump_json(adapter.validate_python(moment)).decode()
        assert f'"{json_moment(moment)}"' == written, moment
