"""Value types shared by events, commands and API schemas.

They are pydantic types so that a malformed value is refused at the edge, with the field named,
before any event can be built from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints


class Role(StrEnum):
    """What a user may do: see DESIGN.md, "Identity and access"."""

    FELLOW = "fellow"
    SPONSOR = "sponsor"
    EVALUATOR = "evaluator"
    ADMIN = "admin"
    SYSTEM = "system"


class Sector(StrEnum):
    """The sectors whose organisations take part in a cross-organisation programme."""

    ACUTE = "acute"
    COMMUNITY = "community"
    MENTAL_HEALTH = "mental_health"
    PRIMARY_CARE = "primary_care"
    AMBULANCE = "ambulance"
    POLICE = "police"
    FIRE_AND_RESCUE = "fire_and_rescue"
    LOCAL_AUTHORITY = "local_authority"
    EDUCATION = "education"
    HOUSING = "housing"
    VOLUNTARY = "voluntary"
    INTEGRATED_CARE_BOARD = "integrated_care_board"
    OTHER = "other"


class ImprovementDirection(StrEnum):
    """Which way a measure has to move to count as an improvement (Making Data Count)."""

    UP = "up"
    DOWN = "down"
    NEITHER = "neither"


class Frequency(StrEnum):
    """How often a measure is recorded."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class AdoptionScope(StrEnum):
    """How far an organisation has taken a project up."""

    BUSINESS_AS_USUAL = "business_as_usual"
    SPREAD = "spread"
    PARTIAL = "partial"


class ClosureOutcome(StrEnum):
    """How a project ended."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    MERGED = "merged"


class Stage(StrEnum):
    """Where a project stands on the road from idea to adoption; derived from its events."""

    PROPOSED = "proposed"
    PILOTED = "piloted"
    MEASURED = "measured"
    ADOPTED = "adopted"


class ProjectStatus(StrEnum):
    """Whether a project is being worked on."""

    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class Immutable(BaseModel):
    """A frozen pydantic model that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(Immutable):
    """Who recorded an event: a user id and the role they acted in, never their name."""

    user_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    role: Role


def _no_nul(text: str) -> str:
    """Refuse the NUL character: PostgreSQL can't store it in text, so a view would choke on it."""
    if "\x00" in text:
        msg = "can't contain the NUL character (U+0000)"
        raise ValueError(msg)
    return text


NoNul = AfterValidator(_no_nul)
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), NoNul
]
OptionalNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), NoNul]


PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
# Personal data as events carry it: AES-GCM ciphertext under the person's own key, opaque to
# the domain (the application seals and opens it), so deleting the key erases the person.
SealedText = Annotated[
    str, StringConstraints(pattern=r"^aesgcm1:[A-Za-z0-9_-]{38,}$", max_length=4000)
]


class ErasureReason(StrEnum):
    """Why a person's details were erased: a category, never free text that could name them."""

    REQUESTED_BY_PERSON = "requested_by_person"
    RETENTION_PERIOD_ENDED = "retention_period_ended"
    ENROLLED_IN_ERROR = "enrolled_in_error"
    LEGAL_OBLIGATION = "legal_obligation"


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


OdsCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z0-9]{3,8}$")]

SYSTEM_ACTOR = Actor(user_id="system", role=Role.SYSTEM)


def utc_today() -> date:
    """Today's date in UTC: the reference for "no more than a day in the future"."""
    return datetime.now(UTC).date()
