"""The events of a Project's stream, each applying itself to the aggregate's state.

Rules are checked in ``domain.project.Project`` before an event is triggered; ``apply`` only
evolves state, so replaying an old stream never re-judges what was accepted when it was recorded.
Parts of a project are frozen values that ``apply`` replaces, never edits: copies of a project
share them (see ``domain.project_parts``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.events import AggregateCreated, DomainEvent
from domain.periods import period_index
from domain.project_parts import Adoption, Measure, Measurement, Milestone, Pilot
from domain.values import (
    AdoptionScope,
    ClosureOutcome,
    Frequency,
    ImprovementDirection,
    ProjectStatus,
)

if TYPE_CHECKING:
    from domain.project import Project

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class ProjectProposed(AggregateCreated):
    """A fellow proposed a system change project."""

    title: str
    problem: str
    intended_outcomes: list[str]
    cohort_id: UUID
    lead_fellow_id: UUID
    team_fellow_ids: list[UUID]
    lead_organisation_id: UUID
    partner_organisation_ids: list[UUID]
    sponsor_id: str | None

    def apply(self, aggregate: Project) -> None:
        """Set the project's initial state."""
        aggregate.title = self.title
        aggregate.problem = self.problem
        aggregate.intended_outcomes = tuple(self.intended_outcomes)
        aggregate.cohort_id = self.cohort_id
        aggregate.lead_fellow_id = self.lead_fellow_id
        aggregate.team_fellow_ids = set(self.team_fellow_ids)
        aggregate.lead_organisation_id = self.lead_organisation_id
        aggregate.partners = dict.fromkeys(self.partner_organisation_ids, self.occurred_on)
        aggregate.sponsor_id = self.sponsor_id
        aggregate.proposed_on = self.occurred_on


class PilotStarted(DomainEvent):
    """A pilot of the project started."""

    sites: list[str]
    scope: str

    def apply(self, aggregate: Project) -> None:
        """Add the pilot."""
        aggregate.pilots.append(Pilot(tuple(self.sites), self.scope, self.occurred_on))


class MeasureDefined(DomainEvent):
    """The project defined a measure to track."""

    measure_id: UUID
    name: str
    unit: str
    direction: ImprovementDirection
    target: FiniteFloat | None
    frequency: Frequency

    def apply(self, aggregate: Project) -> None:
        """Add the measure."""
        aggregate.measures[self.measure_id] = Measure(
            self.measure_id,
            self.name,
            self.unit,
            self.direction,
            self.target,
            self.frequency,
            self.occurred_on,
        )


class MeasurementRecorded(DomainEvent):
    """A value of a measure was recorded for a period.

    Version 2 added ``numerator``, ``denominator`` and ``note``; version 1 events are upcast
    with none of them.
    """

    class_version = 2

    measurement_id: UUID
    measure_id: UUID
    period: date
    value: FiniteFloat
    numerator: FiniteFloat | None
    denominator: FiniteFloat | None
    note: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 had no numerator, denominator or note."""
        state["numerator"] = None
        state["denominator"] = None
        state["note"] = ""

    def apply(self, aggregate: Project) -> None:
        """Add the measurement."""
        aggregate.measurements[self.measurement_id] = Measurement(
            measurement_id=self.measurement_id,
            measure_id=self.measure_id,
            period=self.period,
            value=self.value,
            numerator=self.numerator,
            denominator=self.denominator,
            note=self.note,
            recorded_on=self.occurred_on,
        )
        frequency = aggregate.measures[self.measure_id].frequency
        key = (self.measure_id, period_index(self.period, frequency))
        aggregate.current_by_period[key] = self.measurement_id


class PastedValue(BaseModel):
    """One value of a pasted column.

    It has its own measurement id, so it is corrected, retracted, ghosted or flagged on its own
    like any recorded value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    measurement_id: UUID
    period: date
    value: FiniteFloat


class MeasurementsPasted(DomainEvent):
    """A column of values of one measure was pasted, one period after another, in one act.

    One event rather than one ``MeasurementRecorded`` per value: the fellow did one thing
    ("pasted 24 monthly values"), the audit view shows it as one entry, and recording it costs
    one event instead of hundreds.  Each value is added exactly as ``MeasurementRecorded`` adds
    its measurement (no numerator, denominator or note).  Pastes recorded before this event
    existed are ``MeasurementRecorded`` events and replay as they are.
    """

    measure_id: UUID
    values: Annotated[tuple[PastedValue, ...], Field(min_length=1)]

    def apply(self, aggregate: Project) -> None:
        """Add each value's measurement and make it its period's current value.

        Each ``Measurement`` is the first value's, built by its constructor, with its own id,
        period and value put in its fields (``_like``): the frozen dataclass's ``__init__``
        sets its 13 fields one ``object.__setattr__`` at a time, and for hundreds of values
        that was a fifth of a paste.  A test checks the result equals constructed ones.
        """
        measure_id = self.measure_id
        frequency = aggregate.measures[measure_id].frequency
        measurements = aggregate.measurements
        current = aggregate.current_by_period
        first = self.values[0]
        template = Measurement(
            measurement_id=first.measurement_id,
            measure_id=measure_id,
            period=first.period,
            value=first.value,
            numerator=None,
            denominator=None,
            note="",
            recorded_on=self.occurred_on,
        )
        for pasted in self.values:
            measurement_id, period = pasted.measurement_id, pasted.period
            measurements[measurement_id] = _like(template, measurement_id, period, pasted.value)
            current[(measure_id, period_index(period, frequency))] = measurement_id


_new_object = object.__new__


def _like(template: Measurement, measurement_id: UUID, period: date, value: float) -> Measurement:
    """A measurement with the template's fields but this id, period and value.

    The same as ``dataclasses.replace(template, ...)``, without its ``__init__``: the fields
    go straight into the new instance's ``__dict__`` (a frozen dataclass forbids only
    ``setattr``), so it has no ``__post_init__`` to skip and no field left unset.
    """
    made = _new_object(Measurement)
    fields = made.__dict__
    fields.update(template.__dict__)
    fields["measurement_id"] = measurement_id
    fields["period"] = period
    fields["value"] = value
    return made


class MeasurementCorrected(DomainEvent):
    """A recorded value was replaced; the original remains in the history."""

    measurement_id: UUID
    value: FiniteFloat
    numerator: FiniteFloat | None
    denominator: FiniteFloat | None
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Replace the measurement's current value."""
        measurement = aggregate.measurements[self.measurement_id]
        aggregate.measurements[self.measurement_id] = replace(
            measurement,
            history=(*measurement.history, measurement.value),
            value=self.value,
            numerator=self.numerator,
            denominator=self.denominator,
            corrections=measurement.corrections + 1,
        )


class MeasurementRetracted(DomainEvent):
    """A recorded value was withdrawn."""

    measurement_id: UUID
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Mark the measurement retracted: its period is free for a new value."""
        measurement = aggregate.measurements[self.measurement_id]
        aggregate.measurements[self.measurement_id] = replace(measurement, retracted=True)
        frequency = aggregate.measures[measurement.measure_id].frequency
        key = (measurement.measure_id, period_index(measurement.period, frequency))
        if aggregate.current_by_period.get(key) == self.measurement_id:
            del aggregate.current_by_period[key]


class ProjectAdopted(DomainEvent):
    """An organisation adopted the project."""

    organisation_id: UUID
    scope: AdoptionScope

    def apply(self, aggregate: Project) -> None:
        """Add the adoption."""
        aggregate.adoptions[self.organisation_id] = Adoption(
            self.organisation_id, self.scope, self.occurred_on
        )


class MilestoneLogged(DomainEvent):
    """A milestone was logged."""

    title: str
    description: str
    is_sign_off: bool

    def apply(self, aggregate: Project) -> None:
        """Add the milestone."""
        aggregate.milestones.append(
            Milestone(self.title, self.description, self.is_sign_off, self.occurred_on)
        )


class OrganisationJoined(DomainEvent):
    """A partner organisation joined the project."""

    organisation_id: UUID

    def apply(self, aggregate: Project) -> None:
        """Add the partner."""
        aggregate.partners[self.organisation_id] = self.occurred_on


class OrganisationLeft(DomainEvent):
    """A partner organisation left the project."""

    organisation_id: UUID
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Remove the partner."""
        aggregate.partners.pop(self.organisation_id, None)


class SponsorAssigned(DomainEvent):
    """The project's sponsor was assigned or changed."""

    sponsor_id: str

    def apply(self, aggregate: Project) -> None:
        """Set the sponsor."""
        aggregate.sponsor_id = self.sponsor_id


class ProjectPaused(DomainEvent):
    """Work on the project was paused."""

    reason: str

    def apply(self, aggregate: Project) -> None:
        """Mark the project paused."""
        aggregate.status = ProjectStatus.PAUSED


class ProjectResumed(DomainEvent):
    """Work on a paused project resumed."""

    def apply(self, aggregate: Project) -> None:
        """Mark the project active."""
        aggregate.status = ProjectStatus.ACTIVE


class ProjectClosed(DomainEvent):
    """The project was closed."""

    outcome: ClosureOutcome
    summary: str
    merged_into: UUID | None

    def apply(self, aggregate: Project) -> None:
        """Mark the project closed."""
        aggregate.status = ProjectStatus.CLOSED
        aggregate.outcome = self.outcome
        aggregate.closed_on = self.occurred_on


class MeasurementGhosted(DomainEvent):
    """A value is shown on its chart but left out of the calculations."""

    measurement_id: UUID
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Mark the measurement ghosted."""
        measurement = aggregate.measurements[self.measurement_id]
        aggregate.measurements[self.measurement_id] = replace(measurement, ghosted=True)


class MeasurementRestored(DomainEvent):
    """A ghosted value is back in the calculations."""

    measurement_id: UUID

    def apply(self, aggregate: Project) -> None:
        """Clear the ghost mark."""
        measurement = aggregate.measurements[self.measurement_id]
        aggregate.measurements[self.measurement_id] = replace(measurement, ghosted=False)


class RecalculationMarked(DomainEvent):
    """A measure's limits are recalculated from a period."""

    measure_id: UUID
    from_period: date
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Add the recalculation point."""
        measure = aggregate.measures[self.measure_id]
        aggregate.measures[self.measure_id] = replace(
            measure, recalculate_from=measure.recalculate_from | {self.from_period}
        )


class RecalculationRemoved(DomainEvent):
    """A recalculation point was removed."""

    measure_id: UUID
    from_period: date

    def apply(self, aggregate: Project) -> None:
        """Remove the recalculation point."""
        measure = aggregate.measures[self.measure_id]
        aggregate.measures[self.measure_id] = replace(
            measure, recalculate_from=measure.recalculate_from - {self.from_period}
        )


class MeasurementFlaggedAstronomical(DomainEvent):
    """The analyst judged a value obviously different from the rest (a run chart's signal)."""

    measurement_id: UUID
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Flag the measurement astronomical."""
        measurement = aggregate.measurements[self.measurement_id]
        aggregate.measurements[self.measurement_id] = replace(measurement, astronomical=True)


class MeasurementUnflaggedAstronomical(DomainEvent):
    """An astronomical flag was taken off a value."""

    measurement_id: UUID

    def apply(self, aggregate: Project) -> None:
        """Clear the astronomical flag."""
        measurement = aggregate.measurements[self.measurement_id]
        aggregate.measurements[self.measurement_id] = replace(measurement, astronomical=False)


class BaselineSet(DomainEvent):
    """A measure's limits are fixed on the first ``points`` values of each phase, then extended."""

    measure_id: UUID
    points: Annotated[int, Field(ge=2, le=1000)]
    reason: str

    def apply(self, aggregate: Project) -> None:
        """Set the baseline."""
        measure = aggregate.measures[self.measure_id]
        aggregate.measures[self.measure_id] = replace(measure, baseline_points=self.points)


class BaselineCleared(DomainEvent):
    """A measure's limits are calculated from all of each phase's values again."""

    measure_id: UUID

    def apply(self, aggregate: Project) -> None:
        """Clear the baseline."""
        measure = aggregate.measures[self.measure_id]
        aggregate.measures[self.measure_id] = replace(measure, baseline_points=None)
