"""Maps pydantic domain events to stored events and back, upcasting old class versions.

The stored state is the event's JSON (pydantic's own encoding), minus the originator id and
version which the store keeps in columns, plus ``class_version`` when above 1 (the library's
convention).  Decoding validates the upcast state with the event's model, so a stored event that
no longer fits its class fails loudly instead of producing a half-formed object.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel, ValidationError

from application.persistence.ids import as_uuid

_ID_FIELDS = {"originator_id", "originator_version"}
# One encoder for every event (``json.dumps`` with options builds a new one per call); the
# bytes are those of ``json.dumps(state, separators=(",", ":"), sort_keys=True)``.
_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


class PydanticMapper(Mapper[UUID]):
    """A mapper for events that are pydantic models, with ``class_version`` upcasting."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        """Encode an event as JSON bytes (then compress and encrypt when configured)."""
        model = cast(BaseModel, domain_event)
        state: dict[str, Any] = model.model_dump(mode="json", exclude=_ID_FIELDS)
        class_version: int = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        stored_state = _encode(state).encode()
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=stored_state,
        )

    def recorded_at(self, stored_event: StoredEvent) -> datetime:
        """When the event was recorded: its ``timestamp``, read without building the event.

        Every event carries the time it was recorded in its own state, so the as-recorded
        axis needs no index of its own beside the log.
        """
        stored_state = stored_event.state
        if self.cipher:
            stored_state = self.cipher.decrypt(stored_state)
        if self.compressor:
            stored_state = self.compressor.decompress(stored_state)
        return datetime.fromisoformat(json.loads(stored_state)["timestamp"])

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Decode, upcast and validate a stored event."""
        stored_state = stored_event.state
        try:
            cls = resolve_topic(stored_event.topic)
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            state: dict[str, Any] = json.loads(stored_state)
            upcast(cls, state)
            state["originator_id"] = as_uuid(stored_event.originator_id)
            state["originator_version"] = stored_event.originator_version
            return cast(DomainEventProtocol[UUID], cls.model_validate(state))
        except (ValueError, ValidationError, AttributeError, TypeError, KeyError) as e:
            msg = (
                f"Can't read stored event {stored_event.topic} "
                f"{stored_event.originator_id} v{stored_event.originator_version}: {e}"
            )
            raise MapperDeserialisationError(msg) from e


def upcast(cls: type[Any], state: dict[str, Any]) -> None:
    """Bring a stored state from its class version up to the class's current version."""
    target = getattr(cls, "class_version", 1)
    version = state.pop("class_version", 1)
    if version > target:
        msg = f"stored class_version {version} is newer than {cls.__name__}'s {target}"
        raise ValueError(msg)
    while version < target:
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
