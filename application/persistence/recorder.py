"""What the tracker needs from a recorder beyond the library's: the shared side-table contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True)
class CommandKey:
    """An idempotency key with the fingerprint of the command first sent with it."""

    key: str
    fingerprint: str
    entity_id: UUID | None


@dataclass(frozen=True)
class StoredOutcome:
    """What a keyed command recorded: enough to answer a retry exactly as the first time."""

    key: str
    fingerprint: str
    originator_id: UUID
    originator_version: int
    entity_id: UUID | None
    notification_id: int


class TrackerRecorder(Protocol):
    """Queries over the side tables that each persistence module implements."""

    def version_at(self, originator_id: UUID, recorded_at: datetime) -> int | None:
        """The last version of an aggregate recorded at or before ``recorded_at``."""

    def command_outcome(self, key: str) -> StoredOutcome | None:
        """The outcome stored for an idempotency key, if any."""

    def notification_ids(self, originator_id: UUID) -> dict[int, int]:
        """Each version of an aggregate mapped to its notification id."""


def timestamp_rows(kwargs: dict[str, Any]) -> list[tuple[UUID, int, datetime]]:
    """The recorded-time index rows passed to ``insert_events`` by the application."""
    rows: list[tuple[UUID, int, datetime]] = kwargs.get("event_timestamps") or []
    return rows


def command_key(kwargs: dict[str, Any]) -> CommandKey | None:
    """The idempotency key passed to ``insert_events`` by the application, if any."""
    key: CommandKey | None = kwargs.get("command_key")
    return key
