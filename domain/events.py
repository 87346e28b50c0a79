"""Base classes for the tracker's domain events: pydantic models the event store can map.

Every event carries, besides the library's originator id, version and recorded ``timestamp``,
the ``actor`` who recorded it and the effective date ``occurred_on`` the actor says it happened.
Payload changes bump ``class_version`` and add an ``upcast_vN_vN+1`` static method that edits the
stored dict in place (the library's convention, applied by ``application.persistence.mapper``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from pydantic import BaseModel, ConfigDict

from domain.values import Actor


class DomainEvent(BaseModel, CanMutateAggregate[UUID]):
    """An immutable, validated fact about one aggregate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    actor: Actor
    occurred_on: date

    def apply(self, aggregate: Any) -> None:
        """Evolve the aggregate's state; events with no state change keep this no-op."""


class AggregateCreated(DomainEvent, CanInitAggregate[UUID]):
    """The first event of an aggregate's stream, naming the aggregate's class."""

    originator_topic: str
