"""What the tracker needs from a recorder beyond the library's: the shared side-table contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from application.personal_data import PersonKey


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

    def command_outcome(self, key: str) -> StoredOutcome | None:
        """The outcome stored for an idempotency key, if any."""

    def notification_ids(self, originator_id: UUID) -> dict[int, int]:
        """Each version of an aggregate mapped to its notification id."""


class PersonKeyStore(Protocol):
    """The ``person_keys`` table: each person's data key, deleted to erase the person.

    Keys are written and deleted by ``insert_events`` in the same transaction as the events
    that need them (``new_person_keys=[PersonKey]`` with an enrolment,
    ``shred_person_keys=[person_id]`` with an erasure), so the log and the keys never disagree.
    """

    def person_key(self, person_id: UUID) -> bytes | None:
        """The person's key, or None once it is deleted (or was never made)."""

    def person_keys(self) -> list[PersonKey]:
        """Every key still held, for backups."""

    def restore_person_keys(self, keys: list[PersonKey]) -> None:
        """Insert keys from a backup (into a store being restored)."""

    def purge_deleted_keys(self) -> bool:
        """Make deleted keys unrecoverable from the database files; False if it must be retried.

        SQLite overwrites deleted rows (``secure_delete``) and empties the write-ahead log;
        PostgreSQL rewrites the key table (``VACUUM FULL``) so no dead tuple keeps a key.
        """


def command_key(kwargs: dict[str, Any]) -> CommandKey | None:
    """The idempotency key passed to ``insert_events`` by the application, if any."""
    key: CommandKey | None = kwargs.get("command_key")
    return key


def new_person_keys(kwargs: dict[str, Any]) -> list[PersonKey]:
    """Keys to store with the events (an enrolment's), passed by the application."""
    keys: list[PersonKey] = kwargs.get("new_person_keys") or []
    return keys


def shredded_person_ids(kwargs: dict[str, Any]) -> list[UUID]:
    """People whose keys to delete with the events (an erasure's), passed by the application."""
    ids: list[UUID] = kwargs.get("shred_person_keys") or []
    return ids
