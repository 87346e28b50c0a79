"""What fellows, sponsors and admins ask the tracker to do: validated input, one model per command.

Field constraints here are the first line of refusal (a 422 naming the field); business rules that
depend on a project's history live in the aggregates.  The API reuses these models as input
schemas, so their field names and descriptions are written for the people filling them in.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from domain.values import (
    AdoptionScope,
    ClosureOutcome,
    Frequency,
    Immutable,
    ImprovementDirection,
    LongText,
    OdsCode,
    OptionalNote,
    Sector,
    ShortText,
)

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
UserId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


class Command(Immutable):
    """A request to record one or more events, each with the date it took effect."""

    occurred_on: date = Field(description="The date this happened (the effective date).")


class RegisterSystem(Command):
    """Register an integrated care system (ICS) in which cohorts run."""

    name: ShortText
    region: ShortText | None = None


class RegisterOrganisation(Command):
    """Register an organisation taking part in the programme."""

    name: ShortText
    sector: Sector
    system_id: UUID
    ods_code: OdsCode | None = Field(default=None, description="NHS ODS code, if it has one.")


class RenameOrganisation(Command):
    """Record an organisation's new name (mergers and rebrands happen)."""

    name: ShortText


class StartCohort(Command):
    """Start a cohort of a programme in a system."""

    programme: ShortText
    system_id: UUID
    number: Annotated[int, Field(ge=1, le=1000)]
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ends_after_start(self) -> StartCohort:
        if self.ends_on <= self.starts_on:
            msg = "ends_on must be after starts_on"
            raise ValueError(msg)
        return self


class EnrolFellow(Command):
    """Enrol a fellow in a cohort; personal details are kept outside the event store."""

    cohort_id: UUID
    organisation_id: UUID
    role_title: ShortText


class ProposeProject(Command):
    """Propose a system change project."""

    title: ShortText
    problem: LongText = Field(description="The problem the project addresses.")
    intended_outcomes: Annotated[list[LongText], Field(min_length=1, max_length=20)]
    cohort_id: UUID
    lead_fellow_id: UUID
    team_fellow_ids: Annotated[list[UUID], Field(max_length=50)] = []
    lead_organisation_id: UUID
    partner_organisation_ids: Annotated[list[UUID], Field(max_length=100)] = []
    sponsor_id: UserId | None = Field(default=None, description="User id of the sponsor.")


class StartPilot(Command):
    """Start a pilot of the project at one or more sites."""

    sites: Annotated[list[ShortText], Field(min_length=1, max_length=50)]
    scope: LongText


class DefineMeasure(Command):
    """Define a measure the project will track (aggregate outcomes only, never patient data)."""

    name: ShortText
    unit: ShortText = Field(description='For example "days", "% of calls", "per 1,000".')
    direction: ImprovementDirection
    target: FiniteFloat | None = None
    frequency: Frequency = Frequency.MONTHLY


class RecordMeasurement(Command):
    """Record one value of a measure for a period (the period's first day)."""

    measure_id: UUID
    period: date = Field(description="First day of the period the value covers.")
    value: FiniteFloat
    numerator: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    denominator: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    note: OptionalNote = ""


class CorrectMeasurement(Command):
    """Replace a recorded value; the original stays in the history."""

    measurement_id: UUID
    value: FiniteFloat
    numerator: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    denominator: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    reason: LongText


class RetractMeasurement(Command):
    """Withdraw a recorded value that should never have been recorded."""

    measurement_id: UUID
    reason: LongText


class RecordAdoption(Command):
    """Record that an organisation has adopted the project."""

    organisation_id: UUID
    scope: AdoptionScope


class LogMilestone(Command):
    """Log a milestone worth remembering (a board paper, a sign-off, an award)."""

    title: ShortText
    description: OptionalNote = ""
    is_sign_off: bool = False


class JoinOrganisation(Command):
    """Add a partner organisation to the project."""

    organisation_id: UUID


class LeaveOrganisation(Command):
    """Record that a partner organisation has left the project."""

    organisation_id: UUID
    reason: OptionalNote = ""


class AssignSponsor(Command):
    """Assign the project's sponsor."""

    sponsor_id: UserId


class PauseProject(Command):
    """Pause work on the project."""

    reason: LongText


class ResumeProject(Command):
    """Resume a paused project."""


class CloseProject(Command):
    """Close the project: completed, stopped or merged into another."""

    outcome: ClosureOutcome
    summary: LongText
    merged_into: UUID | None = None
