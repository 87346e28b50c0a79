"""Exports for analysts: events, stage transitions, projects, organisations, measures (MDC).

Every export is a stream of rows (never the whole log in memory); the interfaces write them as
CSV or JSON lines and decide whether people appear as pseudonyms (everyone but admins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, select

from application.tracker import ImpactTracker
from read_models.envelope import Envelope, decode
from read_models.queries.charts import ANNOTATED
from read_models.views.measures import measurements, measures
from read_models.views.organisations import organisations as org_table
from read_models.views.portfolio import cohorts as pf_cohorts
from read_models.views.portfolio import organisations as pf_organisations
from read_models.views.portfolio import projects as pf_projects
from read_models.views.portfolio import systems as pf_systems
from read_models.views.timeline import entries, projects
from read_models.views.timeline import stage_changes as timeline_changes

MDC_COLUMNS = [
    "metric_id",
    "metric_name",
    "unit",
    "improvement_direction",
    "target",
    "group_type",
    "group_id",
    "group_name",
    "date",
    "value",
    "recalculate_limits",
    "ghost",
    "annotation",
]


def measures_long(engine: Engine, *, recalculate_at_pilot: bool = True) -> Iterator[dict[str, Any]]:
    """Every current point of every measure, in MDC's long format (streamed, measure by measure).

    ``recalculate_limits`` marks the first point on or after the project's first pilot (the
    one-click choice of the charts); ``annotation`` names milestones that fell in the period.
    """
    with engine.connect() as conn:
        defined = (
            conn.execute(
                select(measures, projects.c.title)
                .join(projects, projects.c.project_id == measures.c.project_id)
                .order_by(projects.c.title, measures.c.defined_at)
            )
            .mappings()
            .all()
        )
        for measure in defined:
            yield from _rows(conn, dict(measure), recalculate_at_pilot)


def _rows(
    conn: Any, measure: dict[str, Any], recalculate_at_pilot: bool
) -> Iterator[dict[str, Any]]:
    m, e = measurements.c, entries.c
    points = conn.execute(
        select(m.period, m.value)
        .where(m.measure_id == measure["measure_id"], m.retracted.is_(False))
        .order_by(m.period)
    ).all()
    milestones = conn.execute(
        select(e.occurred_on, e.event_type, e.data)
        .where(
            e.project_id == measure["project_id"], e.event_type.in_([*ANNOTATED, "MilestoneLogged"])
        )
        .order_by(e.occurred_on)
    ).all()
    pilots = [r.occurred_on for r in milestones if r.event_type == "PilotStarted"]
    pilot_period = min(pilots).replace(day=1) if pilots else None
    marked = False
    for point in points:
        recalculate = bool(
            recalculate_at_pilot
            and pilot_period
            and not marked
            and point.period >= pilot_period
            and point is not points[0]
        )
        marked = marked or recalculate
        notes = [
            ANNOTATED.get(r.event_type) or r.data.get("title", "")
            for r in milestones
            if (r.occurred_on.year, r.occurred_on.month) == (point.period.year, point.period.month)
        ]
        yield {
            "metric_id": str(measure["measure_id"]),
            "metric_name": measure["name"],
            "unit": measure["unit"],
            "improvement_direction": measure["direction"],
            "target": "" if measure["target"] is None else measure["target"],
            "group_type": "project",
            "group_id": str(measure["project_id"]),
            "group_name": measure["title"],
            "date": point.period.isoformat(),
            "value": point.value,
            "recalculate_limits": recalculate,
            "ghost": False,
            "annotation": "; ".join(n for n in notes if n),
        }


PEOPLE_FIELDS = ("lead_fellow_id", "sponsor_id")


def events_jsonl(
    tracker: ImpactTracker,
    pseudonym: Callable[[str | None], str | None] | None,
    *,
    cohort_projects: set[UUID] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Iterator[dict[str, Any]]:
    """Every event with both time axes; people as pseudonyms unless ``pseudonym`` is None.

    Streamed from the event store page by page. Filters: the projects of chosen cohorts (other
    streams are left out), and an effective-date range.
    """
    start = 1
    while page := tracker.recorder.select_notifications(start=start, limit=1000):
        for envelope in map(decode, page):
            if cohort_projects is not None and envelope.originator_id not in cohort_projects:
                continue
            day = envelope.occurred_on
            if (since and day < since) or (until and day > until):
                continue
            yield _event_row(envelope, pseudonym)
        start = page[-1].id + 1


def _event_row(
    envelope: Envelope, pseudonym: Callable[[str | None], str | None] | None
) -> dict[str, Any]:
    hide = pseudonym or (lambda value: value)
    data = {
        k: v
        for k, v in envelope.state.items()
        if k not in {"actor", "timestamp", "occurred_on", "originator_topic"}
    }
    for key in PEOPLE_FIELDS:
        if key in data:
            data[key] = hide(data[key])
    if "team_fellow_ids" in data:
        data["team_fellow_ids"] = [hide(f) for f in data["team_fellow_ids"]]
    return {
        "notification_id": envelope.notification_id,
        "stream_id": str(envelope.originator_id),
        "version": envelope.version,
        "event_type": envelope.event_type,
        "occurred_on": envelope.occurred_on.isoformat(),
        "recorded_at": envelope.recorded_at.isoformat(),
        "actor": hide(envelope.actor_id),
        "actor_role": envelope.actor_role,
        "data": data,
    }


STAGE_COLUMNS = ["project_id", "from_stage", "to_stage", "effective_date", "recorded_at"]


def stage_transitions(engine: Engine, *, cohort_id: UUID | None = None) -> Iterator[dict[str, Any]]:
    """Each stage a project entered and the one it left, on both axes (survival analysis)."""
    s, p = timeline_changes.c, projects.c
    query = select(s.project_id, s.previous_stage, s.stage, s.occurred_on, s.recorded_at)
    if cohort_id is not None:
        query = query.join(projects, p.project_id == s.project_id).where(p.cohort_id == cohort_id)
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(s.project_id, s.seq)):
            yield {
                "project_id": str(row.project_id),
                "from_stage": row.previous_stage or "",
                "to_stage": row.stage,
                "effective_date": row.occurred_on.isoformat(),
                "recorded_at": row.recorded_at.isoformat() + "Z",
            }


PROJECT_COLUMNS = [
    "project_id",
    "title",
    "cohort_id",
    "cohort",
    "system",
    "lead_organisation",
    "lead_sector",
    "stage",
    "status",
    "proposed_on",
    "piloted_on",
    "adopted_on",
]


def projects_table(engine: Engine, *, cohort_id: UUID | None = None) -> Iterator[dict[str, Any]]:
    """One row per project with its current stage, dates and groupings."""
    p, c, o, y = pf_projects.c, pf_cohorts.c, pf_organisations.c, pf_systems.c
    query = (
        select(
            p.project_id,
            p.title,
            p.cohort_id,
            c.programme,
            c.number,
            y.name.label("system"),
            o.name.label("lead"),
            o.sector,
            p.stage,
            p.status,
            p.proposed_on,
            p.piloted_on,
            p.adopted_on,
        )
        .join(pf_cohorts, c.cohort_id == p.cohort_id)
        .join(pf_systems, y.system_id == c.system_id)
        .join(pf_organisations, o.organisation_id == p.lead_organisation_id)
    )
    if cohort_id is not None:
        query = query.where(p.cohort_id == cohort_id)
    with engine.connect() as conn:
        for r in conn.execute(query.order_by(c.number, p.title)):
            yield {
                "project_id": str(r.project_id),
                "title": r.title,
                "cohort_id": str(r.cohort_id),
                "cohort": f"{r.programme}, cohort {r.number}",
                "system": r.system,
                "lead_organisation": r.lead,
                "lead_sector": r.sector,
                "stage": r.stage,
                "status": r.status,
                "proposed_on": r.proposed_on.isoformat(),
                "piloted_on": r.piloted_on.isoformat() if r.piloted_on else "",
                "adopted_on": r.adopted_on.isoformat() if r.adopted_on else "",
            }


ORGANISATION_COLUMNS = ["organisation_id", "name", "sector", "system_id", "ods_code"]


def organisations_table(engine: Engine) -> Iterator[dict[str, Any]]:
    """One row per organisation."""
    o = org_table.c
    with engine.connect() as conn:
        for r in conn.execute(select(org_table).order_by(o.name)):
            yield {
                "organisation_id": str(r.organisation_id),
                "name": r.name,
                "sector": r.sector,
                "system_id": str(r.system_id),
                "ods_code": r.ods_code or "",
            }
