"""Periods on the pages: how a measure's period is named, and the input that asks for one.

A value is recorded against the first day of its period (``domain.periods``): a month's or a
quarter's first day, a week's Monday, or the day itself.  A month input can say that for
monthly and quarterly measures, but not for weekly or daily ones, so the forms ask for a date
there; and when the form does not know the measure yet and the project mixes frequencies, a
text input takes either a month or a date, and its hint says which to give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from domain.values import Frequency


def period_label(period: date, frequency: Frequency) -> str:
    """A period as people say it: "April 2023", "Q2 2023", "Week of 3 April 2023" or the day."""
    if frequency is Frequency.MONTHLY:
        return f"{period:%B %Y}"
    if frequency is Frequency.QUARTERLY:
        return f"Q{(period.month - 1) // 3 + 1} {period.year}"
    prefix = "Week of " if frequency is Frequency.WEEKLY else ""
    return f"{prefix}{period.day} {period:%B %Y}"


_NOUN = {
    Frequency.DAILY: "Day",
    Frequency.WEEKLY: "Week",
    Frequency.MONTHLY: "Month",
    Frequency.QUARTERLY: "Quarter",
}
_MONTHS = {Frequency.MONTHLY, Frequency.QUARTERLY}
_HINT = {
    Frequency.DAILY: "The day, for example {day}.",
    Frequency.WEEKLY: "The Monday the week starts on, for example {monday}.",
    Frequency.MONTHLY: "For example {month}.",
    Frequency.QUARTERLY: (
        "The quarter's first month (January, April, July or October), for example {quarter}."
    ),
}
_EITHER = {
    Frequency.DAILY: "the day, like {day}, for a daily measure",
    Frequency.WEEKLY: "the Monday the week starts on, like {monday}, for a weekly measure",
    Frequency.MONTHLY: "a month, like {month}, for a monthly measure",
    Frequency.QUARTERLY: "the quarter's first month, like {quarter}, for a quarterly measure",
}
_EXAMPLES = {"day": "2025-03-05", "monday": "2025-03-03", "month": "2025-03", "quarter": "2025-04"}


@dataclass(frozen=True)
class PeriodInput:
    """The period field of a form: its input type, label, hint and the value to show."""

    type: str
    label: str
    hint: str
    value: str
    unit: str
    """What one line of a pasted column is: "month", "week", ... or "period" when not known."""


def period_input(
    frequencies: Iterable[Frequency], *, label: str, value: object, first_line: bool = False
) -> PeriodInput:
    """The input for the period of a measure of one of ``frequencies`` (the possible measures).

    ``label`` is the field's label, starting with "Period" (the form's label for an error
    summary), which a single frequency names ("Month the value covers");
    ``value`` what the form holds, shown in the form the input takes (a month input shows
    2025-03 for 2025-03-01; a date input 2025-03-01 for 2025-03).  One frequency gives its own
    input; several a text input whose hint names what each of them takes.
    """
    kinds = sorted(set(frequencies), key=list(Frequency).index) or list(Frequency)
    shown = str(value or "").strip()
    if len(kinds) == 1:
        (frequency,) = kinds
        noun = _NOUN[frequency]
        named = noun + label.removeprefix("Period")
        hint = _HINT[frequency].format(**_EXAMPLES)
        if first_line:
            hint = f"The {noun.lower()} of the first line. {hint}"
        if frequency in _MONTHS:
            if len(shown) == 10 and shown[4] == "-" and shown[7] == "-":
                shown = shown[:7]
            return PeriodInput("month", named, hint, shown, noun.lower())
        if len(shown) == 7 and shown[4] == "-":
            shown = f"{shown}-01"
        return PeriodInput("date", named, hint, shown, noun.lower())
    first = "For the first line, give " if first_line else "Give "
    hint = first + "; ".join(_EITHER[k].format(**_EXAMPLES) for k in kinds) + "."
    return PeriodInput("text", label, hint, shown, "period")
