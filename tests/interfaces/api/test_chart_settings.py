"""Chart settings through the API: astronomical points, the baseline, periods by frequency.

Each setting is an event recorded with its actor, refused (nothing recorded) with the rule and
field named, and reflected in ``GET /api/measures/{id}/chart``, now and as at a date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.settings import Settings
from domain import commands as c
from domain import project_events as ev
from domain.project import Project
from domain.values import Frequency, ImprovementDirection
from tests.conftest import FELLOW
from tests.interfaces.api.world import World, served


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with served(Settings(data_dir=tmp_path)) as w:
        yield w


def monthly_values(world: World, project_id: UUID, measure_id: UUID, values: list[float]) -> None:
    """Values from April 2024 on (March already has one)."""
    world.tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2025, 6, 1),
            measure_id=measure_id,
            first_period=date(2024, 4, 1),
            pasted="\n".join(str(v) for v in values),
        ),
    )


def chart(world: World, measure_id: UUID, query: str = "") -> dict[str, Any]:
    answer = world.client.get(
        f"/api/measures/{measure_id}/chart?wait=true{query}", headers=world.headers("member")
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def event_types(world: World, project_id: UUID) -> list[str]:
    return [e.event_type for e in world.tracker.history(project_id)]


def test_an_astronomical_point_is_flagged_with_a_reason_and_signals_on_the_run_chart(
    world: World,
) -> None:
    project_id, measure_id, march = world.new_project()
    monthly_values(world, project_id, measure_id, [21, 19, 22, 20])
    base = f"/api/projects/{project_id}/measurements/{march}/astronomical"
    member = world.headers("member")

    no_reason = world.client.post(base, headers=member, json={"occurred_on": "2025-06-02"})
    outsider = world.client.post(
        base,
        headers=world.headers("outsider"),
        json={"occurred_on": "2025-06-02", "reason": "Not my project"},
    )
    assert (no_reason.status_code, outsider.status_code) == (422, 403)
    assert "MeasurementFlaggedAstronomical" not in event_types(world, project_id)

    flagged = world.client.post(
        base, headers=member, json={"occurred_on": "2025-06-02", "reason": "Ward shut for a week"}
    )
    assert flagged.status_code == 200, flagged.text
    entry = world.tracker.history(project_id)[-1]
    assert (entry.event_type, entry.actor.user_id) == ("MeasurementFlaggedAstronomical", "member")
    assert entry.data["reason"] == "Ward shut for a week"
    drawn = chart(world, measure_id)["chart"]
    assert drawn["kind"] == "run"
    first = drawn["points"][0]
    assert first["astronomical"] is True
    assert [s["rule"] for s in first["signals"]] == ["astronomical"]
    assert not any(p["astronomical"] for p in drawn["points"][1:])

    twice = world.client.post(
        base, headers=member, json={"occurred_on": "2025-06-02", "reason": "Again"}
    )
    assert twice.status_code == 409
    assert (twice.json()["error"], twice.json()["field"]) == ("chart_setting", "measurement_id")

    before = chart(world, measure_id, "&axis=effective&at=2025-06-01")["chart"]
    assert before["points"][0]["astronomical"] is False  # as it stood before the flag

    removed = world.client.delete(f"{base}?occurred_on=2025-06-03", headers=member)
    assert removed.status_code == 200, removed.text
    assert chart(world, measure_id)["chart"]["points"][0]["signals"] == []
    again = world.client.delete(f"{base}?occurred_on=2025-06-03", headers=member)
    assert (again.status_code, again.json()["error"]) == (409, "chart_setting")


def test_a_stored_baseline_fixes_the_limits_until_it_is_cleared(world: World) -> None:
    project_id, measure_id, _ = world.new_project()
    monthly_values(world, project_id, measure_id, [20 + (k % 4) for k in range(18)])
    member = world.headers("member")
    path = f"/api/projects/{project_id}/measures/{measure_id}/baseline"
    whole = chart(world, measure_id)
    assert whole["baseline_points"] is None
    assert whole["chart"]["phases"][0]["calculation_points"] == 19

    too_few = world.client.put(
        path, headers=member, json={"occurred_on": "2025-06-02", "points": 1, "reason": "x"}
    )
    assert (too_few.status_code, too_few.json()["field"]) == (422, "points")
    assert "BaselineSet" not in event_types(world, project_id)

    set_ = world.client.put(
        path,
        headers=member,
        json={"occurred_on": "2025-06-02", "points": 12, "reason": "The year before the pilot"},
    )
    assert set_.status_code == 200, set_.text
    fixed = chart(world, measure_id)
    assert fixed["baseline_points"] == 12
    assert fixed["measure"]["baseline_points"] == 12
    assert fixed["chart"]["phases"][0]["calculation_points"] == 12
    overridden = chart(world, measure_id, "&baseline_points=5")
    assert overridden["chart"]["phases"][0]["calculation_points"] == 5
    then = chart(world, measure_id, "&axis=effective&at=2025-06-01")
    assert then["baseline_points"] is None  # not yet in effect

    same = world.client.put(
        path, headers=member, json={"occurred_on": "2025-06-02", "points": 12, "reason": "Same"}
    )
    assert (same.status_code, same.json()["field"]) == (409, "points")

    cleared = world.client.delete(f"{path}?occurred_on=2025-06-03", headers=member)
    assert cleared.status_code == 200, cleared.text
    assert chart(world, measure_id)["chart"]["phases"][0]["calculation_points"] == 19
    assert event_types(world, project_id)[-2:] == ["BaselineSet", "BaselineCleared"]


def test_a_second_value_in_a_month_is_refused_and_the_chart_still_draws(world: World) -> None:
    project_id, measure_id, _ = world.new_project()
    member = world.headers("member")
    path = f"/api/projects/{project_id}/measurements"
    mid_month = world.client.post(
        path,
        headers=member,
        json={
            "occurred_on": "2024-04-20",
            "measure_id": str(measure_id),
            "period": "2024-03-15",
            "value": 30,
        },
    )
    assert mid_month.status_code == 409
    assert (mid_month.json()["error"], mid_month.json()["field"]) == ("period_start", "period")
    assert "2024-03-01" in mid_month.json()["detail"]
    pasted = world.client.post(
        f"{path}/pasted",
        headers=member,
        json={
            "occurred_on": "2024-06-01",
            "measure_id": str(measure_id),
            "first_period": "2024-02-01",
            "pasted": "1\n2\n3",
        },
    )
    assert pasted.status_code == 409
    body = pasted.json()
    assert (body["error"], body["field"]) == ("duplicate_measurement", "pasted")
    assert body["detail"].startswith("Row 2 (2024-03-01)")
    assert len(chart(world, measure_id)["chart"]["points"]) == 1


def define(world: World, project_id: UUID, frequency: Frequency) -> UUID:
    measure_id = world.tracker.define_measure(
        FELLOW,
        project_id,
        c.DefineMeasure(
            occurred_on=date(2024, 3, 1),
            name=f"Discharges by {frequency.value} period",
            unit="discharges",
            direction=ImprovementDirection.UP,
            frequency=frequency,
        ),
    ).entity_id
    assert measure_id is not None
    return measure_id


@pytest.mark.parametrize(
    ("frequency", "first", "pilot_period"),
    [
        # The world's pilot started on Friday 1 March 2024: its week began on Monday 26 February.
        (Frequency.WEEKLY, date(2024, 1, 1), date(2024, 2, 26)),
        (Frequency.DAILY, date(2024, 2, 10), date(2024, 3, 1)),
    ],
)
def test_recalculation_marks_use_the_measures_own_periods(
    world: World, frequency: Frequency, first: date, pilot_period: date
) -> None:
    project_id, _, _ = world.new_project()
    measure_id = define(world, project_id, frequency)
    world.tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=measure_id,
            first_period=first,
            pasted="\n".join(str(10 + k % 3) for k in range(40)),
        ),
    )
    at_pilot = chart(world, measure_id, "&recalculate_at_pilot=true")["chart"]
    second = at_pilot["phases"][1]
    assert at_pilot["points"][second["start"]]["period"] == pilot_period.isoformat()

    mark = date(2024, 3, 13)  # a Wednesday: the weekly phase starts at its Monday
    expected = mark if frequency is Frequency.DAILY else mark - timedelta(days=2)
    world.tracker.mark_recalculation(
        FELLOW,
        project_id,
        c.MarkRecalculation(
            occurred_on=date(2024, 6, 2), measure_id=measure_id, from_period=mark, reason="New"
        ),
    )
    marked = chart(world, measure_id)["chart"]
    assert len(marked["phases"]) == 2
    assert marked["points"][marked["phases"][1]["start"]]["period"] == expected.isoformat()


def record_as_before_the_rule(
    world: World, project_id: UUID, measure_id: UUID, period: date
) -> None:
    """Store a value as the domain once accepted it: a day inside a month that has a value."""
    project: Project = world.tracker.repository.get(project_id)
    project.trigger_event(
        ev.MeasurementRecorded,
        actor=FELLOW,
        occurred_on=date(2024, 4, 20),
        measurement_id=uuid4(),
        measure_id=measure_id,
        period=period,
        value=99.0,
        numerator=None,
        denominator=None,
        note="",
    )
    world.tracker.save(project)


def test_a_stored_second_value_in_a_month_replays_and_is_named_not_fatal(world: World) -> None:
    """History recorded before the rule loads; the chart names the clash; the export goes on."""
    project_id, measure_id, _ = world.new_project()
    record_as_before_the_rule(world, project_id, measure_id, date(2024, 3, 15))
    world.tracker.repository.cache = None  # replay the stream from the store
    replayed = world.tracker.project(project_id)
    assert sorted(m.period for m in replayed.measurements) == [date(2024, 3, 1), date(2024, 3, 15)]

    member = world.headers("member")
    drawn = world.client.get(f"/api/measures/{measure_id}/chart?wait=true", headers=member)
    assert drawn.status_code == 422
    assert "Row 2 (2024-03-15) is in the same month as row 1" in drawn.json()["detail"]

    exported = world.client.get("/api/exports/measures_long.csv", headers=world.headers("admin"))
    assert exported.status_code == 200
    rows = [line for line in exported.text.splitlines() if str(measure_id) in line]
    assert len(rows) == 2

    again = world.client.post(
        f"/api/projects/{project_id}/measurements/pasted",
        headers=member,
        json={
            "occurred_on": "2024-06-01",
            "measure_id": str(measure_id),
            "first_period": "2024-03-01",
            "pasted": "1",
        },
    )
    assert (again.status_code, again.json()["error"]) == (409, "duplicate_measurement")


def test_a_weekly_export_puts_a_milestone_on_its_own_week_only(world: World) -> None:
    project_id, _, _ = world.new_project()  # its pilot started on Friday 1 March 2024
    measure_id = define(world, project_id, Frequency.WEEKLY)
    world.tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=measure_id,
            first_period=date(2024, 2, 19),
            pasted="\n".join(str(10 + k % 3) for k in range(8)),
        ),
    )
    answer = world.client.get(
        "/api/exports/measures_long.csv?wait=true", headers=world.headers("admin")
    )
    assert answer.status_code == 200
    rows = [
        r for r in csv.DictReader(io.StringIO(answer.text)) if r["metric_id"] == str(measure_id)
    ]
    annotated = {r["date"]: r["annotation"] for r in rows if r["annotation"]}
    assert annotated == {"2024-02-26": "Pilot started"}
    drawn = chart(world, measure_id)
    assert [a["label"] for a in drawn["annotations"]] == ["Pilot started"]
