"""Measure series: a measure's current values, or its values as they stood at a date."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, and_, func, or_, select

from domain.values import Frequency, ImprovementDirection
from read_models.queries.common import AsAt, Axis, UtcDateTime
from read_models.views.measures import measurements, measures, recalculations, values
from read_models.views.organisations import involvements
from read_models.views.timeline import projects


class MeasureInfo(BaseModel):
    """A measure's definition."""

    measure_id: UUID
    project_id: UUID
    name: str
    unit: str
    direction: ImprovementDirection
    target: float | None
    frequency: Frequency
    defined_on: date
    baseline_points: int | None = None
    """The stored baseline: limits fixed on each phase's first N points (None: all of them)."""


class SeriesPoint(BaseModel):
    """One period's value (ghosted: shown on charts, left out of their calculations)."""

    measurement_id: UUID
    period: date
    value: float
    corrected: bool
    occurred_on: date
    recorded_at: UtcDateTime
    ghosted: bool = False
    ghost_reason: str | None = None
    astronomical: bool = False
    astronomical_reason: str | None = None


class MeasureSeries(BaseModel):
    """A measure's values in period order, corrections applied and retractions removed."""

    measure: MeasureInfo
    as_at: AsAt | None
    points: list[SeriesPoint]


def project_measures(engine: Engine, project_id: UUID) -> list[MeasureInfo]:
    """A project's measures, in the order they were defined."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(measures)
            .where(measures.c.project_id == project_id)
            .order_by(measures.c.defined_at)
        ).mappings()
        return [MeasureInfo.model_validate(dict(r)) for r in rows]


def measure_series(
    engine: Engine, measure_id: UUID, as_at: AsAt | None = None
) -> MeasureSeries | None:
    """The series now, or as it stood at a date: each measurement's last value then."""
    with engine.connect() as conn:
        found = (
            conn.execute(select(measures).where(measures.c.measure_id == measure_id))
            .mappings()
            .first()
        )
        if found is None:
            return None
        info = MeasureInfo.model_validate(dict(found))
        if as_at is None:
            m = measurements.c
            rows = conn.execute(
                select(
                    m.measurement_id,
                    m.period,
                    m.value,
                    (m.corrections > 0).label("corrected"),
                    m.occurred_on,
                    m.recorded_at,
                    m.ghosted,
                    m.ghost_reason,
                    m.astronomical,
                    m.astronomical_reason,
                )
                .where(m.measure_id == measure_id, m.retracted.is_(False))
                .order_by(m.period)
            ).mappings()
            points = [SeriesPoint.model_validate(dict(r)) for r in rows]
        else:
            points = _series_as_at(conn, measure_id, as_at)
    return MeasureSeries(measure=info, as_at=as_at, points=points)


def _series_as_at(conn: Connection, measure_id: UUID, as_at: AsAt) -> list[SeriesPoint]:
    v = values.c
    in_force = (
        v.recorded_at <= as_at.cutoff if as_at.axis is Axis.RECORDED else v.occurred_on <= as_at.day
    )
    latest = (
        select(v.measurement_id, func.max(v.seq).label("seq"))
        .where(v.measure_id == measure_id, in_force)
        .group_by(v.measurement_id)
        .subquery()
    )
    first = (
        select(v.measurement_id, v.occurred_on, v.recorded_at)
        .where(v.measure_id == measure_id, v.seq == 1)
        .subquery()
    )
    rows = conn.execute(
        select(
            v.measurement_id, v.period, v.value, v.kind, first.c.occurred_on, first.c.recorded_at
        )
        .join(latest, and_(latest.c.measurement_id == v.measurement_id, latest.c.seq == v.seq))
        .join(first, first.c.measurement_id == v.measurement_id)
        .order_by(v.period)
    ).mappings()
    return [
        SeriesPoint(
            measurement_id=r["measurement_id"],
            period=r["period"],
            value=r["value"],
            corrected=r["kind"] == "corrected",
            occurred_on=r["occurred_on"],
            recorded_at=r["recorded_at"],
        )
        for r in rows
        if r["kind"] != "retracted"
    ]


def recalculation_points(engine: Engine, measure_id: UUID) -> list[date]:
    """The periods a measure's limits are recalculated from, in order."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(recalculations.c.from_period)
                .where(recalculations.c.measure_id == measure_id)
                .order_by(recalculations.c.from_period)
            ).scalars()
        )


def ghosted_measurements(engine: Engine, measure_id: UUID) -> dict[UUID, str | None]:
    """The measure's ghosted measurements (current setting) and why."""
    m = measurements.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.measurement_id, m.ghost_reason).where(
                m.measure_id == measure_id, m.ghosted.is_(True)
            )
        ).all()
    return {r.measurement_id: r.ghost_reason for r in rows}


def astronomical_measurements(engine: Engine, measure_id: UUID) -> dict[UUID, str | None]:
    """The measure's measurements flagged astronomical (current setting) and why."""
    m = measurements.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.measurement_id, m.astronomical_reason).where(
                m.measure_id == measure_id, m.astronomical.is_(True)
            )
        ).all()
    return {r.measurement_id: r.astronomical_reason for r in rows}


class MeasureLink(BaseModel):
    """A measure and its project, for a list of charts to open (at a date, in a replay)."""

    project_id: UUID
    project_title: str
    measure_id: UUID
    name: str
    frequency: Frequency


def measure_links(
    engine: Engine,
    as_at: AsAt | None = None,
    *,
    organisation_id: UUID | None = None,
    visible_to: tuple[str, list[UUID]] | None = None,
) -> list[MeasureLink]:
    """The measures defined by the point (every one now), by project title then definition.

    ``organisation_id`` keeps the projects the organisation ever led, partnered, piloted or
    adopted; ``visible_to`` (a sponsor's user id and organisations) keeps the projects they
    sponsor or whose lead or current partners include one of their organisations, as the
    project list does.
    """
    m, p, i = measures.c, projects.c, involvements.c
    query = select(
        m.project_id, p.title.label("project_title"), m.measure_id, m.name, m.frequency
    ).join(projects, p.project_id == m.project_id)
    if as_at is not None and as_at.axis is Axis.RECORDED:
        query = query.where(m.defined_at <= as_at.cutoff)
    elif as_at is not None:
        query = query.where(m.defined_on <= as_at.day)
    if organisation_id is not None:
        query = query.where(
            or_(
                p.lead_organisation_id == organisation_id,
                p.project_id.in_(select(i.project_id).where(i.organisation_id == organisation_id)),
            )
        )
    if visible_to is not None:
        sponsor, organisations = visible_to
        current = select(i.project_id).where(
            i.organisation_id.in_(organisations), i.role.in_(["lead", "partner"]), i.to_on.is_(None)
        )
        query = query.where(or_(p.sponsor_id == sponsor, p.project_id.in_(current)))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(p.title, m.defined_at)).mappings()
        return [MeasureLink.model_validate(dict(r)) for r in rows]
