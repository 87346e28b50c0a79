"""What commands and queries return: plain pydantic models, never aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.values import (
    Actor,
    AdoptionScope,
    ClosureOutcome,
    ErasureReason,
    Frequency,
    ImprovementDirection,
    ProjectStatus,
    Sector,
    Stage,
)


class CommandResult(BaseModel):
    """The outcome of a command: where it landed in the store, and what it created."""

    aggregate_id: UUID
    version: int
    notification_id: int
    entity_id: UUID | None = None
    replayed: bool = False


class HistoryEntry(BaseModel):
    """One event of a stream as a sponsor audits it."""

    version: int
    notification_id: int | None
    event_type: str
    actor: Actor
    occurred_on: date
    recorded_at: datetime
    data: dict[str, Any]


class PilotView(BaseModel):
    """A pilot of a project."""

    sites: list[str]
    scope: str
    started_on: date


class MeasureView(BaseModel):
    """A measure of a project."""

    measure_id: UUID
    name: str
    unit: str
    direction: ImprovementDirection
    target: float | None
    frequency: Frequency
    defined_on: date


class MeasurementView(BaseModel):
    """A measurement of a project with its current value."""

    measurement_id: UUID
    measure_id: UUID
    period: date
    value: float
    numerator: float | None
    denominator: float | None
    note: str
    corrections: int
    retracted: bool


class AdoptionView(BaseModel):
    """An organisation's adoption of a project."""

    organisation_id: UUID
    scope: AdoptionScope
    adopted_on: date


class MilestoneView(BaseModel):
    """A milestone of a project."""

    title: str
    description: str
    is_sign_off: bool
    logged_on: date


@dataclass(frozen=True)
class ProjectParties:
    """Who is on a project: what deciding who may change it needs, without its measurements.

    Building a ``ProjectView`` validates a model per measurement; every command checks access
    first, and a project grows to hundreds of measurements.
    """

    project_id: UUID
    version: int
    lead_fellow_id: UUID
    team_fellow_ids: frozenset[UUID]
    sponsor_id: str | None
    lead_organisation_id: UUID
    partner_organisation_ids: frozenset[UUID]


class ProjectView(BaseModel):
    """A project's state at one version."""

    project_id: UUID
    version: int
    title: str
    problem: str
    intended_outcomes: list[str]
    cohort_id: UUID
    lead_fellow_id: UUID
    team_fellow_ids: list[UUID]
    lead_organisation_id: UUID
    partner_organisation_ids: list[UUID]
    sponsor_id: str | None
    proposed_on: date
    stage: Stage
    status: ProjectStatus
    outcome: ClosureOutcome | None
    closed_on: date | None
    pilots: list[PilotView]
    measures: list[MeasureView]
    measurements: list[MeasurementView]
    adoptions: list[AdoptionView]
    milestones: list[MilestoneView]
    created_at: datetime
    modified_at: datetime


class SystemView(BaseModel):
    """An integrated care system."""

    system_id: UUID
    version: int
    name: str
    region: str | None


class OrganisationView(BaseModel):
    """An organisation."""

    organisation_id: UUID
    version: int
    name: str
    sector: Sector
    system_id: UUID
    ods_code: str | None


class CohortView(BaseModel):
    """A cohort."""

    cohort_id: UUID
    version: int
    programme: str
    system_id: UUID
    number: int
    starts_on: date
    ends_on: date


class FellowView(BaseModel):
    """A fellow: enrolment, and personal details opened with their key (or erased)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fellow_id": "3f0c2a6e-8b1d-4c5e-9f7a-2b3c4d5e6f70",
                    "version": 1,
                    "cohort_id": "6a1d9a30-3c2b-4a55-8f0e-1b2c3d4e5f60",
                    "organisation_id": "7e2ab4cd-4e1b-4f08-a213-dd357d893829",
                    "role_title": "Advanced paramedic practitioner",
                    "name": "Ada Okafor",
                    "email": "ada.okafor@example.nhs.uk",
                    "erased": False,
                    "erased_on": None,
                }
            ]
        }
    )

    fellow_id: UUID
    version: int
    cohort_id: UUID
    organisation_id: UUID
    role_title: str
    name: str | None = Field(
        description='The name; "[erased]" once erased; null if enrolled before names were '
        "recorded, or if you may not see it (only admins and the fellow themself may)."
    )
    email: str | None = Field(description="The email address; null when erased, absent or hidden.")
    erased: bool = Field(description="Whether the fellow's personal details were erased.")
    erased_on: date | None = None

    def without_personal_details(self) -> FellowView:
        """The same record with name and email left out, for readers who may not see them."""
        return self.model_copy(update={"name": None, "email": None})


class ErasureResult(BaseModel):
    """What erasing a person did: the event recorded (or found), the key, the accounts."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "fellow_id": "3f0c2a6e-8b1d-4c5e-9f7a-2b3c4d5e6f70",
                    "version": 2,
                    "erased_on": "2025-06-02",
                    "reason": "requested_by_person",
                    "already_erased": False,
                    "key_destroyed": True,
                    "storage_purged": True,
                    "accounts_anonymised": ["a.okafor"],
                }
            ]
        }
    )

    fellow_id: UUID
    version: int = Field(description="The fellow's version after the erasure.")
    erased_on: date
    reason: ErasureReason
    already_erased: bool = Field(
        description="True if the fellow was erased before: nothing new was recorded."
    )
    key_destroyed: bool = Field(description="Whether this request deleted the person's key.")
    storage_purged: bool = Field(
        description="Whether the database files were cleared of the deleted key; if false, "
        "erase again to finish (it records nothing new)."
    )
    accounts_anonymised: list[str] = Field(
        default_factory=list, description="User accounts of the fellow, renamed and disabled."
    )
