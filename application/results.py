"""What commands and queries return: plain pydantic models, never aggregates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from domain.values import (
    Actor,
    AdoptionScope,
    ClosureOutcome,
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
    """A fellow, by id and enrolment only."""

    fellow_id: UUID
    version: int
    cohort_id: UUID
    organisation_id: UUID
    role_title: str
