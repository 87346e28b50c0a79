"""The in-memory event store (for fast tests), with the same side tables as the databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory

from application.persistence.recorder import (
    StoredOutcome,
    command_key,
    new_person_keys,
    shredded_person_ids,
)
from application.personal_data import PersonKey


class TrackerMemoryRecorder(POPOApplicationRecorder):
    """Keeps keyed outcomes and person keys in dicts, under the store's lock."""

    def __init__(self) -> None:
        super().__init__()
        self._outcomes: dict[str, tuple[str, UUID, int, UUID | None]] = {}
        self._keys: dict[UUID, PersonKey] = {}

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            key = command_key(kwargs)
            if key is not None and key.key in self._outcomes:
                msg = f"Command key already recorded: {key.key}"
                raise IntegrityError(msg)
            notification_ids = super()._insert_events(stored_events, **kwargs)
            if key is not None and stored_events:
                last = stored_events[-1]
                self._outcomes[key.key] = (
                    key.fingerprint,
                    UUID(str(last.originator_id)),
                    last.originator_version,
                    key.entity_id,
                )
            for person_key in new_person_keys(kwargs):
                self._keys[person_key.person_id] = person_key
            for person_id in shredded_person_ids(kwargs):
                self._keys.pop(person_id, None)
            return notification_ids

    def person_key(self, person_id: UUID) -> bytes | None:
        """The person's key, or None once it is deleted (or was never made)."""
        with self._database_lock:
            found = self._keys.get(person_id)
            return found.key if found else None

    def person_keys(self) -> list[PersonKey]:
        """Every key still held, for backups."""
        with self._database_lock:
            return sorted(self._keys.values(), key=lambda k: str(k.person_id))

    def restore_person_keys(self, keys: list[PersonKey]) -> None:
        """Insert keys from a backup."""
        with self._database_lock:
            self._keys.update((k.person_id, k) for k in keys)

    def purge_deleted_keys(self) -> bool:
        """Nothing to purge: a deleted key is gone with the dict entry."""
        return True

    def command_outcome(self, key: str) -> StoredOutcome | None:
        """The stored outcome of a keyed command."""
        with self._database_lock:
            found = self._outcomes.get(key)
            if found is None:
                return None
            fingerprint, originator_id, version, entity_id = found
            return StoredOutcome(
                key,
                fingerprint,
                originator_id,
                version,
                entity_id,
                self.notification_ids(originator_id)[version],
            )

    def notification_ids(self, originator_id: UUID) -> dict[int, int]:
        """Each version of the aggregate mapped to its notification id (1-based position)."""
        with self._database_lock:
            index = self._stored_events_index[str(originator_id)]
            return {version: position + 1 for version, position in index.items()}


class TrackerMemoryFactory(POPOFactory):
    """The library's in-memory factory, constructing the tracker's recorder."""

    def application_recorder(self) -> ApplicationRecorder:
        """An in-memory recorder with the tracker's side tables."""
        return TrackerMemoryRecorder()
