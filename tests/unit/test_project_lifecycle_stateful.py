"""Any sequence of commands leaves a consistent project and never stores a rule-breaking event.

Hypothesis drives a Project through random commands with random dates and references; refused
commands must leave no trace, and an independent checker walks the accepted events to confirm
each rule held and that the derived stage matches.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.persistence.mapper import PydanticMapper
from domain import commands as c
from domain import errors
from domain import project_events as ev
from domain.events import DomainEvent
from domain.project import Project
from domain.values import (
    Actor,
    AdoptionScope,
    ClosureOutcome,
    ImprovementDirection,
    Role,
    Stage,
)

ACTOR = Actor(user_id="fellow-1", role=Role.FELLOW)
MAPPER = PydanticMapper(transcoder=None)  # type: ignore[arg-type]
ORGS = [uuid4() for _ in range(4)]
PROPOSED = date(2024, 1, 15)
# Mostly lawful dates, sometimes before the proposal, so rules are exercised both ways.
dates = st.one_of(
    st.dates(min_value=PROPOSED, max_value=date(2024, 9, 30)),
    st.dates(min_value=date(2023, 12, 1), max_value=PROPOSED),
)
periods = st.sampled_from(
    [date(2023, m, 1) for m in range(9, 13)] + [date(2024, m, 1) for m in range(1, 7)]
)
orgs = st.sampled_from(ORGS)
text = st.sampled_from(["a", "reason", "Pilot review"])


def expected_history_is_lawful(events: list[DomainEvent]) -> Stage:
    """Walk the events as an auditor would, asserting each rule; return the stage they imply."""
    first = events[0]
    assert isinstance(first, ev.ProjectProposed)
    measures: set[UUID] = set()
    current: dict[UUID, tuple[UUID, date]] = {}
    recorded_on: dict[UUID, date] = {}
    ghosts: set[UUID] = set()
    pilot_dates: list[date] = []
    adopters: set[UUID] = set()
    partners = dict.fromkeys(first.partner_organisation_ids, first.occurred_on)
    paused = closed = False
    for e in events[1:]:
        assert not closed, "nothing may follow a closure"
        assert e.occurred_on >= first.occurred_on
        if isinstance(e, ev.PilotStarted):
            assert not paused
            pilot_dates.append(e.occurred_on)
        elif isinstance(e, ev.MeasureDefined):
            measures.add(e.measure_id)
        elif isinstance(e, ev.MeasurementRecorded):
            assert e.measure_id in measures
            assert (e.measure_id, e.period) not in current.values()
            current[e.measurement_id] = (e.measure_id, e.period)
            recorded_on[e.measurement_id] = e.occurred_on
        elif isinstance(e, ev.MeasurementsPasted):  # each value as if recorded on its own
            assert e.measure_id in measures
            for v in e.values:
                assert (e.measure_id, v.period) not in current.values()
                current[v.measurement_id] = (e.measure_id, v.period)
                recorded_on[v.measurement_id] = e.occurred_on
        elif isinstance(e, ev.MeasurementCorrected):
            assert e.measurement_id in current
            assert e.occurred_on >= recorded_on[e.measurement_id]
        elif isinstance(e, ev.MeasurementRetracted):
            assert current.pop(e.measurement_id, None) is not None
            assert e.occurred_on >= recorded_on[e.measurement_id]
            ghosts.discard(e.measurement_id)
        elif isinstance(e, ev.MeasurementGhosted):
            assert e.measurement_id in current
            assert e.measurement_id not in ghosts
            ghosts.add(e.measurement_id)
        elif isinstance(e, ev.MeasurementRestored):
            assert e.measurement_id in current
            ghosts.remove(e.measurement_id)
        elif isinstance(e, ev.ProjectAdopted):
            assert pilot_dates
            assert not paused
            assert e.occurred_on >= min(pilot_dates)
            assert e.organisation_id not in adopters
            adopters.add(e.organisation_id)
        elif isinstance(e, ev.OrganisationJoined):
            assert e.organisation_id not in {*partners, first.lead_organisation_id}
            partners[e.organisation_id] = e.occurred_on
        elif isinstance(e, ev.OrganisationLeft):
            assert e.occurred_on >= partners.pop(e.organisation_id)
        elif isinstance(e, ev.ProjectPaused):
            assert not paused
            paused = True
        elif isinstance(e, ev.ProjectResumed):
            assert paused
            paused = False
        elif isinstance(e, ev.ProjectClosed):
            closed = True
    if adopters:
        return Stage.ADOPTED
    if pilot_dates and current:
        return Stage.MEASURED
    return Stage.PILOTED if pilot_dates else Stage.PROPOSED


class ProjectLifecycle(RuleBasedStateMachine):
    """Random command sequences against one project."""

    def __init__(self) -> None:
        super().__init__()
        self.project: Project
        self.events: list[DomainEvent] = []
        self.measure_ids: list[UUID] = []
        self.measurement_ids: list[UUID] = []

    def attempt(self, command: Any) -> Any:
        """Run a command; a refusal must change nothing, an acceptance adds one event."""
        before = self.project.version
        try:
            result = command()
        except errors.DomainError:
            assert self.project.version == before
            assert self.project.collect_events() == []
            return None
        new = list(self.project.collect_events())
        assert len(new) == 1
        assert new[0].originator_version == before + 1
        self.events.extend(new)  # type: ignore[arg-type]
        return result

    @initialize(partners=st.lists(orgs, max_size=2, unique=True))
    def propose(self, partners: list[UUID]) -> None:
        self.project = Project.propose(
            c.ProposeProject(
                occurred_on=PROPOSED,
                title="t",
                problem="p",
                intended_outcomes=["o"],
                cohort_id=uuid4(),
                lead_fellow_id=uuid4(),
                lead_organisation_id=ORGS[0],
                partner_organisation_ids=[o for o in partners if o != ORGS[0]],
            ),
            ACTOR,
        )
        self.events = list(self.project.collect_events())  # type: ignore[arg-type]

    @rule(on=dates)
    def start_pilot(self, on: date) -> None:
        self.attempt(
            lambda: self.project.start_pilot(
                c.StartPilot(occurred_on=on, sites=["s"], scope="x"), ACTOR
            )
        )

    @rule(on=dates, name=st.sampled_from(["LOS", "los", "Rate"]))
    def define_measure(self, on: date, name: str) -> None:
        found = self.attempt(
            lambda: self.project.define_measure(
                c.DefineMeasure(
                    occurred_on=on, name=name, unit="d", direction=ImprovementDirection.DOWN
                ),
                ACTOR,
            )
        )
        if found:
            self.measure_ids.append(found)

    @rule(on=dates, period=periods, value=st.floats(-1e6, 1e6), pick=st.integers(0, 5))
    def record_measurement(self, on: date, period: date, value: float, pick: int) -> None:
        measure_id = self.measure_ids[pick % len(self.measure_ids)] if self.measure_ids else uuid4()
        found = self.attempt(
            lambda: self.project.record_measurement(
                c.RecordMeasurement(
                    occurred_on=on, measure_id=measure_id, period=period, value=value
                ),
                ACTOR,
            )
        )
        if found:
            self.measurement_ids.append(found)

    @rule(
        on=dates,
        first=periods,
        values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=4),
        pick=st.integers(0, 5),
    )
    def paste_measurements(self, on: date, first: date, values: list[float], pick: int) -> None:
        measure_id = self.measure_ids[pick % len(self.measure_ids)] if self.measure_ids else uuid4()
        found = self.attempt(
            lambda: self.project.paste_measurements(
                c.PasteMeasurements(
                    occurred_on=on,
                    measure_id=measure_id,
                    first_period=first,
                    pasted="\n".join(repr(v) for v in values),
                ),
                ACTOR,
            )
        )
        if found:
            assert len(found) == len(values)
            self.measurement_ids.extend(found)

    @rule(on=dates, pick=st.integers(0, 50), value=st.floats(0, 10))
    def correct_measurement(self, on: date, pick: int, value: float) -> None:
        target = (
            self.measurement_ids[pick % len(self.measurement_ids)]
            if self.measurement_ids
            else uuid4()
        )
        self.attempt(
            lambda: self.project.correct_measurement(
                c.CorrectMeasurement(
                    occurred_on=on, measurement_id=target, value=value, reason="r"
                ),
                ACTOR,
            )
        )

    @rule(on=dates, pick=st.integers(0, 50))
    def retract_measurement(self, on: date, pick: int) -> None:
        target = (
            self.measurement_ids[pick % len(self.measurement_ids)]
            if self.measurement_ids
            else uuid4()
        )
        self.attempt(
            lambda: self.project.retract_measurement(
                c.RetractMeasurement(occurred_on=on, measurement_id=target, reason="r"), ACTOR
            )
        )

    @rule(on=dates, pick=st.integers(0, 50), ghosting=st.booleans())
    def ghost_or_restore(self, on: date, pick: int, ghosting: bool) -> None:
        target = (
            self.measurement_ids[pick % len(self.measurement_ids)]
            if self.measurement_ids
            else uuid4()
        )
        if ghosting:
            self.attempt(
                lambda: self.project.ghost_measurement(
                    c.GhostMeasurement(occurred_on=on, measurement_id=target, reason="r"), ACTOR
                )
            )
        else:
            self.attempt(
                lambda: self.project.restore_measurement(
                    c.RestoreMeasurement(occurred_on=on, measurement_id=target), ACTOR
                )
            )

    @rule(on=dates, org=st.sampled_from(ORGS[:2]), scope=st.sampled_from(AdoptionScope))
    def record_adoption(self, on: date, org: UUID, scope: AdoptionScope) -> None:
        self.attempt(
            lambda: self.project.record_adoption(
                c.RecordAdoption(occurred_on=on, organisation_id=org, scope=scope), ACTOR
            )
        )

    @rule(on=dates, org=orgs, joining=st.booleans())
    def change_partners(self, on: date, org: UUID, joining: bool) -> None:
        if joining:
            self.attempt(
                lambda: self.project.join_organisation(
                    c.JoinOrganisation(occurred_on=on, organisation_id=org), ACTOR
                )
            )
        else:
            self.attempt(
                lambda: self.project.leave_organisation(
                    c.LeaveOrganisation(occurred_on=on, organisation_id=org), ACTOR
                )
            )

    @rule(on=dates, pausing=st.booleans())
    def pause_or_resume(self, on: date, pausing: bool) -> None:
        if pausing:
            self.attempt(
                lambda: self.project.pause(c.PauseProject(occurred_on=on, reason="r"), ACTOR)
            )
        else:
            self.attempt(lambda: self.project.resume(c.ResumeProject(occurred_on=on), ACTOR))

    @rule(on=dates, title=text)
    def log_milestone(self, on: date, title: str) -> None:
        self.attempt(
            lambda: self.project.log_milestone(c.LogMilestone(occurred_on=on, title=title), ACTOR)
        )

    @rule(
        on=dates,
        outcome=st.sampled_from([ClosureOutcome.COMPLETED, ClosureOutcome.STOPPED]),
        now=st.integers(0, 7),
    )
    def close(self, on: date, outcome: ClosureOutcome, now: int) -> None:
        if now:  # closing ends the story: keep it rare so long histories get explored
            return
        self.attempt(
            lambda: self.project.close(
                c.CloseProject(occurred_on=on, outcome=outcome, summary="s"), ACTOR
            )
        )

    @invariant()
    def history_is_lawful_and_stage_consistent(self) -> None:
        assert expected_history_is_lawful(self.events) is self.project.stage

    @invariant()
    def replaying_the_stored_events_rebuilds_the_same_state(self) -> None:
        replayed: Project | None = None
        for event in self.events:
            stored = MAPPER.to_domain_event(MAPPER.to_stored_event(event))
            assert stored == event
            replayed = stored.mutate(replayed)
        assert replayed is not None
        assert vars(replayed) | {"_pending_events": []} == vars(self.project) | {
            "_pending_events": []
        }


ProjectLifecycle.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestProjectLifecycle = ProjectLifecycle.TestCase
