"""The project commands a page can send: their forms, how a form becomes a command, what to say.

One table drives the action pages: each entry names the command, its template, the form's
labels (which the error summary reuses) and how to turn the submitted fields into the command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.results import CommandResult
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import Actor


def lines(text: object) -> list[str]:
    """A textarea's non-blank lines."""
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def month(text: object) -> object:
    """A month (2025-03) as its first day; a date (2025-03-03) as it is.

    A month input sends the month, a date input (weekly and daily measures) the date, and the
    text input offered when the measure is not chosen yet either of them.
    """
    value = str(text or "").strip()
    if len(value) == 7 and value[4] == "-":
        return f"{value}-01"
    return value


# (tracker, actor, project, command, expected version, idempotency key) -> result
Send = Callable[[ImpactTracker, Actor, UUID, Any, int | None, str | None], CommandResult]


def _via(method: str) -> Send:
    """Send the command through the tracker method of that name."""

    def send(  # noqa: PLR0917
        tracker: ImpactTracker,
        actor: Actor,
        project_id: UUID,
        command: Any,
        expected_version: int | None,
        key: str | None,
    ) -> CommandResult:
        result: CommandResult = getattr(tracker, method)(
            actor, project_id, command, expected_version=expected_version, idempotency_key=key
        )
        return result

    return send


@dataclass(frozen=True)
class Action:
    """One command's page."""

    slug: str
    title: str
    command: type[c.Command]
    labels: Mapping[str, str]
    send: Send
    done: str
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = lambda form: form
    # Changes to one measurement are refused if the project moved on since the form opened.
    checks_version: bool = False
    # The field naming a measure's period, whose input follows the measure's frequency.
    period_field: str | None = None

    @property
    def main_field(self) -> str:
        """Where a refusal of the whole command is shown: the form's last field."""
        return list(self.labels)[-1]


def _pilot(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "sites": lines(form.get("sites"))}


def _measurement(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "period": month(form.get("period"))}


def _paste(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "first_period": month(form.get("first_period"))}


def _milestone(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "is_sign_off": False}


def _sign_off(form: dict[str, Any]) -> dict[str, Any]:
    return {**form, "is_sign_off": True}


_WHEN = {"occurred_on": "The date it happened"}

ACTIONS: dict[str, Action] = {
    a.slug: a
    for a in (
        Action(
            "pilot",
            "Start a pilot",
            c.StartPilot,
            {**_WHEN, "sites": "Pilot sites", "scope": "What the pilot covers"},
            lambda t, a, p, cmd, v, k: t.start_pilot(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Pilot started",
            _pilot,
        ),
        Action(
            "measure",
            "Define a measure",
            c.DefineMeasure,
            {
                **_WHEN,
                "name": "Measure name",
                "unit": "Unit",
                "direction": "Which way is better",
                "target": "Target",
                "frequency": "How often it is measured",
            },
            lambda t, a, p, cmd, v, k: t.define_measure(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Measure defined",
        ),
        Action(
            "measurement",
            "Record a measurement",
            c.RecordMeasurement,
            {
                **_WHEN,
                "measure_id": "Measure",
                "period": "Period the value covers",
                "value": "Value",
                "numerator": "Numerator",
                "denominator": "Denominator",
                "note": "Note",
            },
            lambda t, a, p, cmd, v, k: t.record_measurement(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Measurement recorded",
            _measurement,
            period_field="period",
        ),
        Action(
            "paste",
            "Paste a column of values",
            c.PasteMeasurements,
            {
                **_WHEN,
                "measure_id": "Measure",
                "first_period": "Period of the first value",
                "pasted": "Values, one per line",
            },
            lambda t, a, p, cmd, v, k: t.paste_measurements(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Values recorded",
            _paste,
            period_field="first_period",
        ),
        Action(
            "correct",
            "Correct a measurement",
            c.CorrectMeasurement,
            {
                **_WHEN,
                "measurement_id": "Measurement",
                "value": "Corrected value",
                "numerator": "Numerator",
                "denominator": "Denominator",
                "reason": "Why it is corrected",
            },
            lambda t, a, p, cmd, v, k: t.correct_measurement(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Measurement corrected",
            checks_version=True,
        ),
        Action(
            "retract",
            "Retract a measurement",
            c.RetractMeasurement,
            {**_WHEN, "measurement_id": "Measurement", "reason": "Why it is retracted"},
            lambda t, a, p, cmd, v, k: t.retract_measurement(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Measurement retracted",
            checks_version=True,
        ),
        Action(
            "adoption",
            "Record adoption",
            c.RecordAdoption,
            {**_WHEN, "organisation_id": "Adopting organisation", "scope": "How it was adopted"},
            lambda t, a, p, cmd, v, k: t.record_adoption(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Adoption recorded",
        ),
        Action(
            "milestone",
            "Log a milestone",
            c.LogMilestone,
            {**_WHEN, "title": "Milestone", "description": "Details"},
            lambda t, a, p, cmd, v, k: t.log_milestone(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Milestone logged",
            _milestone,
        ),
        Action(
            "sign-off",
            "Record a sponsor's sign-off",
            c.LogMilestone,
            {**_WHEN, "title": "What you are signing off", "description": "Details"},
            lambda t, a, p, cmd, v, k: t.log_milestone(
                a, p, cmd, expected_version=v, idempotency_key=k
            ),
            "Sign-off recorded",
            _sign_off,
        ),
    )
}

FELLOW_ACTIONS = ("pilot", "measure", "measurement", "paste", "adoption", "milestone")
# Offered from each measurement's row rather than as buttons.
ROW_ACTIONS = ("correct", "retract")
