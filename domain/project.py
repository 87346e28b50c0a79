"""The Project aggregate: a system change project and the rules its history must keep."""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate

from domain import commands as c
from domain import errors
from domain import project_events as ev
from domain.periods import UNIT, next_period, period_index, period_start
from domain.project_parts import Adoption, Measure, Measurement, Milestone, Pilot
from domain.stages import derive_stage
from domain.values import Actor, ClosureOutcome, ProjectStatus, Stage, utc_today

MAX_DAYS_AHEAD = 1


def latest_allowed_date() -> date:
    """The latest effective date accepted now: tomorrow in UTC."""
    return utc_today() + timedelta(days=MAX_DAYS_AHEAD)


def check_not_in_future(
    when: date, *, field: str = "occurred_on", latest: date | None = None
) -> None:
    """Refuse a date more than a day ahead of today (UTC): time zones, not time travel.

    ``latest`` lets a command that checks many dates (a pasted column) read the clock once.
    """
    if latest is None:
        latest = latest_allowed_date()
    if when > latest:
        msg = f"The date {when.isoformat()} is in the future; use a date on or before {latest}."
        raise errors.EffectiveDateError(msg, field=field)


class Project(BaseAggregate[UUID]):
    """A system change project run by fellows across organisations.

    Its stage (proposed -> piloted -> measured -> adopted) is derived from its events: piloted
    once a pilot started, measured once it is piloted and has a current (not retracted)
    measurement, adopted once any organisation adopted it.
    """

    def __init__(self) -> None:
        self.title = ""
        self.problem = ""
        self.intended_outcomes: tuple[str, ...] = ()
        self.cohort_id: UUID | None = None
        self.lead_fellow_id: UUID | None = None
        self.team_fellow_ids: set[UUID] = set()
        self.lead_organisation_id: UUID | None = None
        self.partners: dict[UUID, date] = {}  # partner organisation -> date it joined
        self.sponsor_id: str | None = None
        self.proposed_on = date.min
        self.pilots: list[Pilot] = []
        self.measures: dict[UUID, Measure] = {}
        self.measurements: dict[UUID, Measurement] = {}
        # (measure, period index at the measure's frequency) -> its current (not retracted)
        # measurement: the duplicate check of every recorded value, which a pasted column of
        # hundreds would otherwise make slow.  Keyed by the period's index, not its date, so
        # that 15 March and 1 March are the same month (``domain.periods``).
        self.current_by_period: dict[tuple[UUID, int], UUID] = {}
        self.adoptions: dict[UUID, Adoption] = {}
        self.milestones: list[Milestone] = []
        self.status = ProjectStatus.ACTIVE
        self.outcome: ClosureOutcome | None = None
        self.closed_on: date | None = None

    # Every attribute that holds something mutable, and how a copy gets its own.
    MUTABLE_ATTRIBUTES: ClassVar[frozenset[str]] = frozenset(
        {
            "team_fellow_ids",
            "partners",
            "pilots",
            "measures",
            "measurements",
            "current_by_period",
            "adoptions",
            "milestones",
            "_pending_events",
        }
    )

    def __deepcopy__(self, memo: dict[int, object]) -> Project:
        """An independent copy that shares the parts and copies only the containers.

        The event store's cache hands each command its own copy of the project, so that a
        refused command cannot leave half-applied changes behind.  Pilots, measures,
        measurements, adoptions and milestones are frozen values that events replace rather
        than edit (``domain.project_parts``), so new containers holding the same parts give
        the same independence as ``copy.deepcopy`` at a small fraction of its cost (copying
        each part was most of a command for a project with many measurements).
        ``MUTABLE_ATTRIBUTES`` is checked by a test against a real project.
        """
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.team_fellow_ids = set(self.team_fellow_ids)
        clone.partners = dict(self.partners)
        clone.pilots = list(self.pilots)
        clone.measures = dict(self.measures)
        clone.measurements = dict(self.measurements)
        clone.current_by_period = dict(self.current_by_period)
        clone.adoptions = dict(self.adoptions)
        clone.milestones = list(self.milestones)
        clone.__dict__["_pending_events"] = list(self.__dict__.get("_pending_events", []))
        memo[id(self)] = clone
        return clone

    # -- derived state -------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        """The furthest stage the project's events support (see ``domain.stages``)."""
        return derive_stage(
            pilots=len(self.pilots),
            current_measurements=sum(not m.retracted for m in self.measurements.values()),
            adoptions=len(self.adoptions),
        )

    @property
    def partner_organisation_ids(self) -> set[UUID]:
        """The organisations partnering now (besides the lead)."""
        return set(self.partners)

    @property
    def member_fellow_ids(self) -> set[UUID]:
        """The lead fellow and the team: the fellows who may write to the project."""
        lead = {self.lead_fellow_id} if self.lead_fellow_id else set()
        return lead | self.team_fellow_ids

    # -- commands ------------------------------------------------------------------------

    @classmethod
    def propose(cls, command: c.ProposeProject, actor: Actor) -> Project:
        """Create a project from its proposal."""
        check_not_in_future(command.occurred_on)
        if command.lead_organisation_id in command.partner_organisation_ids:
            msg = "The lead organisation is already a partner; list it only as the lead."
            raise errors.MembershipError(msg, field="partner_organisation_ids")
        return cls._create(
            ev.ProjectProposed,
            id=uuid4(),
            actor=actor,
            occurred_on=command.occurred_on,
            title=command.title,
            problem=command.problem,
            intended_outcomes=list(command.intended_outcomes),
            cohort_id=command.cohort_id,
            lead_fellow_id=command.lead_fellow_id,
            team_fellow_ids=sorted(set(command.team_fellow_ids) - {command.lead_fellow_id}),
            lead_organisation_id=command.lead_organisation_id,
            partner_organisation_ids=sorted(set(command.partner_organisation_ids)),
            sponsor_id=command.sponsor_id,
        )

    def start_pilot(self, command: c.StartPilot, actor: Actor) -> None:
        """Start a pilot; refused while paused."""
        self._check_open(command)
        self._check_not_paused("start a pilot")
        self.trigger_event(
            ev.PilotStarted,
            actor=actor,
            occurred_on=command.occurred_on,
            sites=list(command.sites),
            scope=command.scope,
        )

    def define_measure(self, command: c.DefineMeasure, actor: Actor) -> UUID:
        """Define a measure; names are unique within the project (case-insensitive)."""
        self._check_open(command)
        wanted = command.name.casefold()
        if any(m.name.casefold() == wanted for m in self.measures.values()):
            msg = f'This project already has a measure called "{command.name}".'
            raise errors.DuplicateMeasureError(msg, field="name")
        measure_id = uuid4()
        self.trigger_event(
            ev.MeasureDefined,
            actor=actor,
            occurred_on=command.occurred_on,
            measure_id=measure_id,
            name=command.name,
            unit=command.unit,
            direction=command.direction,
            target=command.target,
            frequency=command.frequency,
        )
        return measure_id

    def record_measurement(self, command: c.RecordMeasurement, actor: Actor) -> UUID:
        """Record a value of a defined measure for a period that has no current value yet."""
        self._check_open(command)
        measure = self._defined_measure(command.measure_id)
        check_not_in_future(command.period, field="period")
        _check_period_start(measure, command.period, field="period")
        _check_ratio(command.numerator, command.denominator)
        self._check_period_free(measure, command.period)
        measurement_id = uuid4()
        self.trigger_event(
            ev.MeasurementRecorded,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=measurement_id,
            measure_id=command.measure_id,
            period=command.period,
            value=command.value,
            numerator=command.numerator,
            denominator=command.denominator,
            note=command.note,
        )
        return measurement_id

    def paste_measurements(self, command: c.PasteMeasurements, actor: Actor) -> list[UUID]:
        """Record a pasted column, one period after another, as one event; a refusal names the row.

        Each value meets the rules of ``record_measurement``, with its refusals' messages
        prefixed by the row and period.  What is the same for every row (the project is open,
        the effective date, the clock) is checked once, before any row, and names its field;
        the row's own checks (its period at the start of a period and not in the future, no
        current value in its period) run per row.  A period before the proposal is allowed, as
        in ``record_measurement``: Making Data Count judges a change against a baseline of the
        values before it, which a new project takes from the months before it was proposed.
        A pasted value has no numerator, denominator or note, and ``PasteMeasurements`` already
        refused any value that is not a finite number.

        Every row is checked before the one ``MeasurementsPasted`` event is triggered, so a
        refused row records nothing: all or nothing.  The rows' periods follow one another, so
        no two rows can share a period and each row is checked against the project as it was.
        Only the first row's period can fail to start a period: ``next_period`` gives starts.
        The measurement ids come from one read of randomness (``_random_ids``), and the values
        go to the event as plain dicts: pydantic validates them into ``PastedValue`` models in
        one call into its core, faster than building each model in Python (``model_construct``
        included), and still checked.  Returns the new measurements' ids, in row order.
        """
        measure = self._defined_measure(command.measure_id)
        self._check_open(command)
        latest = latest_allowed_date()
        frequency = measure.frequency
        taken = self.current_by_period
        period = command.first_period
        index = period_index(period, frequency)  # each next period's is one more
        parsed = c.parse_pasted(command.pasted)
        ids = _random_ids(len(parsed))
        values: list[dict[str, object]] = []
        for (row, value), measurement_id in zip(parsed, ids, strict=True):
            try:
                if not values:  # ``next_period`` gives starts, so only the first can be inside one
                    _check_period_start(measure, period, field="first_period")
                if period > latest:  # (compared here: a call per row showed in a paste's cost)
                    check_not_in_future(period, field="period", latest=latest)
                if (measure.measure_id, index) in taken:
                    self._check_period_free(measure, period)  # refuses, naming the value held
            except errors.DomainError as refused:
                msg = f"Row {row} ({period.isoformat()}): {refused.message}"
                moved = isinstance(refused, errors.PeriodStartError)
                raise type(refused)(msg, field="first_period" if moved else "pasted") from None
            values.append({"measurement_id": measurement_id, "period": period, "value": value})
            period = next_period(period, frequency)
            index += 1
        self.trigger_event(
            ev.MeasurementsPasted,
            actor=actor,
            occurred_on=command.occurred_on,
            measure_id=command.measure_id,
            values=values,
        )
        return ids

    def correct_measurement(self, command: c.CorrectMeasurement, actor: Actor) -> None:
        """Replace a current measurement's value, giving a reason."""
        self._check_open(command)
        self._current_measurement(command.measurement_id, command.occurred_on)
        _check_ratio(command.numerator, command.denominator)
        self.trigger_event(
            ev.MeasurementCorrected,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=command.measurement_id,
            value=command.value,
            numerator=command.numerator,
            denominator=command.denominator,
            reason=command.reason,
        )

    def retract_measurement(self, command: c.RetractMeasurement, actor: Actor) -> None:
        """Withdraw a current measurement, giving a reason."""
        self._check_open(command)
        self._current_measurement(command.measurement_id, command.occurred_on)
        self.trigger_event(
            ev.MeasurementRetracted,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=command.measurement_id,
            reason=command.reason,
        )

    def ghost_measurement(self, command: c.GhostMeasurement, actor: Actor) -> None:
        """Leave a current value out of the chart's calculations, with a reason."""
        self._check_open(command)
        measurement = self._current_measurement(command.measurement_id, command.occurred_on)
        if measurement.ghosted:
            msg = "That measurement is already ghosted."
            raise errors.ChartSettingError(msg, field="measurement_id")
        self.trigger_event(
            ev.MeasurementGhosted,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=command.measurement_id,
            reason=command.reason,
        )

    def restore_measurement(self, command: c.RestoreMeasurement, actor: Actor) -> None:
        """Bring a ghosted value back into the calculations."""
        self._check_open(command)
        measurement = self._current_measurement(command.measurement_id, command.occurred_on)
        if not measurement.ghosted:
            msg = "That measurement is not ghosted."
            raise errors.ChartSettingError(msg, field="measurement_id")
        self.trigger_event(
            ev.MeasurementRestored,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=command.measurement_id,
        )

    def flag_astronomical(self, command: c.FlagAstronomical, actor: Actor) -> None:
        """Flag a current value as astronomical (a run chart's signal), with a reason."""
        self._check_open(command)
        measurement = self._current_measurement(command.measurement_id, command.occurred_on)
        if measurement.astronomical:
            msg = "That measurement is already flagged as astronomical."
            raise errors.ChartSettingError(msg, field="measurement_id")
        self.trigger_event(
            ev.MeasurementFlaggedAstronomical,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=command.measurement_id,
            reason=command.reason,
        )

    def unflag_astronomical(self, command: c.UnflagAstronomical, actor: Actor) -> None:
        """Take the astronomical flag off a value."""
        self._check_open(command)
        measurement = self._current_measurement(command.measurement_id, command.occurred_on)
        if not measurement.astronomical:
            msg = "That measurement is not flagged as astronomical."
            raise errors.ChartSettingError(msg, field="measurement_id")
        self.trigger_event(
            ev.MeasurementUnflaggedAstronomical,
            actor=actor,
            occurred_on=command.occurred_on,
            measurement_id=command.measurement_id,
        )

    def set_baseline(self, command: c.SetBaseline, actor: Actor) -> None:
        """Fix the measure's limits on its first values; refused if already that baseline."""
        self._check_open(command)
        measure = self._defined_measure(command.measure_id)
        if measure.baseline_points == command.points:
            msg = f"The baseline is already the first {command.points} points."
            raise errors.ChartSettingError(msg, field="points")
        self.trigger_event(
            ev.BaselineSet,
            actor=actor,
            occurred_on=command.occurred_on,
            measure_id=command.measure_id,
            points=command.points,
            reason=command.reason,
        )

    def clear_baseline(self, command: c.ClearBaseline, actor: Actor) -> None:
        """Calculate the limits from all values again; refused if there is no baseline."""
        self._check_open(command)
        measure = self._defined_measure(command.measure_id)
        if measure.baseline_points is None:
            msg = "This measure has no baseline to clear."
            raise errors.ChartSettingError(msg, field="measure_id")
        self.trigger_event(
            ev.BaselineCleared,
            actor=actor,
            occurred_on=command.occurred_on,
            measure_id=command.measure_id,
        )

    def mark_recalculation(self, command: c.MarkRecalculation, actor: Actor) -> None:
        """Recalculate a measure's limits from a period not already marked."""
        self._check_open(command)
        measure = self._defined_measure(command.measure_id)
        wanted = period_index(command.from_period, measure.frequency)
        marked = [
            d for d in measure.recalculate_from if period_index(d, measure.frequency) == wanted
        ]
        if marked:
            unit = UNIT[measure.frequency]
            msg = (
                f"Limits are already recalculated from the {unit} of {command.from_period}"
                f" (marked at {marked[0].isoformat()})."
            )
            raise errors.ChartSettingError(msg, field="from_period")
        self.trigger_event(
            ev.RecalculationMarked,
            actor=actor,
            occurred_on=command.occurred_on,
            measure_id=command.measure_id,
            from_period=command.from_period,
            reason=command.reason,
        )

    def remove_recalculation(self, command: c.RemoveRecalculation, actor: Actor) -> None:
        """Remove a recalculation point the measure has, named by any day of its period.

        Marks are compared by period (``mark_recalculation``), so removing one is too; the
        event records the mark as it was stored, which is what the views and charts hold.
        """
        self._check_open(command)
        measure = self._defined_measure(command.measure_id)
        wanted = period_index(command.from_period, measure.frequency)
        marked = sorted(
            d for d in measure.recalculate_from if period_index(d, measure.frequency) == wanted
        )
        if command.from_period in marked:  # two marks in one period, stored before the rule
            marked = [command.from_period]
        if not marked:
            unit = UNIT[measure.frequency]
            msg = (
                f"Limits are not recalculated from the {unit} of {command.from_period.isoformat()}."
            )
            raise errors.ChartSettingError(msg, field="from_period")
        self.trigger_event(
            ev.RecalculationRemoved,
            actor=actor,
            occurred_on=command.occurred_on,
            measure_id=command.measure_id,
            from_period=marked[0],
        )

    def record_adoption(self, command: c.RecordAdoption, actor: Actor) -> None:
        """Record adoption by an organisation: after a pilot, once per organisation."""
        self._check_open(command)
        self._check_not_paused("record an adoption")
        if not self.pilots:
            msg = "A project can only be adopted after a pilot has started."
            raise errors.AdoptionBeforePilotError(msg)
        first_pilot = min(p.started_on for p in self.pilots)
        if command.occurred_on < first_pilot:
            msg = f"Adoption can't take effect before the first pilot started ({first_pilot})."
            raise errors.AdoptionBeforePilotError(msg, field="occurred_on")
        if command.organisation_id in self.adoptions:
            msg = "This organisation has already adopted the project."
            raise errors.AlreadyAdoptedError(msg, field="organisation_id")
        self.trigger_event(
            ev.ProjectAdopted,
            actor=actor,
            occurred_on=command.occurred_on,
            organisation_id=command.organisation_id,
            scope=command.scope,
        )

    def log_milestone(self, command: c.LogMilestone, actor: Actor) -> None:
        """Log a milestone."""
        self._check_open(command)
        self.trigger_event(
            ev.MilestoneLogged,
            actor=actor,
            occurred_on=command.occurred_on,
            title=command.title,
            description=command.description,
            is_sign_off=command.is_sign_off,
        )

    def join_organisation(self, command: c.JoinOrganisation, actor: Actor) -> None:
        """Add a partner organisation that is not already involved."""
        self._check_open(command)
        if (
            command.organisation_id in self.partner_organisation_ids
            or command.organisation_id == self.lead_organisation_id
        ):
            msg = "This organisation is already part of the project."
            raise errors.MembershipError(msg, field="organisation_id")
        self.trigger_event(
            ev.OrganisationJoined,
            actor=actor,
            occurred_on=command.occurred_on,
            organisation_id=command.organisation_id,
        )

    def leave_organisation(self, command: c.LeaveOrganisation, actor: Actor) -> None:
        """Record a partner organisation leaving; the lead organisation can't leave."""
        self._check_open(command)
        if command.organisation_id == self.lead_organisation_id:
            msg = "The lead organisation can't leave its own project."
            raise errors.MembershipError(msg, field="organisation_id")
        if command.organisation_id not in self.partners:
            msg = "This organisation is not a partner in the project."
            raise errors.MembershipError(msg, field="organisation_id")
        joined = self.partners[command.organisation_id]
        if command.occurred_on < joined:
            msg = f"The organisation can't leave before it joined ({joined.isoformat()})."
            raise errors.EffectiveDateError(msg, field="occurred_on")
        self.trigger_event(
            ev.OrganisationLeft,
            actor=actor,
            occurred_on=command.occurred_on,
            organisation_id=command.organisation_id,
            reason=command.reason,
        )

    def assign_sponsor(self, command: c.AssignSponsor, actor: Actor) -> None:
        """Assign a sponsor other than the current one."""
        self._check_open(command)
        if command.sponsor_id == self.sponsor_id:
            msg = "That person is already the project's sponsor."
            raise errors.SponsorUnchangedError(msg, field="sponsor_id")
        self.trigger_event(
            ev.SponsorAssigned,
            actor=actor,
            occurred_on=command.occurred_on,
            sponsor_id=command.sponsor_id,
        )

    def pause(self, command: c.PauseProject, actor: Actor) -> None:
        """Pause an active project."""
        self._check_open(command)
        if self.status is ProjectStatus.PAUSED:
            msg = "The project is already paused."
            raise errors.PauseStateError(msg)
        self.trigger_event(
            ev.ProjectPaused, actor=actor, occurred_on=command.occurred_on, reason=command.reason
        )

    def resume(self, command: c.ResumeProject, actor: Actor) -> None:
        """Resume a paused project."""
        self._check_open(command)
        if self.status is not ProjectStatus.PAUSED:
            msg = "The project is not paused, so it can't be resumed."
            raise errors.PauseStateError(msg)
        self.trigger_event(ev.ProjectResumed, actor=actor, occurred_on=command.occurred_on)

    def close(self, command: c.CloseProject, actor: Actor) -> None:
        """Close the project; a merge names the project it merged into (not itself)."""
        self._check_open(command)
        if command.outcome is ClosureOutcome.MERGED and command.merged_into is None:
            msg = "Say which project this one merged into."
            raise errors.ClosureError(msg, field="merged_into")
        if command.outcome is not ClosureOutcome.MERGED and command.merged_into is not None:
            msg = "Only a merged project names a project it merged into."
            raise errors.ClosureError(msg, field="merged_into")
        if command.merged_into == self.id:
            msg = "A project can't merge into itself."
            raise errors.ClosureError(msg, field="merged_into")
        self.trigger_event(
            ev.ProjectClosed,
            actor=actor,
            occurred_on=command.occurred_on,
            outcome=command.outcome,
            summary=command.summary,
            merged_into=command.merged_into,
        )

    # -- rules shared by the commands ----------------------------------------------------

    def _check_open(self, command: c.Command) -> None:
        if self.status is ProjectStatus.CLOSED:
            msg = "The project is closed; it can't be changed."
            raise errors.ProjectClosedError(msg)
        check_not_in_future(command.occurred_on)
        if command.occurred_on < self.proposed_on:
            msg = (
                f"The date {command.occurred_on.isoformat()} is before the project was "
                f"proposed ({self.proposed_on.isoformat()})."
            )
            raise errors.EffectiveDateError(msg, field="occurred_on")

    def _check_not_paused(self, action: str) -> None:
        if self.status is ProjectStatus.PAUSED:
            msg = f"The project is paused; resume it to {action}."
            raise errors.ProjectPausedError(msg)

    def _check_period_free(self, measure: Measure, period: date) -> None:
        """One current value per period: compared by period, so 1 and 15 March clash."""
        key = (measure.measure_id, period_index(period, measure.frequency))
        existing = self.current_by_period.get(key)
        if existing is not None:
            held = self.measurements[existing].period
            unit = UNIT[measure.frequency]
            same = "" if held == period else f" (recorded for {held.isoformat()})"
            msg = (
                f'"{measure.name}" already has a value for the {unit} of {period.isoformat()}'
                f"{same}; correct that measurement instead."
            )
            raise errors.DuplicateMeasurementError(msg, field="period")

    def _defined_measure(self, measure_id: UUID) -> Measure:
        measure = self.measures.get(measure_id)
        if measure is None:
            msg = "Define the measure before recording measurements or chart settings for it."
            raise errors.MeasureNotDefinedError(msg, field="measure_id")
        return measure

    def _current_measurement(self, measurement_id: UUID, changed_on: date) -> Measurement:
        measurement = self.measurements.get(measurement_id)
        if measurement is None:
            msg = "There is no such measurement in this project."
            raise errors.MeasurementNotFoundError(msg, field="measurement_id")
        if measurement.retracted:
            msg = "That measurement was retracted; record a new one instead."
            raise errors.MeasurementRetractedError(msg, field="measurement_id")
        if changed_on < measurement.recorded_on:
            msg = (
                "A change to a measurement can't take effect before it was recorded "
                f"({measurement.recorded_on.isoformat()})."
            )
            raise errors.EffectiveDateError(msg, field="occurred_on")
        return measurement


# The version (4: random) and variant (RFC 4122) bits of a random UUID, as ``UUID(version=4)``
# sets them: the bits to clear, and the bits to set.
_V4_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_V4_SET = (0x4 << 76) | (0x2 << 62)


def _random_ids(count: int) -> list[UUID]:
    """``count`` random (version 4) UUIDs, like ``uuid4``'s, from one read of randomness.

    ``uuid4`` reads 16 bytes from the operating system per id and has ``UUID`` convert them and
    set the version; a pasted column needs hundreds, and one read with the bits set here as
    integers took a quarter off the cost of each id.  A test checks version and variant.
    """
    raw = os.urandom(16 * count)
    as_int = int.from_bytes
    return [
        UUID(int=as_int(raw[start : start + 16]) & _V4_CLEAR | _V4_SET)
        for start in range(0, 16 * count, 16)
    ]


def _check_period_start(measure: Measure, period: date, *, field: str) -> None:
    """A value is recorded against the first day of its period, never a day inside it.

    Refused rather than moved: the event keeps exactly the date the fellow gave, and a date
    inside a period is ambiguous (a month-end date may label that month or the next), so the
    fellow says which period they mean.  Events recorded before this rule replay unchanged;
    their periods are compared by ``period_index`` all the same.
    """
    start = period_start(period, measure.frequency)
    if period != start:
        unit = UNIT[measure.frequency]
        first = {"day": "day", "week": "Monday", "month": "first day", "quarter": "first day"}
        msg = (
            f"{period.isoformat()} is not the start of a {unit}: a {measure.frequency.value} "
            f"measure's value is recorded against the {first[unit]} of its {unit} "
            f"({start.isoformat()} for this one)."
        )
        raise errors.PeriodStartError(msg, field=field)


def _check_ratio(numerator: float | None, denominator: float | None) -> None:
    if (numerator is None) != (denominator is None):
        msg = "Give both a numerator and a denominator, or neither."
        field = "denominator" if denominator is None else "numerator"
        raise errors.InvalidMeasurementError(msg, field=field)
