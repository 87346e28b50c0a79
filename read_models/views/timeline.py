"""The project timeline view: every event of every project, and each project's stage history.

Tables: ``timeline_projects`` (current stage, status, people and organisations involved),
``timeline_members`` (who may write: the lead fellow and the team), ``timeline_entries`` (one row
per event, with actor, effective date and recorded time) and ``timeline_stage_changes`` (each
stage the project entered, on both time axes).

Each entry also keeps its JSON as the API sends it, up to its data (``head``): a timeline page,
the API's busiest read, is then its rows' heads and data joined, not written out again on every
read (on SQLite that writing was most of the read's time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from json.encoder import encode_basestring_ascii
from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from read_models.envelope import Envelope
from read_models.progress import advance, new_progress
from read_models.projection import Projection, Row, RowCache, insert_rows

metadata = MetaData()

projects = Table(
    "timeline_projects",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("cohort_id", Uuid, nullable=False),
    Column("lead_fellow_id", Uuid, nullable=False),
    Column("lead_organisation_id", Uuid, nullable=False),
    Column("sponsor_id", String(64)),
    Column("proposed_on", Date, nullable=False),
    Column("proposed_at", DateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("pilots", Integer, nullable=False),
    Column("current_measurements", Integer, nullable=False),
    Column("adoptions", Integer, nullable=False),
    Column("stage_changes", Integer, nullable=False),
    Column("last_recorded_at", DateTime, nullable=False),
)

members = Table(
    "timeline_members",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("fellow_id", Uuid, primary_key=True),
    Index("timeline_members_by_fellow", "fellow_id"),
)

entries = Table(
    "timeline_entries",
    metadata,
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
    Column("project_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("head", Text, nullable=False),  # the entry's JSON up to its data: ``entry_head``
    Index("timeline_entries_by_project", "project_id", "version"),
    Index("timeline_entries_by_project_effective", "project_id", "occurred_on"),
)

stage_changes = Table(
    "timeline_stage_changes",
    metadata,
    Column("project_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("stage", String(16), nullable=False),
    Column("previous_stage", String(16)),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("notification_id", BigInteger, nullable=False),
)

_BASE_FIELDS = ("timestamp", "actor", "occurred_on", "originator_topic")
_text = encode_basestring_ascii  # json.dumps of a str (ensure_ascii), without its overhead


def json_moment(recorded: datetime) -> str:
    """A recorded time as pydantic writes a UTC datetime (``...Z``, microseconds if any)."""
    if recorded.tzinfo is not None:
        recorded = recorded.astimezone(UTC).replace(tzinfo=None)
    return recorded.isoformat() + "Z"


def entry_head(
    *,
    notification_id: int,
    version: int,
    event_type: str,
    actor_id: str,
    actor_role: str,
    occurred_on: date,
    recorded_at: datetime,
    summary: str,
) -> str:
    """An entry's JSON as ``TimelineEntry`` dumps it, up to and with its ``"data":`` key.

    The entry is this, its data's JSON and a closing brace. Text is escaped as ``json.dumps``
    escapes it (ASCII only), so the heads and the stored data join into the API's bytes.
    """
    return (
        f'{{"notification_id":{notification_id},"version":{version},'
        f'"event_type":{_text(event_type)},"actor_id":{_text(actor_id)},'
        f'"actor_role":{_text(actor_role)},"occurred_on":"{occurred_on.isoformat()}",'
        f'"recorded_at":"{json_moment(recorded_at)}","summary":{_text(summary)},"data":'
    )


def _data(state: dict[str, Any]) -> dict[str, Any]:
    """The event's own fields (copying and removing four keys beats filtering every key)."""
    data = dict(state)
    for key in _BASE_FIELDS:
        data.pop(key, None)
    return data


def summarise(event: Envelope) -> str:
    """One line a sponsor can read in a timeline."""
    s: dict[str, Any] = event.state
    match event.event_type:
        case "ProjectProposed":
            return f"Proposed: {s['title']}"
        case "PilotStarted":
            return f"Pilot started at {', '.join(s['sites'])}"
        case "MeasureDefined":
            return f"Measure defined: {s['name']} ({s['unit']}, {s['direction']} is better)"
        case "MeasurementRecorded":
            return f"Measurement recorded for {s['period']}: {s['value']:g}"
        case "MeasurementsPasted":
            return _pasted(s["values"])
        case "MeasurementCorrected":
            return f"Measurement corrected to {s['value']:g}: {s['reason']}"
        case "MeasurementRetracted":
            return f"Measurement retracted: {s['reason']}"
        case "ProjectAdopted":
            return f"Adopted by an organisation ({s['scope'].replace('_', ' ')})"
        case "MilestoneLogged":
            prefix = "Sign-off" if s["is_sign_off"] else "Milestone"
            return f"{prefix}: {s['title']}"
        case "OrganisationJoined":
            return "A partner organisation joined"
        case "OrganisationLeft":
            return "A partner organisation left"
        case "SponsorAssigned":
            return f"Sponsor assigned: {s['sponsor_id']}"
        case "ProjectPaused":
            return f"Paused: {s['reason']}"
        case "ProjectResumed":
            return "Resumed"
        case "ProjectClosed":
            return f"Closed ({s['outcome']}): {s['summary']}"
        case "MeasurementGhosted":
            return f"Measurement ghosted on its chart: {s['reason']}"
        case "MeasurementRestored":
            return "Ghosted measurement restored to its chart"
        case "RecalculationMarked":
            return f"Limits recalculated from {s['from_period']}: {s['reason']}"
        case "RecalculationRemoved":
            return f"Recalculation from {s['from_period']} removed"
        case "MeasurementFlaggedAstronomical":
            return f"Measurement flagged as astronomical on its run chart: {s['reason']}"
        case "MeasurementUnflaggedAstronomical":
            return "Astronomical flag taken off a measurement"
        case "BaselineSet":
            return f"Limits fixed on a baseline of the first {s['points']} points: {s['reason']}"
        case "BaselineCleared":
            return "Baseline cleared: limits from all points"
    return event.event_type


def _pasted(values: list[dict[str, Any]]) -> str:
    """The summary of a paste, "Pasted 24 values, Mar 2023 to Feb 2025", by month if it can.

    The event does not carry the measure's frequency; periods all on the first of a month are
    months or quarters and read best as such, and any other column (weekly, daily) is named by
    its days.
    """
    periods = [date.fromisoformat(v["period"]) for v in (values[0], values[-1])]
    by_month = all(date.fromisoformat(v["period"]).day == 1 for v in values)
    shown = [f"{p:%b %Y}" if by_month else f"{p.day} {p:%b %Y}" for p in periods]
    if len(values) == 1:
        return f"Pasted 1 value, {shown[0]}: {values[0]['value']:g}"
    return f"Pasted {len(values)} values, {shown[0]} to {shown[1]}"


class TimelineProjection(Projection):
    """Every project event as a timeline entry, plus stage history and membership."""

    name: ClassVar[str] = "timeline"
    version: ClassVar[int] = 2  # 2: each entry's JSON head
    metadata: ClassVar[MetaData] = metadata
    event_types: ClassVar[frozenset[str]] = frozenset(
        {
            "ProjectProposed",
            "PilotStarted",
            "MeasureDefined",
            "MeasurementRecorded",
            "MeasurementsPasted",
            "MeasurementCorrected",
            "MeasurementRetracted",
            "ProjectAdopted",
            "MilestoneLogged",
            "OrganisationJoined",
            "OrganisationLeft",
            "SponsorAssigned",
            "ProjectPaused",
            "ProjectResumed",
            "ProjectClosed",
            "MeasurementGhosted",
            "MeasurementRestored",
            "RecalculationMarked",
            "RecalculationRemoved",
            "MeasurementFlaggedAstronomical",
            "MeasurementUnflaggedAstronomical",
            "BaselineSet",
            "BaselineCleared",
        }
    )

    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Add an entry per event and update each touched project's row."""
        cache = RowCache(conn, projects, "project_id")
        cache.load(e.originator_id for e in events)
        new_entries: list[Row] = []
        new_changes: list[Row] = []
        new_members: list[Row] = []
        for event in events:
            recorded_at = event.recorded_naive
            summary = summarise(event)
            new_entries.append(
                {
                    "notification_id": event.notification_id,
                    "project_id": event.originator_id,
                    "version": event.version,
                    "event_type": event.event_type,
                    "actor_id": event.actor_id,
                    "actor_role": event.actor_role,
                    "occurred_on": event.occurred_on,
                    "recorded_at": recorded_at,
                    "summary": summary,
                    "data": _data(event.state),
                    "head": entry_head(
                        notification_id=event.notification_id,
                        version=event.version,
                        event_type=event.event_type,
                        actor_id=event.actor_id,
                        actor_role=event.actor_role,
                        occurred_on=event.occurred_on,
                        recorded_at=recorded_at,
                        summary=summary,
                    ),
                }
            )
            if event.event_type == "ProjectProposed":
                row = cache.add(self._proposed(event))
                new_members += [
                    {"project_id": event.originator_id, "fellow_id": f}
                    for f in {
                        event.uuid("lead_fellow_id"),
                        *(UUID(f) for f in event.state["team_fellow_ids"]),
                    }
                ]
            else:
                found = cache.get(event.originator_id)
                if found is None:
                    continue  # a stream whose proposal this view never saw: nothing to update
                row = found
                if event.event_type == "SponsorAssigned":
                    row["sponsor_id"] = event.state["sponsor_id"]
            previous = row["stage"]
            if advance(row, event) or event.event_type == "ProjectProposed":
                row["stage_changes"] += 1
                new_changes.append(
                    {
                        "project_id": event.originator_id,
                        "seq": row["stage_changes"],
                        "stage": row["stage"],
                        "previous_stage": None
                        if event.event_type == "ProjectProposed"
                        else previous,
                        "occurred_on": event.occurred_on,
                        "recorded_at": recorded_at,
                        "notification_id": event.notification_id,
                    }
                )
            row["version"] = event.version
            row["last_recorded_at"] = recorded_at
            cache.touch(row)
        cache.flush()
        for table, rows in (
            (entries, new_entries),
            (stage_changes, new_changes),
            (members, new_members),
        ):
            if rows:
                insert_rows(conn, table, rows)

    @staticmethod
    def _proposed(event: Envelope) -> Row:
        s = event.state
        return {
            "project_id": event.originator_id,
            "title": s["title"],
            "cohort_id": event.uuid("cohort_id"),
            "lead_fellow_id": event.uuid("lead_fellow_id"),
            "lead_organisation_id": event.uuid("lead_organisation_id"),
            "sponsor_id": s["sponsor_id"],
            "proposed_on": event.occurred_on,
            "proposed_at": event.recorded_naive,
            "version": event.version,
            "stage_changes": 0,
            "last_recorded_at": event.recorded_naive,
            **new_progress(),
        }
