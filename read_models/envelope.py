"""Stored events as the projections read them: JSON state, upcast, not re-validated.

Events were validated by their pydantic models when they were recorded; a projection only needs
their data, so it decodes the stored JSON and applies the same upcasters as the mapper, without
the cost of building models again (the read side's throughput depends on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from application.persistence.ids import parse_uuid
from application.persistence.mapper import upcast


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event from the notification log, with its position and both time axes.

    The effective date and the recorded time are parsed once, when the event is decoded: every
    view reads them, and parsing them per view was a visible share of a rebuild.
    """

    notification_id: int
    originator_id: UUID
    version: int
    event_type: str
    state: dict[str, Any]
    topic: str
    stored: bytes  # the state exactly as stored: what the integrity hashes cover
    occurred_on: date  # the effective date the actor gave
    recorded_naive: datetime  # when it was recorded, as naive UTC (how the views store it)

    @property
    def recorded_at(self) -> datetime:
        """When the event was recorded."""
        return datetime.fromisoformat(self.state["timestamp"])

    @property
    def actor_id(self) -> str:
        """The user who recorded the event."""
        return str(self.state["actor"]["user_id"])

    @property
    def actor_role(self) -> str:
        """The role they recorded it in."""
        return str(self.state["actor"]["role"])

    def uuid(self, key: str) -> UUID:
        """A UUID field of the event."""
        return parse_uuid(self.state[key])

    def day(self, key: str) -> date:
        """A date field of the event."""
        return date.fromisoformat(self.state[key])


@cache
def _event_class(topic: str) -> type[Any]:
    cls: type[Any] = resolve_topic(topic)
    return cls


def _naive_utc(timestamp: str) -> datetime:
    """The recorded time as naive UTC; the store writes UTC with a ``Z``, parsed directly."""
    if timestamp.endswith("Z"):
        return datetime.fromisoformat(timestamp[:-1])
    moment = datetime.fromisoformat(timestamp)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def decode(notification: Notification) -> Envelope:
    """Decode one notification (the store keeps JSON; see ``application.persistence.mapper``)."""
    cls = _event_class(notification.topic)
    stored = notification.state
    # Text, not bytes: ``json.loads`` would otherwise detect the encoding in Python first.
    state: dict[str, Any] = json.loads(stored.decode() if isinstance(stored, bytes) else stored)
    upcast(cls, state)
    originator_id = notification.originator_id
    return Envelope(
        notification_id=notification.id,
        originator_id=originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
        version=notification.originator_version,
        event_type=cls.__name__,
        state=state,
        topic=notification.topic,
        stored=notification.state,
        occurred_on=date.fromisoformat(state["occurred_on"]),
        recorded_naive=_naive_utc(state["timestamp"]),
    )
