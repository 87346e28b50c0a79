"""As-at answers (portfolio, project, organisation) equal a brute-force replay, on both axes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from application.bootstrap import create_tracker
from application.settings import Settings
from application.tracker import ImpactTracker
from domain.values import Stage
from read_models.bootstrap import create_read_side
from read_models.queries.common import AsAt, Axis
from read_models.queries.organisations import list_organisations, organisation_impact
from read_models.queries.portfolio import portfolio
from read_models.queries.timeline import project_timeline
from tests.read_models import oracle
from tests.read_models.histories import BASE, Step, histories, record_history

counter = itertools.count()


def check_against_oracle(
    tracker: ImpactTracker, engine: Engine, days: list[int], picks: list[int]
) -> None:
    events = oracle.project_events(tracker)
    stamps = sorted(e.timestamp for stream in events.values() for e in stream)
    organisations = list_organisations(engine).items

    # Every day a stage-changing event took effect, and the day before: the boundaries.
    turning = {
        "ProjectProposed",
        "PilotStarted",
        "MeasurementRecorded",
        "MeasurementsPasted",
        "MeasurementRetracted",
        "ProjectAdopted",
    }
    boundaries = sorted(
        {
            e.occurred_on - timedelta(days=back)
            for stream in events.values()
            for e in stream
            if type(e).__name__ in turning
            for back in (0, 1)
        }
    )
    for day in boundaries:
        expected_stages = [oracle.stage_effective_on(stream, day) for stream in events.values()]
        as_at = AsAt(axis=Axis.EFFECTIVE, moment=day)
        assert portfolio(engine, as_at).totals == oracle.stage_totals(expected_stages), day

    sampled = [boundaries[p % len(boundaries)] for p in picks] if boundaries else []
    for day in [BASE + timedelta(days=offset) for offset in days] + sampled:
        as_at = AsAt(axis=Axis.EFFECTIVE, moment=day)
        expected = {p: oracle.stage_effective_on(stream, day) for p, stream in events.items()}
        for project_id, stage in expected.items():
            timeline = project_timeline(engine, project_id, as_at)
            assert (timeline.stage if timeline else None) == stage, (project_id, day)
        involved = oracle.involvements_effective_on(events, day)
        for organisation in organisations:
            impact = organisation_impact(engine, organisation.organisation_id, as_at)
            assert impact is not None
            mine = {k: v for k, v in involved.items() if k[1] == organisation.organisation_id}
            assert oracle.impact_sets(impact) == mine, (organisation.name, day)

    for cutoff in stamps[:: max(len(stamps) // 200, 1)]:
        expected_stages = [oracle.stage_recorded_by(stream, cutoff) for stream in events.values()]
        as_at = AsAt(axis=Axis.RECORDED, moment=cutoff.astimezone(UTC))
        assert portfolio(engine, as_at).totals == oracle.stage_totals(expected_stages), cutoff

    for pick in picks:
        cutoff = stamps[pick % len(stamps)]
        as_at = AsAt(axis=Axis.RECORDED, moment=cutoff.astimezone(UTC))
        expected = {p: oracle.stage_recorded_by(stream, cutoff) for p, stream in events.items()}
        assert portfolio(engine, as_at).totals == oracle.stage_totals(list(expected.values()))
        for project_id, stage in expected.items():
            timeline = project_timeline(engine, project_id, as_at)
            assert (timeline.stage if timeline else None) == stage, (project_id, cutoff)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=histories,
    days=st.lists(st.integers(-15, 420), min_size=1, max_size=5),
    picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=5),
)
def test_as_at_answers_equal_a_replay_on_sqlite(
    tmp_path: Path, history: list[Step], days: list[int], picks: list[int]
) -> None:
    settings_ = Settings(database_url="memory://", data_dir=tmp_path / str(next(counter)))
    tracker = create_tracker(settings_)
    record_history(tracker, history)
    read_side = create_read_side(settings_, tracker)
    read_side.runner.catch_up()
    check_against_oracle(tracker, read_side.engine, days, picks)
    read_side.close()
    tracker.close()


def test_as_at_answers_equal_a_replay_on_every_engine(settings: Settings) -> None:
    """The demo programme's history, checked on the parametrised engine's views."""
    from application.demo.loader import load_demo

    tracker = create_tracker(settings)
    load_demo(tracker)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    span = (date(2026, 10, 1) - BASE).days
    check_against_oracle(
        tracker,
        read_side.engine,
        days=[-400, -200, 0, 200, span // 2, span],
        picks=[0, 500, 1000, 1400, 10**6 - 1],
    )
    read_side.close()
    tracker.close()


def test_a_paste_counts_each_value_as_a_measurement_as_at_every_date(settings: Settings) -> None:
    """A paste of three values, one later retracted: the project stays measured.

    Counting the paste as one measurement (or as none) would make the retraction take the
    project back to piloted in the views or in the replay, and the two would disagree.
    """
    tracker = create_tracker(settings)
    history = [
        Step("pilot", 0, 10, 0, 1.0),
        Step("measure", 0, 20, 0, 1.0),
        Step("paste", 0, 30, 2, 5.0),  # three values, March to May 2024
        Step("retract", 0, 60, 0, 1.0),
    ]
    record_history(tracker, history)
    events = oracle.project_events(tracker)
    (stream,) = events.values()
    assert [type(e).__name__ for e in stream][-2:] == ["MeasurementsPasted", "MeasurementRetracted"]
    assert oracle.stage_effective_on(stream, BASE + timedelta(days=60)) is Stage.MEASURED
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    check_against_oracle(tracker, read_side.engine, days=[29, 30, 59, 60], picks=[0, 3, 4])
    read_side.close()
    tracker.close()
