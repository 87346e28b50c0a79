"""Exports for analysts: measures in Making Data Count's long format, one row per point."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from read_models.queries.charts import ANNOTATED
from read_models.views.measures import measurements, measures
from read_models.views.timeline import entries, projects

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
