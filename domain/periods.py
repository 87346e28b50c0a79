"""Periods of a measure's frequency: which period a date falls in, and where periods start.

A measure is recorded once per period: a day, a week (Monday to Sunday), a calendar month or a
calendar quarter.  Two dates are in the same period when their ``period_index`` is equal, so the
rule "one current value per period" and the charts (``domain.spc``) use this one definition,
and a value recorded for 15 March can never sit beside one for 1 March on a monthly chart.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.values import Frequency

UNIT = {
    Frequency.DAILY: "day",
    Frequency.WEEKLY: "week",
    Frequency.MONTHLY: "month",
    Frequency.QUARTERLY: "quarter",
}
"""A period of each frequency, in words."""


def period_index(day: date, frequency: Frequency) -> int:
    """A count of periods from a fixed origin, so consecutive periods differ by exactly one."""
    if frequency is Frequency.DAILY:
        return day.toordinal()
    if frequency is Frequency.WEEKLY:
        return (day.toordinal() - 1) // 7  # day 1 (1 January of year 1) was a Monday
    if frequency is Frequency.MONTHLY:
        return day.year * 12 + day.month - 1
    return day.year * 4 + (day.month - 1) // 3


def period_start(day: date, frequency: Frequency) -> date:
    """The first day of the period ``day`` is in: itself, its Monday, its month or quarter."""
    if frequency is Frequency.DAILY:
        return day
    if frequency is Frequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    if frequency is Frequency.MONTHLY:
        return day.replace(day=1)
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def next_period(period: date, frequency: Frequency) -> date:
    """The start of the period after ``period`` at the measure's frequency."""
    if frequency is Frequency.DAILY:
        return period + timedelta(days=1)
    if frequency is Frequency.WEEKLY:
        return period + timedelta(weeks=1)
    months = 3 if frequency is Frequency.QUARTERLY else 1
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
