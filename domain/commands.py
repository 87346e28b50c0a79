"""What fellows, sponsors and admins ask the tracker to do: validated input, one model per command.

Field constraints here are the first line of refusal (a 422 naming the field); business rules that
depend on a project's history live in the aggregates.  The API reuses these models as input
schemas, so their field names and descriptions are written for the people filling them in.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator

from domain.values import (
    AdoptionScope,
    ClosureOutcome,
    EmailAddress,
    Frequency,
    Immutable,
    ImprovementDirection,
    LongText,
    OdsCode,
    OptionalNote,
    PersonName,
    Sector,
    ShortText,
)

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
UserId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


class Command(Immutable):
    """A request to record one or more events, each with the date it took effect."""

    # Fields holding a person's details in plain text: the application seals them before any
    # event is built and leaves them out of everything it keeps (such as idempotency records).
    personal_fields: ClassVar[frozenset[str]] = frozenset()

    occurred_on: date = Field(description="The date this happened (the effective date).")


class RegisterSystem(Command):
    """Register an integrated care system (ICS) in which cohorts run."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-04-01",
                    "name": "Northshire and Dale ICS",
                    "region": "North East and Yorkshire",
                }
            ]
        }
    )

    name: ShortText
    region: ShortText | None = None


class RegisterOrganisation(Command):
    """Register an organisation taking part in the programme."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-04-01",
                    "name": "Dale Valley Hospitals NHS Trust",
                    "sector": "acute",
                    "system_id": "0b6f2c1e-5d0a-4f5e-9a1b-2c3d4e5f6a7b",
                    "ods_code": "RX2",
                }
            ]
        }
    )

    name: ShortText
    sector: Sector
    system_id: UUID
    ods_code: OdsCode | None = Field(default=None, description="NHS ODS code, if it has one.")


class RenameOrganisation(Command):
    """Record an organisation's new name (mergers and rebrands happen)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"occurred_on": "2025-10-01", "name": "Dale Valley University Hospitals NHS Trust"}
            ]
        }
    )

    name: ShortText


class StartCohort(Command):
    """Start a cohort of a programme in a system."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-03-01",
                    "programme": "Northshire 20/20",
                    "system_id": "0b6f2c1e-5d0a-4f5e-9a1b-2c3d4e5f6a7b",
                    "number": 6,
                    "starts_on": "2025-04-07",
                    "ends_on": "2025-10-06",
                }
            ]
        }
    )

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
    """Enrol a fellow in a cohort; their name and email are stored only sealed with their key."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-04-07",
                    "cohort_id": "6a1d9a30-3c2b-4a55-8f0e-1b2c3d4e5f60",
                    "organisation_id": "7e2ab4cd-4e1b-4f08-a213-dd357d893829",
                    "role_title": "Advanced paramedic practitioner",
                    "name": "Ada Okafor",
                    "email": "ada.okafor@example.nhs.uk",
                }
            ]
        }
    )

    personal_fields: ClassVar[frozenset[str]] = frozenset({"name", "email"})

    cohort_id: UUID
    organisation_id: UUID
    role_title: ShortText
    name: PersonName = Field(
        description="The fellow's name: encrypted with their own key, erasable on request."
    )
    email: EmailAddress | None = Field(
        default=None, description="The fellow's email address, encrypted like the name."
    )


class ProposeProject(Command):
    """Propose a system change project."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-05-02",
                    "title": "Fewer ambulance conveyances from care homes",
                    "problem": "Care home residents are conveyed to ED after falls.",
                    "intended_outcomes": ["Care home falls managed in place where safe."],
                    "cohort_id": "6a1d9a30-3c2b-4a55-8f0e-1b2c3d4e5f60",
                    "lead_fellow_id": "38cdc8b6-77e7-4770-9ced-a0ac2911b072",
                    "lead_organisation_id": "7e2ab4cd-4e1b-4f08-a213-dd357d893829",
                    "partner_organisation_ids": [],
                    "sponsor_id": "sponsor-1",
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-07-01",
                    "sites": ["Care homes in Dale Valley"],
                    "scope": "Falls response by a paramedic and a care home nurse.",
                }
            ]
        }
    )

    sites: Annotated[list[ShortText], Field(min_length=1, max_length=50)]
    scope: LongText


class DefineMeasure(Command):
    """Define a measure the project will track (aggregate outcomes only, never patient data)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-07-01",
                    "name": "Conveyance rate from care homes",
                    "unit": "% of calls",
                    "direction": "down",
                    "target": 50,
                    "frequency": "monthly",
                }
            ]
        }
    )

    name: ShortText
    unit: ShortText = Field(description='For example "days", "% of calls", "per 1,000".')
    direction: ImprovementDirection
    target: FiniteFloat | None = None
    frequency: Frequency = Frequency.MONTHLY


class RecordMeasurement(Command):
    """Record one value of a measure for a period (the period's first day)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-08-10",
                    "measure_id": "b701c5d1-8c6d-40fb-a179-c4a6c5c1b2cb",
                    "period": "2025-07-01",
                    "value": 58.3,
                    "numerator": 35,
                    "denominator": 60,
                    "note": "",
                }
            ]
        }
    )

    measure_id: UUID
    period: date = Field(
        description="First day of the period the value covers: the day, the week's Monday, the "
        "month's 1st, or the quarter's (1 January, April, July, October). A day inside a "
        "period is refused, naming the period's first day."
    )
    value: FiniteFloat
    numerator: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    denominator: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    note: OptionalNote = ""


class CorrectMeasurement(Command):
    """Replace a recorded value; the original stays in the history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-08-20",
                    "measurement_id": "a1a4ebe3-e200-4ae0-971c-9b014bd22091",
                    "value": 56.7,
                    "reason": "Month-end data refresh.",
                }
            ]
        }
    )

    measurement_id: UUID
    value: FiniteFloat
    numerator: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    denominator: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    reason: LongText


class RetractMeasurement(Command):
    """Withdraw a recorded value that should never have been recorded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-08-20",
                    "measurement_id": "a1a4ebe3-e200-4ae0-971c-9b014bd22091",
                    "reason": "Recorded against the wrong month.",
                }
            ]
        }
    )

    measurement_id: UUID
    reason: LongText


class RecordAdoption(Command):
    """Record that an organisation has adopted the project."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2026-03-01",
                    "organisation_id": "65ad3819-fff0-4e65-a9c0-e912fdfabee3",
                    "scope": "business_as_usual",
                }
            ]
        }
    )

    organisation_id: UUID
    scope: AdoptionScope


class LogMilestone(Command):
    """Log a milestone worth remembering (a board paper, a sign-off, an award)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2026-03-15",
                    "title": "Sponsor sign-off",
                    "description": "Business case approved.",
                    "is_sign_off": True,
                }
            ]
        }
    )

    title: ShortText
    description: OptionalNote = ""
    is_sign_off: bool = False


class JoinOrganisation(Command):
    """Add a partner organisation to the project."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-06-01",
                    "organisation_id": "65ad3819-fff0-4e65-a9c0-e912fdfabee3",
                }
            ]
        }
    )

    organisation_id: UUID


class LeaveOrganisation(Command):
    """Record that a partner organisation has left the project."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-12-01",
                    "organisation_id": "65ad3819-fff0-4e65-a9c0-e912fdfabee3",
                    "reason": "Service recommissioned.",
                }
            ]
        }
    )

    organisation_id: UUID
    reason: OptionalNote = ""


class AssignSponsor(Command):
    """Assign the project's sponsor."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"occurred_on": "2025-06-01", "sponsor_id": "sponsor-2"}]}
    )

    sponsor_id: UserId


class PauseProject(Command):
    """Pause work on the project."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-12-01",
                    "reason": "Lead fellow seconded to winter pressures work.",
                }
            ]
        }
    )

    reason: LongText


class ResumeProject(Command):
    """Resume a paused project."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"occurred_on": "2026-02-01"}]})


class CloseProject(Command):
    """Close the project: completed, stopped or merged into another."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2026-09-30",
                    "outcome": "completed",
                    "summary": "Adopted as business as usual by both trusts.",
                }
            ]
        }
    )

    outcome: ClosureOutcome
    summary: LongText
    merged_into: UUID | None = None


class GhostMeasurement(Command):
    """Show a value on its chart but leave it out of the calculations (an explained outlier)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-09-01",
                    "measurement_id": "a1a4ebe3-e200-4ae0-971c-9b014bd22091",
                    "reason": "Cyber incident: the month's data is incomplete.",
                }
            ]
        }
    )

    measurement_id: UUID
    reason: LongText


class RestoreMeasurement(Command):
    """Bring a ghosted value back into the calculations."""

    measurement_id: UUID


class MarkRecalculation(Command):
    """Recalculate a measure's limits from a period (a new phase, e.g. after a change)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-09-01",
                    "measure_id": "b701c5d1-8c6d-40fb-a179-c4a6c5c1b2cb",
                    "from_period": "2025-07-01",
                    "reason": "The new pathway started in July.",
                }
            ]
        }
    )

    measure_id: UUID
    from_period: date
    reason: LongText


class RemoveRecalculation(Command):
    """Remove a recalculation point from a measure's chart."""

    measure_id: UUID
    from_period: date


class FlagAstronomical(Command):
    """Flag a value as astronomical: obviously different from the rest, on a run chart."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-09-01",
                    "measurement_id": "a1a4ebe3-e200-4ae0-971c-9b014bd22091",
                    "reason": "Three times any other month: the ward closed for a week.",
                }
            ]
        }
    )

    measurement_id: UUID
    reason: LongText


class UnflagAstronomical(Command):
    """Take the astronomical flag off a value."""

    measurement_id: UUID


BASELINE_MAX_POINTS = 1000


class SetBaseline(Command):
    """Fix a measure's limits on the first ``points`` values of each phase, then extend them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-09-01",
                    "measure_id": "b701c5d1-8c6d-40fb-a179-c4a6c5c1b2cb",
                    "points": 12,
                    "reason": "The year before the pilot is the baseline the board agreed.",
                }
            ]
        }
    )

    measure_id: UUID
    points: Annotated[int, Field(ge=2, le=BASELINE_MAX_POINTS)] = Field(
        description="How many values (ghosted ones left out) the limits are calculated from."
    )
    reason: LongText


class ClearBaseline(Command):
    """Calculate a measure's limits from all of each phase's values again."""

    measure_id: UUID


class PasteMeasurements(Command):
    """Record a column of values pasted from a spreadsheet, one period after another.

    Each line is one value (blank lines are skipped; thousands separators and a trailing %
    are allowed); the first line is ``first_period`` and each next line the next period of the
    measure's frequency. All are recorded or none, and a refusal names the row.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "occurred_on": "2025-10-05",
                    "measure_id": "b701c5d1-8c6d-40fb-a179-c4a6c5c1b2cb",
                    "first_period": "2025-01-01",
                    "pasted": "58.3\n61.0\n57.9\n55.2",
                }
            ]
        }
    )

    measure_id: UUID
    first_period: date = Field(description="First day of the first line's period.")
    pasted: Annotated[str, Field(min_length=1, max_length=20_000)]

    @property
    def values(self) -> list[float]:
        """The pasted values, in order (validated when the command was made)."""
        return [v for _, v in parse_pasted(self.pasted)]

    @model_validator(mode="after")
    def _parse(self) -> PasteMeasurements:
        rows = parse_pasted(self.pasted)
        if not rows:
            msg = "Paste at least one value."
            raise ValueError(msg)
        if len(rows) > MAX_PASTED_ROWS:
            msg = f"Paste at most {MAX_PASTED_ROWS} values at a time."
            raise ValueError(msg)
        return self


MAX_PASTED_ROWS = 240


def parse_pasted(text: str) -> list[tuple[int, float]]:
    """(row, value) for each non-blank line; a line that is not a number is refused by row."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        cleaned = line.strip().replace(",", "").removesuffix("%").strip()
        if not cleaned:
            continue
        try:
            value = float(cleaned)
        except ValueError:
            msg = f"Row {number}: {line.strip()!r} is not a number."
            raise ValueError(msg) from None
        if not math.isfinite(value):
            msg = f"Row {number}: {line.strip()!r} is not a finite number."
            raise ValueError(msg)
        rows.append((number, value))
    return rows
