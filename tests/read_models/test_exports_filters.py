"""Export filters (scope, effective range, as at either axis) equal a replay, on every engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta
from uuid import UUID

import pytest

from application.errors import InvalidRequestError, UnknownReferenceError
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from read_models.bootstrap import ReadSide, create_read_side
from read_models.queries.charts import measure_chart
from read_models.queries.common import AsAt, Axis
from read_models.queries.exports import (
    ProjectScope,
    check_dates,
    check_scope,
    events_jsonl,
    measures_long,
    organisations_table,
    projects_table,
    scoped_projects,
    stage_transitions,
)
from tests.conftest import FELLOW, Programme
from tests.read_models import test_exports_oracle as replay
from tests.read_models.oracle import project_events
from tests.read_models.test_exports_oracle import DAY, Scenario, record_scenario


@pytest.fixture
def scenario(tracker: ImpactTracker, programme: Programme) -> Scenario:
    return record_scenario(tracker, programme)


@pytest.fixture
def read_side(settings: Settings, tracker: ImpactTracker, scenario: Scenario) -> Iterator[ReadSide]:
    side = create_read_side(settings, tracker)
    side.runner.catch_up()
    yield side
    side.close()


def scopes(s: Scenario) -> dict[str, ProjectScope]:
    p = s.programme
    return {
        "cohort 1": ProjectScope(cohort_id=p.cohort_id),
        "cohort 2": ProjectScope(cohort_id=s.other_cohort_id),
        "system A": ProjectScope(system_id=p.system_id),
        "system B": ProjectScope(system_id=s.other_system_id),
        "trust": ProjectScope(organisation_id=p.trust_id),
        "council": ProjectScope(organisation_id=p.council_id),
        "other trust": ProjectScope(organisation_id=s.other_trust_id),
        "system A and council": ProjectScope(system_id=p.system_id, organisation_id=p.council_id),
        "cohort 2 in system A": ProjectScope(cohort_id=s.other_cohort_id, system_id=p.system_id),
        "everything": ProjectScope(),
    }


def assert_exports_match(
    tracker: ImpactTracker,
    read_side: ReadSide,
    scope: ProjectScope,
    as_at: AsAt | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
) -> None:
    """Each project-shaped export, with these filters, equals the oracle's replay."""
    engine, label = read_side.engine, (scope, as_at, since, until)
    chosen = scoped_projects(engine, scope, as_at)
    rows = events_jsonl(tracker, None, projects=chosen, since=since, until=until, as_at=as_at)
    assert replay.event_keys(rows) == replay.events(tracker, scope, as_at, since, until), label
    transitions = stage_transitions(engine, scope=scope, since=since, until=until, as_at=as_at)
    assert replay.transition_keys(transitions) == replay.stage_transitions(
        tracker, scope, as_at, since, until
    ), label
    points = measures_long(engine, scope=scope, since=since, until=until, as_at=as_at)
    assert replay.point_keys(points) == replay.measure_points(
        tracker, scope, as_at, since, until
    ), label
    if since is None and until is None:
        found = replay.project_rows(projects_table(engine, scope=scope, as_at=as_at))
        assert found == replay.projects(tracker, scope, as_at), label


def test_each_scope_keeps_exactly_its_projects_in_every_export(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    everything = replay.projects_in_scope(tracker, ProjectScope())
    assert len(everything) == 4
    for name, scope in scopes(scenario).items():
        chosen = replay.projects_in_scope(tracker, scope)
        assert name == "everything" or chosen < everything, name  # every filter narrows
        found = replay.project_rows(projects_table(read_side.engine, scope=scope))
        assert set(found) == {str(p) for p in chosen}, name
        assert_exports_match(tracker, read_side, scope)
    council = replay.projects_in_scope(
        tracker, ProjectScope(organisation_id=scenario.programme.council_id)
    )
    assert council == {scenario.measured, scenario.paused, scenario.late}  # partner, lead, joined
    adopter = ProjectScope(organisation_id=scenario.other_trust_id)
    assert replay.projects_in_scope(tracker, adopter) == {scenario.measured, scenario.elsewhere}


def test_as_at_a_recorded_moment_leaves_out_everything_recorded_after_it(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    as_at = replay.recorded_at(scenario)
    engine = read_side.engine
    rows = replay.project_rows(projects_table(engine, as_at=as_at))
    assert str(scenario.late) not in rows  # proposed (with an early effective date) afterwards
    assert rows[str(scenario.paused)]["status"] == "active"  # paused afterwards
    assert rows[str(scenario.measured)]["adopted_on"] == ""
    transitions = list(stage_transitions(engine, as_at=as_at))
    assert transitions
    assert all(r["recorded_at"] <= as_at.cutoff.isoformat() + "Z" for r in transitions)
    assert not any(r["to_stage"] == "adopted" for r in transitions)
    march_only = {r["date"]: r["value"] for r in measures_long(engine, as_at=as_at)}
    assert march_only == {"2024-03-01": 20.0}
    # The council joined the late project after the moment: it isn't the council's yet.
    council = ProjectScope(organisation_id=scenario.programme.council_id)
    assert scoped_projects(engine, council, as_at) == frozenset(
        {scenario.measured, scenario.paused}
    )
    for scope in scopes(scenario).values():
        assert_exports_match(tracker, read_side, scope, as_at)


def test_as_at_every_recorded_moment_equals_a_replay_up_to_it(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    stamps = sorted(e.timestamp for stream in project_events(tracker).values() for e in stream)
    for stamp in stamps:
        for moment in (stamp, stamp - timedelta(microseconds=1)):
            as_at = AsAt(axis=Axis.RECORDED, moment=moment.astimezone(UTC))
            assert_exports_match(tracker, read_side, ProjectScope(), as_at)
    nothing_yet = AsAt(axis=Axis.RECORDED, moment=date.today() - timedelta(days=1))
    assert list(projects_table(read_side.engine, as_at=nothing_yet)) == []


def test_as_at_an_effective_day_gives_each_project_as_it_stood_that_day(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    as_at = replay.effective_on(DAY)
    rows = replay.project_rows(projects_table(read_side.engine, as_at=as_at))
    assert str(scenario.elsewhere) not in rows  # proposed after the day
    assert rows[str(scenario.late)]["stage"] == "proposed"  # recorded late, in effect early
    assert rows[str(scenario.measured)] == {
        "stage": "measured",
        "status": "active",
        "proposed_on": "2024-02-01",
        "piloted_on": "2024-03-01",
        "adopted_on": "",
    }
    assert rows[str(scenario.paused)]["status"] == "active"
    for scope in scopes(scenario).values():
        assert_exports_match(tracker, read_side, scope, as_at)


def test_as_at_every_effective_boundary_equals_a_replay_up_to_it(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    days = {
        e.occurred_on + timedelta(days=shift)
        for stream in project_events(tracker).values()
        for e in stream
        for shift in (-1, 0)
    }
    for day in sorted(days):
        for scope in (ProjectScope(), ProjectScope(organisation_id=scenario.other_trust_id)):
            assert_exports_match(tracker, read_side, scope, replay.effective_on(day))


def test_an_effective_range_keeps_rows_effective_within_it(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    ranges = [
        (date(2024, 3, 1), None),
        (None, date(2024, 3, 1)),
        (date(2024, 4, 1), date(2024, 4, 30)),
        (date(2024, 5, 2), date(2024, 5, 2)),
    ]
    for since, until in ranges:
        for scope in scopes(scenario).values():
            assert_exports_match(tracker, read_side, scope, since=since, until=until)
        assert_exports_match(
            tracker, read_side, ProjectScope(), replay.effective_on(), since=since, until=until
        )
    april = list(measures_long(read_side.engine, since=date(2024, 4, 1), until=date(2024, 4, 30)))
    assert [(r["date"], r["value"], r["annotation"]) for r in april] == [
        ("2024-04-01", 35.0, "Board paper")
    ]


def test_measure_rows_in_a_range_are_the_same_rows_as_in_the_whole_export(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    measure_id = tracker.project(scenario.measured).measures[0].measure_id
    tracker.mark_recalculation(
        FELLOW,
        scenario.measured,
        c.MarkRecalculation(
            occurred_on=date(2024, 6, 11),
            measure_id=measure_id,
            from_period=date(2024, 5, 1),
            reason="New pathway",
        ),
    )
    read_side.runner.catch_up()
    whole = list(measures_long(read_side.engine))
    ranged = list(measures_long(read_side.engine, since=date(2024, 4, 1)))
    assert ranged == [r for r in whole if r["date"] >= "2024-04-01"]
    marked = [r["date"] for r in ranged if r["recalculate_limits"]]
    assert marked == ["2024-05-01"]  # the mark is where it always was


def test_the_exports_ghost_and_recalculation_marks_are_the_charts(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    project = tracker.project(scenario.measured)
    measure_id = project.measures[0].measure_id
    april = next(m for m in project.measurements if m.period == date(2024, 4, 1))
    tracker.ghost_measurement(
        FELLOW,
        scenario.measured,
        c.GhostMeasurement(
            occurred_on=date(2024, 6, 11), measurement_id=april.measurement_id, reason="Outage"
        ),
    )
    read_side.runner.catch_up()
    rows = {r["date"]: r for r in measures_long(read_side.engine)}
    chart = measure_chart(read_side.engine, measure_id)
    assert chart is not None
    for point in chart.chart.points:
        assert rows[point.period.isoformat()]["ghost"] is point.ghost
    assert rows["2024-04-01"]["ghost"] is True
    before = {  # as it stood before the ghosting took effect
        r["date"]: r
        for r in measures_long(
            read_side.engine, as_at=AsAt(axis=Axis.EFFECTIVE, moment=date(2024, 6, 10))
        )
    }
    assert before["2024-04-01"]["ghost"] is False


def test_organisations_can_be_narrowed_to_one_system(
    tracker: ImpactTracker, scenario: Scenario, read_side: ReadSide
) -> None:
    for system in (scenario.programme.system_id, scenario.other_system_id):
        rows = list(organisations_table(read_side.engine, system_id=system))
        assert rows
        expected = {
            str(r["organisation_id"])
            for r in organisations_table(read_side.engine)
            if tracker.organisation(UUID(r["organisation_id"])).system_id == system
        }
        assert {r["organisation_id"] for r in rows} == expected


def test_an_unknown_id_or_a_backwards_range_is_refused_naming_the_field(
    scenario: Scenario, read_side: ReadSide
) -> None:
    nowhere = scenario.programme.trust_id  # an organisation, not a cohort or a system
    for field in ("cohort_id", "system_id"):
        with pytest.raises(UnknownReferenceError) as refused:
            check_scope(read_side.engine, ProjectScope.model_validate({field: nowhere}))
        assert refused.value.field == field
    with pytest.raises(UnknownReferenceError) as refused:
        check_scope(read_side.engine, ProjectScope(organisation_id=scenario.other_cohort_id))
    assert refused.value.field == "organisation_id"
    check_scope(read_side.engine, scopes(scenario)["system A and council"])
    with pytest.raises(InvalidRequestError) as backwards:
        check_dates(date(2024, 5, 1), date(2024, 4, 30))
    assert backwards.value.field == "until"
    check_dates(date(2024, 5, 1), date(2024, 5, 1))
