"""Stored events as the projections read them: JSON state, upcast, not re-validated.

Events were validated by their pydantic models when they were recorded; a projection only needs
their data, so it decodes the stored JSON and applies the same upcasters as the mapper, without
the cost of building models again (the read side's throughput depends on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import resolve_topic

from application.persistence.mapper import upcast


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event from the notification log, with its position and both time axes."""

    notification_id: int
    originator_id: UUID
    version: int
    event_type: str
    state: dict[str, Any]
    topic: str
    stored: bytes  # the state exactly as stored: what the integrity hashes cover

    @property
    def occurred_on(self) -> date:
        """The effective date the actor gave."""
        return date.fromisoformat(self.state["occurred_on"])

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
        return UUID(self.state[key])

    def day(self, key: str) -> date:
        """A date field of the event."""
        return date.fromisoformat(self.state[key])


@cache
def _event_class(topic: str) -> type[Any]:
    cls: type[Any] = resolve_topic(topic)
    return cls


def decode(notification: Notification) -> Envelope:
    """Decode one notification (the store keeps JSON; see ``application.persistence.mapper``)."""
    cls = _event_class(notification.topic)
    state: dict[str, Any] = json.loads(notification.state)
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
    )
