"""The sponsor's audit view: every event of a project, who recorded it, when, and its proof.

A sponsor signs off on what a project claims, so the view reads the event store itself (not a
view that could lag or be rebuilt differently): every event in order with both time axes, the
gap between them, corrections beside what they correct, and whether the history is covered by
the latest signed checkpoint. The same history downloads as CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from application.integrity.signing import TrustedKeys, trusted_keys
from application.results import HistoryEntry
from application.tracker import ImpactTracker
from interfaces.http.deps import AppServices
from interfaces.web.choices import cohort_options, organisation_names
from interfaces.web.common import readable_project
from interfaces.web.labels import EVENT_LABELS, SCOPE_LABELS
from interfaces.web.session import PageUser
from interfaces.web.templating import is_htmx, render
from read_models.integrity.checkpoints import Checkpoint, list_checkpoints
from read_models.integrity.proofs import ProjectProof, check_proof, project_proof

router = APIRouter(include_in_schema=False)

LATE_AFTER_DAYS = 30
"""Recorded more than this many days after its effective date: worth a sponsor's question."""

_FIELD_LABELS = {
    "title": "Title",
    "problem": "Problem",
    "intended_outcomes": "Intended outcomes",
    "cohort_id": "Cohort",
    "lead_fellow_id": "Lead fellow",
    "team_fellow_ids": "Team",
    "lead_organisation_id": "Lead organisation",
    "partner_organisation_ids": "Partner organisations",
    "sponsor_id": "Sponsor",
    "sites": "Sites",
    "scope": "Scope",
    "measure_id": "Measure",
    "name": "Name",
    "unit": "Unit",
    "direction": "Direction",
    "target": "Target",
    "frequency": "Frequency",
    "period": "Period",
    "value": "Value",
    "numerator": "Numerator",
    "denominator": "Denominator",
    "note": "Note",
    "reason": "Reason",
    "organisation_id": "Organisation",
    "description": "Description",
    "is_sign_off": "Sign-off",
    "outcome": "Outcome",
    "summary": "Summary",
    "merged_into": "Merged into project",
    "from_period": "From",
    "values": "Values",
}
_MONTHS = {"period", "from_period"}
_SHOWN_WHEN_SET = {"numerator", "denominator", "note", "merged_into", "target", "description"}
_DIRECTIONS = {"up": "Higher is better", "down": "Lower is better", "neither": "Neither"}
# Changes to an earlier measurement: shown beside it, and it beside them.
_FOLLOW_UPS = {
    "MeasurementCorrected": "corrected",
    "MeasurementRetracted": "retracted",
    "MeasurementGhosted": "ghosted on its chart",
    "MeasurementRestored": "restored to its chart",
}
_VERBS = {
    "MeasurementCorrected": "Corrects",
    "MeasurementRetracted": "Retracts",
    "MeasurementGhosted": "Ghosts",
    "MeasurementRestored": "Restores",
}
_MEASURE_CHANGES = {"RecalculationMarked", "RecalculationRemoved"}


@dataclass(frozen=True)
class Link:
    """Another event of the same history, by version, with what it did."""

    version: int
    text: str


@dataclass
class AuditRow:
    """One event as the audit table shows it."""

    entry: HistoryEntry
    details: list[tuple[str, str]]
    about: Link | None = None
    change: str | None = None
    later: list[Link] = field(default_factory=list)

    @property
    def gap_days(self) -> int:
        """Days from the effective date to the day it was recorded (UTC)."""
        return gap_days(self.entry)

    @property
    def about_verb(self) -> str:
        """How this event relates to the earlier one it links to."""
        return _VERBS.get(self.entry.event_type, "About")

    @property
    def flag(self) -> Literal["late", "early"] | None:
        """Whether the gap is worth a question: recorded long after, or before, the date."""
        if self.gap_days > LATE_AFTER_DAYS:
            return "late"
        if self.gap_days < 0:
            return "early"
        return None


@dataclass(frozen=True)
class _Recorded:
    """A measurement as the audit table met it: the row that recorded it and its value now.

    ``which`` names the value among a paste's ("March 2024: "), so the paste's row says which
    of its values a later change is about; a value recorded alone needs no name.
    """

    row: AuditRow
    measure_id: str
    period: str
    value: float
    which: str


@dataclass(frozen=True)
class Integrity:
    """The project's history against the latest signed checkpoint.

    ``state`` is one of: ``verified`` (every event proven), ``partial`` (the latest events came
    after the checkpoint; the earlier ones are proven), ``not_covered`` (no event of the project
    in the checkpoint), ``no_checkpoint`` (none signed yet), ``failed`` (a proof or the
    signature does not hold: ``failures`` says what).
    """

    state: Literal["verified", "partial", "not_covered", "no_checkpoint", "failed"]
    checkpoint: Checkpoint | None
    covered: int
    total: int
    failures: list[str] = field(default_factory=list)


def gap_days(entry: HistoryEntry) -> int:
    """Days between the effective date and the (UTC) day the event was recorded."""
    return (entry.recorded_at.astimezone(UTC).date() - entry.occurred_on).days


def judge(
    checkpoint: Checkpoint, proof: ProjectProof, total: int, trusted: TrustedKeys
) -> Integrity:
    """What the proofs of the project's events against a checkpoint show.

    A checkpoint not signed by a ``trusted`` key fails whatever the proofs say: the key it
    names is no evidence, since whoever forged it could name their own.
    """
    if not proof.proofs:
        untrusted = checkpoint.trust(trusted)
        if untrusted:
            return Integrity("failed", checkpoint, 0, total, [untrusted])
        return Integrity("not_covered", checkpoint, 0, total)
    failures = check_proof(proof, checkpoint, trusted)
    if failures:
        return Integrity("failed", checkpoint, len(proof.proofs), total, failures)
    state: Literal["verified", "partial"] = "partial" if len(proof.proofs) < total else "verified"
    return Integrity(state, checkpoint, len(proof.proofs), total)


# The proof re-hashes the log up to the checkpoint (seconds at a million events), so a verdict
# is kept for a minute per (checkpoint, project, number of events): tampering with the store
# shows on the page within a minute, and `impact verify` finds it at once.
VERDICT_SECONDS = 60.0
_VERDICTS: dict[tuple[int, int, str, UUID, int], tuple[float, Integrity]] = {}


def integrity_of(
    tracker: ImpactTracker,
    checkpoints: list[Checkpoint],
    project_id: UUID,
    total: int,
    trusted: TrustedKeys,
) -> Integrity:
    """Prove the project's events from the event store against the latest checkpoint.

    The proof hashes the log up to the checkpoint's size, as ``GET /api/projects/{id}/proof``
    and ``impact verify --checkpoint`` do, so it shows what the store holds now.
    """
    if not checkpoints:
        return Integrity("no_checkpoint", None, 0, total)
    latest = max(checkpoints, key=lambda c: c.seq)
    # The signature is in the key: a checkpoint row re-signed in place is judged afresh.
    key = (id(tracker), latest.seq, latest.signature, project_id, total)
    remembered = _VERDICTS.get(key)
    if remembered and time.monotonic() - remembered[0] < VERDICT_SECONDS:
        return remembered[1]
    verdict = judge(latest, project_proof(tracker, project_id, latest.size), total, trusted)
    if len(_VERDICTS) > 1024:
        _VERDICTS.clear()
    _VERDICTS[key] = (time.monotonic(), verdict)
    return verdict


def _month(text: str) -> str:
    return f"{date.fromisoformat(text):%B %Y}"


def _pasted_period(text: str, by_month: bool) -> str:
    """A pasted value's period: its month when the column is by month, else its day."""
    day = date.fromisoformat(text)
    return f"{day:%B %Y}" if by_month else f"{day.day} {day:%B %Y}"


def _by_month(values: list[dict[str, Any]]) -> bool:
    """Whether a pasted column's periods are all firsts of months (monthly or quarterly)."""
    return all(date.fromisoformat(str(v["period"])).day == 1 for v in values)


def _plain(key: str, value: Any, names: dict[str, str]) -> str:
    """A recorded value in words (organisation and cohort names, months, yes/no)."""
    if key == "values" and isinstance(value, list):  # a pasted column: each period's value
        by_month = _by_month(value)
        return "; ".join(
            f"{_pasted_period(str(v['period']), by_month)}: {float(v['value']):g}" for v in value
        )
    if isinstance(value, list):
        return ", ".join(_plain(key, v, names) for v in value) or "None"
    if value is None or value == "":
        return "None"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if key in _MONTHS:
        return _month(text)
    if key == "scope" and text in SCOPE_LABELS:
        return SCOPE_LABELS[text]
    if key == "direction":
        return _DIRECTIONS.get(text, text)
    if key.endswith(("_id", "_ids")):
        return names.get(text, text)
    return text


def build_rows(history: list[HistoryEntry], names: dict[str, str]) -> list[AuditRow]:
    """The table's rows, each change to a measurement linked both ways with what it changed."""
    rows: list[AuditRow] = []
    labels = dict(names)
    measures: dict[str, tuple[int, str]] = {}  # measure id -> (version defined, name)
    recorded: dict[str, _Recorded] = {}  # measurement id -> where it was recorded, its value
    for entry in history:
        data = entry.data
        details = [
            (_FIELD_LABELS.get(k, k.replace("_", " ").capitalize()), _plain(k, v, labels))
            for k, v in data.items()
            if k != "measurement_id" and not (k in _SHOWN_WHEN_SET and v in (None, ""))
        ]
        row = AuditRow(entry, details)
        if entry.event_type == "MeasureDefined":
            measures[str(data["measure_id"])] = (entry.version, str(data["name"]))
            labels[str(data["measure_id"])] = str(data["name"])
        elif entry.event_type == "MeasurementRecorded":
            period = _month(str(data["period"]))
            recorded[str(data["measurement_id"])] = _Recorded(
                row, str(data["measure_id"]), period, float(data["value"]), ""
            )
        elif entry.event_type == "MeasurementsPasted":  # each value, beside its own changes
            by_month = _by_month(data["values"])
            for v in data["values"]:
                period = _pasted_period(str(v["period"]), by_month)
                recorded[str(v["measurement_id"])] = _Recorded(
                    row, str(data["measure_id"]), period, float(v["value"]), f"{period}: "
                )
        elif entry.event_type in _FOLLOW_UPS and str(data["measurement_id"]) in recorded:
            was = recorded[str(data["measurement_id"])]
            measure = measures.get(was.measure_id, (0, "a measure"))[1]
            value = was.value
            row.about = Link(was.row.entry.version, f"{measure}, {was.period}: {value:g}")
            said = _FOLLOW_UPS[entry.event_type]
            if entry.event_type == "MeasurementCorrected":
                new = float(data["value"])
                row.change = f"{value:g} → {new:g}"
                said = f"corrected {value:g} → {new:g}"
                recorded[str(data["measurement_id"])] = replace(was, value=new)
            reason = f": {data['reason']}" if data.get("reason") else ""
            was.row.later.append(Link(entry.version, f"{was.which}{said}{reason}"))
        elif entry.event_type in _MEASURE_CHANGES and str(data["measure_id"]) in measures:
            defined, name = measures[str(data["measure_id"])]
            row.about = Link(defined, f"the measure {name}")
        rows.append(row)
    return rows


def _names(engine: Engine) -> dict[str, str]:
    """Organisation and cohort names by id (not people: fellows stay as ids)."""
    found = {str(k): v for k, v in organisation_names(engine).items()}
    return found | dict(cohort_options(engine))


def _actors(history: list[HistoryEntry]) -> list[tuple[str, str]]:
    roles: dict[str, list[str]] = {}
    for e in history:
        said = roles.setdefault(e.actor.user_id, [])
        if e.actor.role.value not in said:
            said.append(e.actor.role.value)
    return [(u, f"{u} ({', '.join(r)})") for u, r in sorted(roles.items())]


@router.get("/projects/{project_id}/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    project_id: UUID,
    user: PageUser,
    svc: AppServices,
    event_type: Annotated[str, Query(alias="type", max_length=40)] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    printable: Annotated[bool, Query(alias="print")] = False,
    live: bool = False,
) -> Response:
    """Every event, filtered by type and actor (htmx re-renders the table only).

    ``live`` is the page's own refresh when someone records an event (the live stream): the
    table, and the verification card beside it, which a new event changes too.
    """
    project = readable_project(svc, user, project_id)
    engine = svc.read_side.engine
    history = svc.tracker.history(project_id)
    rows = [
        r
        for r in build_rows(history, _names(engine))
        if (not event_type or r.entry.event_type == event_type)
        and (not actor or r.entry.actor.user_id == actor)
    ]
    checkpoints = list_checkpoints(engine)
    filters = {"type": event_type, "actor": actor}
    query = urlencode({k: v for k, v in filters.items() if v})
    present = dict.fromkeys(e.event_type for e in history)
    refresh = live and is_htmx(request)
    return render(
        request,
        "audit/show.html",
        {
            "project": project,
            "rows": rows,
            "total": len(history),
            "late": sum(1 for r in rows if r.flag == "late"),
            "early": sum(1 for r in rows if r.flag == "early"),
            "late_after": LATE_AFTER_DAYS,
            "values": filters,
            "query": query,
            "filtered": bool(query),
            "printable": printable,
            "types": [(t, EVENT_LABELS.get(t, t)) for t in present],
            "actors": _actors(history),
            "refresh": refresh,
            "integrity": None
            if is_htmx(request) and not refresh  # the filtered table alone does not show it
            else integrity_of(
                svc.tracker, checkpoints, project_id, len(history), trusted_keys(svc.settings)
            ),
            "checkpoints": sorted(checkpoints, key=lambda c: c.seq, reverse=True)[:10],
            "printed_at": datetime.now(UTC),
        },
        fragment="audit/_refresh.html" if refresh else "audit/_events.html",
    )


CSV_COLUMNS = (
    "project_id",
    "version",
    "notification_id",
    "event_type",
    "event",
    "occurred_on",
    "recorded_at",
    "gap_days",
    "actor_id",
    "actor_role",
    "data",
)


def _attachment(project_id: UUID, extension: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="project-{project_id}-history.{extension}"'
    }


@router.get("/projects/{project_id}/audit.csv")
def audit_csv(project_id: UUID, user: PageUser, svc: AppServices) -> Response:
    """The whole history as CSV: one row per event, both time axes, the event's data as JSON."""
    readable_project(svc, user, project_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in svc.tracker.history(project_id):
        writer.writerow(
            (
                project_id,
                e.version,
                e.notification_id if e.notification_id is not None else "",
                e.event_type,
                EVENT_LABELS.get(e.event_type, e.event_type),
                e.occurred_on.isoformat(),
                e.recorded_at.astimezone(UTC).isoformat(),
                gap_days(e),
                e.actor.user_id,
                e.actor.role.value,
                json.dumps(e.data, sort_keys=True, ensure_ascii=False),
            )
        )
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8", headers=_attachment(project_id, "csv")
    )


@router.get("/projects/{project_id}/audit.json")
def audit_json(project_id: UUID, user: PageUser, svc: AppServices) -> Response:
    """The whole history as JSON: the API's history entries, each with its gap in days."""
    project = readable_project(svc, user, project_id)
    body = {
        "project_id": str(project_id),
        "title": project.title,
        "version": project.version,
        "exported_at": datetime.now(UTC).isoformat(),
        "events": [
            {**e.model_dump(mode="json"), "gap_days": gap_days(e)}
            for e in svc.tracker.history(project_id)
        ],
    }
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers=_attachment(project_id, "json"),
    )
