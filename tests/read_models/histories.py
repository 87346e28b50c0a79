"""Random project histories, recorded through the tracker so every rule is applied.

A history is a list of steps; each step names a command, a project, a date and a pick. Steps a
rule refuses are skipped, as a fellow's refused form would be, so every history is lawful.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from hypothesis import strategies as st

from application.errors import ApplicationError
from application.tracker import ImpactTracker
from domain import commands as c
from domain import project_events as ev
from domain.errors import DomainError
from domain.values import Actor, AdoptionScope, ClosureOutcome, ImprovementDirection, Role
from tests.conftest import Programme, proposal, set_up_programme

ACTOR = Actor(user_id="fellow-h", role=Role.FELLOW)
BASE = date(2024, 2, 1)
OPS = [
    "propose",
    "pilot",
    "measure",
    "record",
    "record",
    "record",
    "paste",
    "correct",
    "retract",
    "adopt",
    "join",
    "leave",
    "pause",
    "resume",
    "milestone",
    "close",
]


@dataclass(frozen=True)
class Step:
    """One command attempt."""

    op: str
    project: int
    days: int
    pick: int
    value: float


steps = st.builds(
    Step,
    op=st.sampled_from(OPS),
    project=st.integers(0, 3),
    days=st.integers(-10, 400),
    pick=st.integers(0, 1000),
    value=st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 2)),
)
histories = st.lists(steps, min_size=1, max_size=60)


def record_history(
    tracker: ImpactTracker, history: list[Step], *, pause_between: float = 0.0
) -> Programme:
    """Play a history into the tracker; returns the programme it used."""
    programme = set_up_programme(tracker)
    projects: list[UUID] = []
    measures: dict[UUID, list[UUID]] = {}
    measurements: dict[UUID, list[UUID]] = {}
    organisations = [programme.trust_id, programme.council_id]
    for step in history:
        on = BASE + timedelta(days=step.days)
        if step.op == "propose" or not projects:
            projects.append(
                tracker.propose_project(
                    ACTOR,
                    proposal(
                        programme,
                        occurred_on=BASE,
                        title=f"P{len(projects)}",
                        partner_organisation_ids=[],
                    ),
                ).aggregate_id
            )
            if step.op == "propose":
                continue
        pid = projects[step.project % len(projects)]
        with contextlib.suppress(DomainError, ApplicationError):
            _attempt(
                tracker,
                step,
                pid,
                on=on,
                organisations=organisations,
                measures=measures,
                measurements=measurements,
            )
        if pause_between:
            time.sleep(pause_between)
    return programme


def _attempt(
    tracker: ImpactTracker,
    step: Step,
    pid: UUID,
    *,
    on: date,
    organisations: list[UUID],
    measures: dict[UUID, list[UUID]],
    measurements: dict[UUID, list[UUID]],
) -> None:
    org = organisations[step.pick % 2]
    if step.op == "pilot":
        tracker.start_pilot(ACTOR, pid, c.StartPilot(occurred_on=on, sites=["s"], scope="x"))
    elif step.op == "measure":
        result = tracker.define_measure(
            ACTOR,
            pid,
            c.DefineMeasure(
                occurred_on=on,
                name=f"M{step.pick % 3}",
                unit="%",
                direction=ImprovementDirection.UP,
            ),
        )
        assert result.entity_id
        measures.setdefault(pid, []).append(result.entity_id)
    elif step.op == "record" and measures.get(pid):
        choices = measures[pid]
        result = tracker.record_measurement(
            ACTOR,
            pid,
            c.RecordMeasurement(
                occurred_on=on,
                measure_id=choices[step.pick % len(choices)],
                period=date(2024, 1 + step.pick % 12, 1),
                value=step.value,
            ),
        )
        assert result.entity_id
        measurements.setdefault(pid, []).append(result.entity_id)
    elif step.op == "paste" and measures.get(pid):
        choices = measures[pid]
        pasted = tracker.paste_measurements(
            ACTOR,
            pid,
            c.PasteMeasurements(
                occurred_on=on,
                measure_id=choices[step.pick % len(choices)],
                first_period=date(2024, 1 + step.pick % 12, 1),
                pasted="\n".join(f"{step.value + row:g}" for row in range(1 + step.pick % 3)),
            ),
        )
        # The command's result names no measurement; the paste's one event holds their ids.
        (event,) = tracker.events.get(pid, gt=pasted.version - 1)
        assert isinstance(event, ev.MeasurementsPasted)
        measurements.setdefault(pid, []).extend(v.measurement_id for v in event.values)
    elif step.op in {"correct", "retract"} and measurements.get(pid):
        target = measurements[pid][step.pick % len(measurements[pid])]
        if step.op == "correct":
            tracker.correct_measurement(
                ACTOR,
                pid,
                c.CorrectMeasurement(
                    occurred_on=on, measurement_id=target, value=step.value, reason="r"
                ),
            )
        else:
            tracker.retract_measurement(
                ACTOR, pid, c.RetractMeasurement(occurred_on=on, measurement_id=target, reason="r")
            )
    elif step.op == "adopt":
        tracker.record_adoption(
            ACTOR,
            pid,
            c.RecordAdoption(occurred_on=on, organisation_id=org, scope=AdoptionScope.SPREAD),
        )
    elif step.op == "join":
        tracker.join_organisation(
            ACTOR, pid, c.JoinOrganisation(occurred_on=on, organisation_id=org)
        )
    elif step.op == "leave":
        tracker.leave_organisation(
            ACTOR, pid, c.LeaveOrganisation(occurred_on=on, organisation_id=org)
        )
    elif step.op == "pause":
        tracker.pause_project(ACTOR, pid, c.PauseProject(occurred_on=on, reason="r"))
    elif step.op == "resume":
        tracker.resume_project(ACTOR, pid, c.ResumeProject(occurred_on=on))
    elif step.op == "milestone":
        tracker.log_milestone(ACTOR, pid, c.LogMilestone(occurred_on=on, title="m"))
    elif step.op == "close" and step.pick % 4 == 0:
        tracker.close_project(
            ACTOR,
            pid,
            c.CloseProject(occurred_on=on, outcome=ClosureOutcome.COMPLETED, summary="s"),
        )
