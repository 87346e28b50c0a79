"""Ids as the stores keep them (text) and as the code uses them (``UUID``)."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID


@lru_cache(maxsize=1 << 16)
def parse_uuid(text: str) -> UUID:
    """A UUID from its text, remembered.

    The same ids (a stream, a measure, a cohort) come back with many events, and ``UUID()`` is
    slow enough to show when the log is read: the event store builds one per event it reads,
    and a rebuild parses the same ids again in several views.
    """
    return UUID(text)


def as_uuid(value: UUID | str) -> UUID:
    """A UUID, from one or from its text (drivers and archives give either)."""
    return value if isinstance(value, UUID) else UUID(value)
