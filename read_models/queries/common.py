"""What every query shares: pagination and the two time axes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field

T = TypeVar("T")


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# Views store recorded times as naive UTC; answers say so (RFC 3339, with the zone).
UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]


class Axis(StrEnum):
    """Which time an as-at question is about."""

    RECORDED = "recorded"  # what we knew then: events recorded by the moment (audit)
    EFFECTIVE = "effective"  # what was true then: events whose effective date is on or before


class AsAt(BaseModel):
    """A point on one axis: a date (effective), or a moment (recorded; a date means its end)."""

    axis: Axis
    moment: datetime | date

    @property
    def day(self) -> date:
        """The effective date (the moment's date when a moment was given)."""
        return self.moment.date() if isinstance(self.moment, datetime) else self.moment

    @property
    def cutoff(self) -> datetime:
        """The recorded-time cut-off as naive UTC, inclusive; a bare date means end of day.

        At the calendar's edges (the last day's end, a moment whose UTC time is outside the
        calendar) it is the first or last representable moment, not an ``OverflowError``.
        """
        if isinstance(self.moment, datetime):
            moment = self.moment if self.moment.tzinfo else self.moment.replace(tzinfo=UTC)
            try:
                return moment.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                return datetime.max if moment.year == datetime.max.year else datetime.min
        if self.moment == date.max:
            return datetime.max
        return datetime.combine(self.moment + timedelta(days=1), time()) - timedelta(microseconds=1)


class PageParams(BaseModel):
    """Which page of a list to return."""

    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=50, ge=1, le=500)

    @property
    def offset(self) -> int:
        """Rows to skip."""
        return (self.page - 1) * self.per_page


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total so clients can page through it."""

    items: list[T]
    total: int
    page: int
    per_page: int


def storable(text: str | None) -> bool:
    """Whether a filter's text could equal stored text.

    Nothing stored holds the NUL character (commands refuse it, and PostgreSQL can't keep it
    in text), so a filter holding one matches nothing: it is answered without asking the
    database, which on PostgreSQL would fail on it.
    """
    return text is None or "\x00" not in text
