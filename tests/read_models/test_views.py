"""Scenario tests of the views and their queries, on every engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from uuid import UUID

import pytest

from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import AdoptionScope, ImprovementDirection, Stage
from read_models.bootstrap import ReadSide, create_read_side
from read_models.queries.common import AsAt, Axis, PageParams
from read_models.queries.measures import measure_series, project_measures
from read_models.queries.organisations import adoption_spread, organisation_impact
from read_models.queries.portfolio import portfolio, time_to_stage
from read_models.queries.timeline import list_projects, project_timeline
from tests.conftest import FELLOW, Programme, proposal

PILOT_ON = date(2024, 3, 1)


@pytest.fixture
def read_side(settings: Settings, tracker: ImpactTracker) -> Iterator[ReadSide]:
    side = create_read_side(settings, tracker)
    yield side
    side.close()


def piloted_with_measure(tracker: ImpactTracker, programme: Programme) -> tuple[UUID, UUID]:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.start_pilot(
        FELLOW, project_id, c.StartPilot(occurred_on=PILOT_ON, sites=["A"], scope="s")
    )
    measure_id = tracker.define_measure(
        FELLOW,
        project_id,
        c.DefineMeasure(
            occurred_on=PILOT_ON,
            name="Occupancy",
            unit="%",
            direction=ImprovementDirection.UP,
        ),
    ).entity_id
    assert measure_id is not None
    return project_id, measure_id


def stage_on(read_side: ReadSide, day: date) -> dict[Stage, int]:
    return portfolio(read_side.engine, AsAt(axis=Axis.EFFECTIVE, moment=day)).totals


def test_a_retraction_ends_a_measurement_from_its_effective_date(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    project_id, measure_id = piloted_with_measure(tracker, programme)
    measurement = tracker.record_measurement(
        FELLOW,
        project_id,
        c.RecordMeasurement(
            occurred_on=date(2024, 4, 10),
            measure_id=measure_id,
            period=date(2024, 3, 1),
            value=5,
        ),
    ).entity_id
    assert measurement is not None
    tracker.retract_measurement(
        FELLOW,
        project_id,
        c.RetractMeasurement(
            occurred_on=date(2024, 5, 20), measurement_id=measurement, reason="Wrong ward"
        ),
    )
    read_side.runner.catch_up()
    assert stage_on(read_side, date(2024, 4, 9))[Stage.PILOTED] == 1
    assert stage_on(read_side, date(2024, 4, 10))[Stage.MEASURED] == 1
    assert stage_on(read_side, date(2024, 5, 19))[Stage.MEASURED] == 1
    assert stage_on(read_side, date(2024, 5, 20))[Stage.PILOTED] == 1


def test_the_timeline_lists_each_event_with_both_time_axes_and_stage_history(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    project_id, measure_id = piloted_with_measure(tracker, programme)
    last = tracker.record_measurement(
        FELLOW,
        project_id,
        c.RecordMeasurement(
            occurred_on=date(2024, 4, 10), measure_id=measure_id, period=date(2024, 3, 1), value=5
        ),
    )
    read_side.runner.catch_up()
    read_side.runner.wait_for(last.notification_id, ["timeline"])
    timeline = project_timeline(read_side.engine, project_id)
    assert timeline is not None
    assert [e.event_type for e in timeline.entries.items] == [
        "ProjectProposed",
        "PilotStarted",
        "MeasureDefined",
        "MeasurementRecorded",
    ]
    assert timeline.entries.items[3].summary == "Measurement recorded for 2024-03-01: 5"
    assert timeline.entries.items[3].actor_id == FELLOW.user_id
    assert [(s.stage, s.occurred_on) for s in timeline.stage_history] == [
        (Stage.PROPOSED, date(2024, 2, 1)),
        (Stage.PILOTED, PILOT_ON),
        (Stage.MEASURED, date(2024, 4, 10)),
    ]
    assert timeline.stage is Stage.MEASURED
    before_pilot = project_timeline(
        read_side.engine, project_id, AsAt(axis=Axis.EFFECTIVE, moment=date(2024, 2, 15))
    )
    assert before_pilot is not None
    assert (before_pilot.stage, before_pilot.entries.total) == (Stage.PROPOSED, 1)


def test_measure_series_apply_corrections_and_drop_retractions_and_replay_the_past(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    project_id, measure_id = piloted_with_measure(tracker, programme)
    ids = []
    for month, value in ((3, 10.0), (4, 12.0), (5, 14.0)):
        result = tracker.record_measurement(
            FELLOW,
            project_id,
            c.RecordMeasurement(
                occurred_on=date(2024, month + 1, 5),
                measure_id=measure_id,
                period=date(2024, month, 1),
                value=value,
            ),
        )
        assert result.entity_id
        ids.append(result.entity_id)
    tracker.correct_measurement(
        FELLOW,
        project_id,
        c.CorrectMeasurement(
            occurred_on=date(2024, 7, 1), measurement_id=ids[0], value=11.0, reason="refresh"
        ),
    )
    tracker.retract_measurement(
        FELLOW,
        project_id,
        c.RetractMeasurement(
            occurred_on=date(2024, 7, 1), measurement_id=ids[1], reason="wrong month"
        ),
    )
    read_side.runner.catch_up()
    now = measure_series(read_side.engine, measure_id)
    assert now is not None
    assert [(p.period.month, p.value, p.corrected) for p in now.points] == [
        (3, 11.0, True),
        (5, 14.0, False),
    ]
    before = measure_series(
        read_side.engine, measure_id, AsAt(axis=Axis.EFFECTIVE, moment=date(2024, 6, 30))
    )
    assert before is not None
    assert [(p.period.month, p.value) for p in before.points] == [(3, 10.0), (4, 12.0), (5, 14.0)]
    assert [m.name for m in project_measures(read_side.engine, project_id)] == ["Occupancy"]


def test_organisation_impact_and_adoption_spread(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    project_id, _ = piloted_with_measure(tracker, programme)
    tracker.record_adoption(
        FELLOW,
        project_id,
        c.RecordAdoption(
            occurred_on=date(2024, 9, 1),
            organisation_id=programme.council_id,
            scope=AdoptionScope.SPREAD,
        ),
    )
    tracker.record_adoption(
        FELLOW,
        project_id,
        c.RecordAdoption(
            occurred_on=date(2024, 10, 1),
            organisation_id=programme.trust_id,
            scope=AdoptionScope.BUSINESS_AS_USUAL,
        ),
    )
    tracker.leave_organisation(
        FELLOW,
        project_id,
        c.LeaveOrganisation(occurred_on=date(2024, 11, 1), organisation_id=programme.council_id),
    )
    read_side.runner.catch_up()
    council = organisation_impact(read_side.engine, programme.council_id)
    assert council is not None
    assert ([i.project_id for i in council.adopted], council.partners_in) == ([project_id], [])
    in_summer = organisation_impact(
        read_side.engine, programme.council_id, AsAt(axis=Axis.EFFECTIVE, moment=date(2024, 6, 1))
    )
    assert in_summer is not None
    assert ([i.project_id for i in in_summer.partners_in], in_summer.adopted) == ([project_id], [])
    assert [i.project_id for i in in_summer.pilots] == [project_id]
    spread = adoption_spread(read_side.engine, project_id)
    assert spread is not None
    assert [(a.organisation_name, a.organisations_so_far) for a in spread.adoptions] == [
        ("Test Council", 1),
        ("Test Trust", 2),
    ]
    assert spread.sectors_reached == ["acute", "local_authority"]


def test_projects_list_filters_and_pages(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    for n in range(5):
        tracker.propose_project(
            FELLOW,
            proposal(
                programme, title=f"Virtual ward {n}", occurred_on=date(2024, 2, 1) + timedelta(n)
            ),
        )
    tracker.propose_project(FELLOW, proposal(programme, title="Falls prevention"))
    read_side.runner.catch_up()
    page = list_projects(read_side.engine, PageParams(page=2, per_page=2), search="virtual")
    assert (page.total, [p.title for p in page.items]) == (5, ["Virtual ward 2", "Virtual ward 1"])
    mine = list_projects(read_side.engine, fellow_id=programme.lead_fellow_id)
    assert mine.total == 6
    assert list_projects(read_side.engine, search="100%_").total == 0


def test_time_to_stage_counts_days_between_stages(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    piloted_with_measure(tracker, programme)
    read_side.runner.catch_up()
    figures = time_to_stage(read_side.engine)
    assert (figures.proposal_to_pilot.count, figures.proposal_to_pilot.median) == (1, 29.0)
    assert figures.pilot_to_adoption.count == 0


def test_a_view_whose_tables_changed_is_rebuilt_at_start_up(
    settings: Settings, tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    from sqlalchemy import update

    from read_models.positions import schemas

    piloted_with_measure(tracker, programme)
    read_side.runner.catch_up()
    head = tracker.head()
    with read_side.engine.begin() as conn:  # as if written by an older release
        conn.execute(update(schemas).where(schemas.c.view == "measures").values(version=1))
    again = create_read_side(settings, tracker)
    try:
        positions = again.runner.positions()
        assert positions["measures"] == 0
        assert positions["timeline"] == head
        again.runner.catch_up()
        assert (
            project_measures(
                again.engine, next(iter(list_projects(again.engine).items)).project_id
            )[0].name
            == "Occupancy"
        )
    finally:
        again.close()


def test_a_paste_is_one_timeline_entry_and_a_point_per_value(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    project_id, measure_id = piloted_with_measure(tracker, programme)
    pasted = tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 5),
            measure_id=measure_id,
            first_period=date(2024, 3, 1),
            pasted="10\n12\n14",
        ),
    )
    read_side.runner.catch_up()
    timeline = project_timeline(read_side.engine, project_id)
    assert timeline is not None
    (entry,) = [e for e in timeline.entries.items if e.version == pasted.version]
    assert entry.event_type == "MeasurementsPasted"
    assert entry.summary == "Pasted 3 values, Mar 2024 to May 2024"
    assert [(v["period"], v["value"]) for v in entry.data["values"]] == [
        ("2024-03-01", 10.0),
        ("2024-04-01", 12.0),
        ("2024-05-01", 14.0),
    ]
    assert [e.event_type for e in timeline.entries.items].count("MeasurementsPasted") == 1
    assert timeline.stage is Stage.MEASURED
    assert stage_on(read_side, date(2024, 6, 4))[Stage.PILOTED] == 1
    assert stage_on(read_side, date(2024, 6, 5))[Stage.MEASURED] == 1

    first, second, _ = (UUID(v["measurement_id"]) for v in entry.data["values"])
    tracker.correct_measurement(
        FELLOW,
        project_id,
        c.CorrectMeasurement(
            occurred_on=date(2024, 7, 1), measurement_id=first, value=11.0, reason="refresh"
        ),
    )
    tracker.retract_measurement(
        FELLOW,
        project_id,
        c.RetractMeasurement(occurred_on=date(2024, 7, 1), measurement_id=second, reason="r"),
    )
    read_side.runner.catch_up()
    now = measure_series(read_side.engine, measure_id)
    assert now is not None
    assert [(p.period.month, p.value, p.corrected) for p in now.points] == [
        (3, 11.0, True),
        (5, 14.0, False),
    ]
    before = measure_series(
        read_side.engine, measure_id, AsAt(axis=Axis.EFFECTIVE, moment=date(2024, 6, 30))
    )
    assert before is not None
    assert [(p.period.month, p.value) for p in before.points] == [(3, 10.0), (4, 12.0), (5, 14.0)]
    assert stage_on(read_side, date(2024, 7, 1))[Stage.MEASURED] == 1  # two values still stand
