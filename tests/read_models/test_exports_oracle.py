"""The export tests' shared world: a two-system programme, and a brute-force oracle (no tests).

The scenario is recorded in two halves with a moment (``cutoff``) between them, and has effective
dates either side of ``DAY``, so both as-at axes have something to leave out. The oracle answers
every export question by replaying the tracker's own events (``tracker.events``) in Python: it
shares no code with the exports' SQL, so the exports, the API and the CLI must all equal it.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from application.tracker import ImpactTracker
from domain import commands as c
from domain import project_events as ev
from domain.events import DomainEvent
from domain.project import Project
from domain.values import (
    AdoptionScope,
    ImprovementDirection,
    ProjectStatus,
    Sector,
)
from read_models.queries.common import AsAt, Axis
from read_models.queries.exports import ProjectScope
from tests.conftest import ADMIN, FELLOW, START, Programme, proposal
from tests.read_models import oracle

DAY = date(2024, 4, 15)  # the effective as-at day: P1 measured, P2 not yet paused, P3 not proposed


@dataclass(frozen=True)
class Scenario:
    """What the scenario recorded: two systems, their cohorts and organisations, four projects."""

    programme: Programme  # system A: trust, council, cohort 1
    other_system_id: UUID  # system B
    other_trust_id: UUID
    other_cohort_id: UUID
    measured: UUID  # P1: cohort 1, trust leads, council partners; adopted by B's trust later
    paused: UUID  # P2: cohort 1, council leads; paused after DAY
    elsewhere: UUID  # P3: cohort 2 (system B), proposed after DAY
    late: UUID  # P4: cohort 1, proposed early but recorded after the cutoff; council joins
    cutoff: datetime  # a moment between the two halves of recording (UTC)


def record_scenario(tracker: ImpactTracker, programme: Programme) -> Scenario:
    """Record the scenario; ``programme`` is ``set_up_programme``'s (system A)."""
    other_system = tracker.register_system(
        ADMIN, c.RegisterSystem(occurred_on=START, name="Other ICS")
    ).aggregate_id
    other_trust = tracker.register_organisation(
        ADMIN,
        c.RegisterOrganisation(
            occurred_on=START, name="Other Trust", sector=Sector.ACUTE, system_id=other_system
        ),
    ).aggregate_id
    other_cohort = tracker.start_cohort(
        ADMIN,
        c.StartCohort(
            occurred_on=START,
            programme="20/20",
            system_id=other_system,
            number=2,
            starts_on=START,
            ends_on=date(2024, 7, 8),
        ),
    ).aggregate_id
    other_fellow = tracker.enrol_fellow(
        ADMIN,
        c.EnrolFellow(
            occurred_on=START,
            cohort_id=other_cohort,
            organisation_id=other_trust,
            role_title="Paramedic",
            name="Other System Fellow",
        ),
    ).aggregate_id

    measured = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.start_pilot(
        FELLOW, measured, c.StartPilot(occurred_on=date(2024, 3, 1), sites=["Ward 1"], scope="s")
    )
    measure_id = tracker.define_measure(
        FELLOW,
        measured,
        c.DefineMeasure(
            occurred_on=date(2024, 3, 1),
            name="Discharges before noon",
            unit="%",
            direction=ImprovementDirection.UP,
        ),
    ).entity_id
    assert measure_id is not None

    def record(period: date, value: float, on: date) -> UUID | None:
        command = c.RecordMeasurement(
            occurred_on=on, measure_id=measure_id, period=period, value=value
        )
        return tracker.record_measurement(FELLOW, measured, command).entity_id

    record(date(2024, 3, 1), 20.0, date(2024, 4, 2))
    paused = tracker.propose_project(
        FELLOW,
        proposal(
            programme,
            title="Falls response",
            lead_fellow_id=programme.other_fellow_id,
            lead_organisation_id=programme.council_id,
            partner_organisation_ids=[],
        ),
    ).aggregate_id
    elsewhere = tracker.propose_project(
        FELLOW,
        proposal(
            programme,
            occurred_on=date(2024, 6, 1),
            title="Care home conveyance",
            cohort_id=other_cohort,
            lead_fellow_id=other_fellow,
            lead_organisation_id=other_trust,
            partner_organisation_ids=[],
        ),
    ).aggregate_id

    time.sleep(0.01)
    cutoff = datetime.now(UTC)
    time.sleep(0.01)

    april = record(date(2024, 4, 1), 30.0, date(2024, 5, 2))
    assert april is not None
    record(date(2024, 5, 1), 40.0, date(2024, 6, 3))
    tracker.correct_measurement(
        FELLOW,
        measured,
        c.CorrectMeasurement(
            occurred_on=date(2024, 6, 10), measurement_id=april, value=35.0, reason="Typo"
        ),
    )
    tracker.log_milestone(
        FELLOW, measured, c.LogMilestone(occurred_on=date(2024, 4, 10), title="Board paper")
    )
    tracker.record_adoption(
        FELLOW,
        measured,
        c.RecordAdoption(
            occurred_on=date(2024, 9, 2),
            organisation_id=other_trust,
            scope=AdoptionScope.BUSINESS_AS_USUAL,
        ),
    )
    tracker.pause_project(
        FELLOW, paused, c.PauseProject(occurred_on=date(2024, 5, 1), reason="Winter pressures")
    )
    late = tracker.propose_project(
        FELLOW,
        proposal(
            programme,
            occurred_on=date(2024, 2, 15),
            title="Late entry",
            partner_organisation_ids=[],
        ),
    ).aggregate_id
    tracker.join_organisation(
        FELLOW,
        late,
        c.JoinOrganisation(occurred_on=date(2024, 3, 1), organisation_id=programme.council_id),
    )
    return Scenario(
        programme,
        other_system,
        other_trust,
        other_cohort,
        measured,
        paused,
        elsewhere,
        late,
        cutoff,
    )


def recorded_at(scenario: Scenario) -> AsAt:
    """The recorded-axis point between the scenario's two halves."""
    return AsAt(axis=Axis.RECORDED, moment=scenario.cutoff)


def effective_on(day: date = DAY) -> AsAt:
    """An effective-axis point."""
    return AsAt(axis=Axis.EFFECTIVE, moment=day)


# The oracle ---------------------------------------------------------------------------------


def in_force(event: DomainEvent, as_at: AsAt | None) -> bool:
    """Recorded by the point (recorded axis), or effective on or before its day."""
    if as_at is None:
        return True
    if as_at.axis is Axis.RECORDED:
        return event.timestamp.astimezone(UTC).replace(tzinfo=None) <= as_at.cutoff
    return event.occurred_on <= as_at.day


def projects_in_scope(
    tracker: ImpactTracker, scope: ProjectScope, as_at: AsAt | None = None
) -> set[UUID]:
    """Every project the scope names, from the projects' own events (proposed or not by then)."""
    found = set()
    for project_id, stream in oracle.project_events(tracker).items():
        proposed = stream[0]
        assert isinstance(proposed, ev.ProjectProposed)
        system = tracker.cohort(proposed.cohort_id).system_id
        involved = {proposed.lead_organisation_id}
        for e in stream:
            if not in_force(e, as_at):
                continue
            if isinstance(e, ev.ProjectProposed):
                involved |= set(e.partner_organisation_ids)
            elif isinstance(e, ev.OrganisationJoined | ev.ProjectAdopted):
                involved.add(e.organisation_id)
        if (
            scope.cohort_id in {None, proposed.cohort_id}
            and scope.system_id in {None, system}
            and scope.organisation_id in {None, *involved}
        ):
            found.add(project_id)
    return found


def events(
    tracker: ImpactTracker,
    scope: ProjectScope | None = None,
    as_at: AsAt | None = None,
    since: date | None = None,
    until: date | None = None,
) -> set[tuple[str, int]]:
    """(stream, version) of every event the events export should hold."""
    if scope is None or scope == ProjectScope():
        notifications = tracker.recorder.select_notifications(1, 100_000)
        streams = {UUID(str(n.originator_id)) for n in notifications}
    else:
        streams = projects_in_scope(tracker, scope, as_at)
    found = set()
    for stream in streams:
        for event in tracker.events.get(stream):
            assert isinstance(event, DomainEvent)
            if (
                in_force(event, as_at)
                and (since is None or event.occurred_on >= since)
                and (until is None or event.occurred_on <= until)
            ):
                found.add((str(stream), event.originator_version))
    return found


def stage_transitions(
    tracker: ImpactTracker,
    scope: ProjectScope,
    as_at: AsAt | None = None,
    since: date | None = None,
    until: date | None = None,
) -> set[tuple[str, str, str, str, str]]:
    """(project, from, to, effective date, recorded time) of each stage change, by replay."""
    chosen = projects_in_scope(tracker, scope, as_at)
    found = set()
    for project_id, stream in oracle.project_events(tracker).items():
        if project_id not in chosen:
            continue
        project: Project | None = None
        before = ""
        for e in stream:
            project = e.mutate(project)
            assert project is not None
            if project.stage.value != before:
                recorded = e.timestamp.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
                row = (str(project_id), before, project.stage.value, e.occurred_on.isoformat())
                if (
                    in_force(e, as_at)
                    and (since is None or e.occurred_on >= since)
                    and (until is None or e.occurred_on <= until)
                ):
                    found.add((*row, recorded))
                before = project.stage.value
    return found


def projects(
    tracker: ImpactTracker, scope: ProjectScope, as_at: AsAt | None = None
) -> dict[str, dict[str, str]]:
    """projects.csv's rows (the columns that change over time) by project id."""
    chosen = projects_in_scope(tracker, scope, as_at)
    rows = {}
    for project_id, stream in oracle.project_events(tracker).items():
        kept = [e for e in stream if in_force(e, as_at)]
        if project_id not in chosen or not any(isinstance(e, ev.ProjectProposed) for e in kept):
            continue
        if as_at is not None and as_at.axis is Axis.EFFECTIVE:
            stage = oracle.stage_effective_on(stream, as_at.day)
            status = ProjectStatus.ACTIVE
            for e in sorted(kept, key=lambda e: (e.occurred_on, e.originator_version)):
                if isinstance(e, ev.ProjectPaused):
                    status = ProjectStatus.PAUSED
                elif isinstance(e, ev.ProjectResumed):
                    status = ProjectStatus.ACTIVE
                elif isinstance(e, ev.ProjectClosed):
                    status = ProjectStatus.CLOSED
        else:
            replayed: Project | None = None
            for e in kept:
                replayed = e.mutate(replayed)
            assert replayed is not None
            stage, status = replayed.stage, replayed.status
        assert stage is not None
        rows[str(project_id)] = {
            "stage": stage.value,
            "status": status.value,
            "proposed_on": stream[0].occurred_on.isoformat(),
            "piloted_on": _first(kept, ev.PilotStarted),
            "adopted_on": _first(kept, ev.ProjectAdopted),
        }
    return rows


def _first(stream: Iterable[DomainEvent], kind: type[DomainEvent]) -> str:
    days = [e.occurred_on for e in stream if isinstance(e, kind)]
    return min(days).isoformat() if days else ""


def measure_points(
    tracker: ImpactTracker,
    scope: ProjectScope,
    as_at: AsAt | None = None,
    since: date | None = None,
    until: date | None = None,
) -> set[tuple[str, str, float]]:
    """(measure, period, value) of every point: each measurement's last value in force."""
    chosen = projects_in_scope(tracker, scope, as_at)
    found = set()
    for project_id, stream in oracle.project_events(tracker).items():
        if project_id not in chosen:
            continue
        defined: set[UUID] = set()
        points: dict[UUID, tuple[UUID, date, float]] = {}
        for e in stream:
            if not in_force(e, as_at):
                continue
            if isinstance(e, ev.MeasureDefined):
                defined.add(e.measure_id)
            elif isinstance(e, ev.MeasurementRecorded):
                points[e.measurement_id] = (e.measure_id, e.period, e.value)
            elif isinstance(e, ev.MeasurementsPasted):
                for v in e.values:
                    points[v.measurement_id] = (e.measure_id, v.period, v.value)
            elif isinstance(e, ev.MeasurementCorrected):
                measure, period, _ = points[e.measurement_id]
                points[e.measurement_id] = (measure, period, e.value)
            elif isinstance(e, ev.MeasurementRetracted):
                del points[e.measurement_id]
        found |= {
            (str(measure), period.isoformat(), value)
            for measure, period, value in points.values()
            if measure in defined
            and (since is None or period >= since)
            and (until is None or period <= until)
        }
    return found


# Reading what an export wrote ---------------------------------------------------------------


def read_csv(text: str) -> list[dict[str, str]]:
    """CSV text as rows."""
    return list(csv.DictReader(io.StringIO(text)))


def read_jsonl(text: str) -> list[dict[str, Any]]:
    """JSON lines as rows."""
    return [json.loads(line) for line in text.splitlines()]


def event_keys(rows: Iterable[dict[str, Any]]) -> set[tuple[str, int]]:
    """(stream, version) of exported events."""
    return {(r["stream_id"], int(r["version"])) for r in rows}


def transition_keys(rows: Iterable[dict[str, Any]]) -> set[tuple[str, str, str, str, str]]:
    """The stage transitions export's rows as tuples."""
    return {
        (r["project_id"], r["from_stage"], r["to_stage"], r["effective_date"], r["recorded_at"])
        for r in rows
    }


def project_rows(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """projects.csv's rows, the oracle's columns only, by project id."""
    columns = ("stage", "status", "proposed_on", "piloted_on", "adopted_on")
    return {r["project_id"]: {k: str(r[k]) for k in columns} for r in rows}


def point_keys(rows: Iterable[dict[str, Any]]) -> set[tuple[str, str, float]]:
    """measures_long's rows as (measure, period, value)."""
    return {(r["metric_id"], r["date"], float(r["value"])) for r in rows}


def _same_cell(text: str, value: Any) -> bool:
    """Whether a Parquet cell holds what the CSV cell writes (parsed here, not by the export)."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text.lower() in {"true", "1"} if value else text.lower() in {"false", "0"}
    if isinstance(value, float):
        return float(text) == value
    if isinstance(value, int):
        return int(text) == value
    if isinstance(value, datetime):
        return datetime.fromisoformat(text) == value
    if isinstance(value, date):
        return value.isoformat() == text
    return isinstance(value, str) and value == text


def assert_parquet_is_the_csv(parquet: bytes, csv_text: str) -> list[dict[str, Any]]:
    """A Parquet export holds the CSV's columns and rows in order, each cell the CSV's value.

    Returns the Parquet rows, so a test can also check their types.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(parquet))
    expected = read_csv(csv_text)
    header = csv_text.splitlines()[0].split(",")
    assert table.column_names == header
    rows: list[dict[str, Any]] = table.to_pylist()
    assert len(rows) == len(expected)
    for number, (typed, text) in enumerate(zip(rows, expected, strict=True), start=1):
        different = {c: (text[c], typed[c]) for c in header if not _same_cell(text[c], typed[c])}
        assert different == {}, f"row {number}"
    return rows
