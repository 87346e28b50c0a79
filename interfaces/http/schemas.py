"""Output schemas of the API that are not already query answers."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from application.results import CommandResult
from domain.values import ErasureReason, Role
from read_models.queries.common import UtcDateTime


class CommandOut(BaseModel):
    """Where a command landed: the aggregate, its new version and the event's log position."""

    aggregate_id: UUID
    version: int = Field(description="Send it back as If-Match with your next command.")
    notification_id: int = Field(description="Position of the last event in the log.")
    entity_id: UUID | None = Field(default=None, description="The new measure or measurement.")

    @classmethod
    def of(cls, result: CommandResult) -> CommandOut:
        """The public part of a command result."""
        return cls(
            aggregate_id=result.aggregate_id,
            version=result.version,
            notification_id=result.notification_id,
            entity_id=result.entity_id,
        )


class Me(BaseModel):
    """The signed-in user."""

    user_id: str
    display_name: str
    role: Role
    fellow_id: UUID | None
    organisation_ids: list[UUID]


class SignIn(BaseModel):
    """A user id and password."""

    user_id: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class Health(BaseModel):
    """Liveness."""

    status: str


class ViewLag(BaseModel):
    """A view's position and lag."""

    view: str
    position: int
    lag: int


class Readiness(BaseModel):
    """Whether the store answers and how far the views are behind."""

    status: str
    head: int
    views: list[ViewLag]


class CorrectionIn(BaseModel):
    """A corrected value for the measurement named in the path."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    value: float = Field(allow_inf_nan=False)
    numerator: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    denominator: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    reason: str = Field(min_length=1, max_length=5000)


class RetractionIn(BaseModel):
    """Why the measurement named in the path is withdrawn."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    reason: str = Field(min_length=1, max_length=5000)


class DepartureIn(BaseModel):
    """When (and why) the organisation named in the path left the project."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    reason: str = Field(default="", max_length=2000)


class ErrorOut(BaseModel):
    """Every refusal: a stable code, a sentence for a person, and the field when there is one."""

    error: str = Field(examples=["stale_version"])
    detail: str = Field(examples=["The project has changed since you loaded it."])
    field: str | None = Field(default=None, examples=["occurred_on"])


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        401: "Not signed in, or the token is not valid.",
        403: "Signed in, but not allowed to do this (or the CSRF token is missing).",
        404: "No such thing (or nothing at that version or date).",
        409: "Refused by a rule, or another change won the race.",
        412: "If-Match names a version that is no longer current.",
        422: "The input is malformed; the field is named.",
        429: "Too many failed sign-ins.",
        503: "The views are still catching up (wait=true).",
    }.items()
}


class GhostIn(BaseModel):
    """Why the measurement named in the path is left out of its chart's calculations."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    reason: str = Field(min_length=1, max_length=5000)


class DatedIn(BaseModel):
    """Just the date a change took effect."""

    model_config = {"extra": "forbid"}

    occurred_on: date


class RecalculationIn(BaseModel):
    """The period the measure named in the path recalculates its limits from, and why."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    from_period: date
    reason: str = Field(min_length=1, max_length=5000)


class AstronomicalIn(BaseModel):
    """Why the measurement named in the path is obviously different from the rest."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    reason: str = Field(min_length=1, max_length=5000)


class BaselineIn(BaseModel):
    """How many points of each phase the measure's limits are fixed on, and why."""

    model_config = {"extra": "forbid"}

    occurred_on: date
    points: int = Field(ge=2, le=1000, description="Non-ghosted points in the baseline.")
    reason: str = Field(min_length=1, max_length=5000)


class CheckpointOut(BaseModel):
    """A signed checkpoint: keep it to verify the history later (``impact verify``)."""

    seq: int
    size: int = Field(description="Events in the log when it was signed.")
    root: str = Field(description="RFC 6962 Merkle root of those events (hex SHA-256).")
    signed_at: UtcDateTime
    public_key: str = Field(description="Ed25519 public key (hex) it says signed it.")
    signature: str
    trusted: bool = Field(
        description="Whether the signature holds for a key this tracker trusts (its signing "
        "key or IMPACT_TRUSTED_CHECKPOINT_KEYS); a checkpoint that is not is no evidence."
    )


class ErasureIn(BaseModel):
    """Why a fellow's personal details are erased: a category, never free text about them."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"reason": "requested_by_person"}]},
    }

    reason: ErasureReason = Field(
        description="requested_by_person (a right-to-erasure request), retention_period_ended, "
        "enrolled_in_error or legal_obligation."
    )
