"""SPC charts of measure series: the series from the views, the maths from ``domain.spc``."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from domain.spc import SPCChart, SPCPoint, SPCSettings, spc_chart
from read_models.queries.common import AsAt, Axis
from read_models.queries.measures import (
    MeasureInfo,
    MeasureSeries,
    ghosted_measurements,
    measure_series,
    recalculation_points,
)
from read_models.views.timeline import entries

ANNOTATED = {"PilotStarted": "Pilot started", "ProjectAdopted": "Adopted"}


class ChartOptions(BaseModel):
    """How to draw the chart: where limits are recalculated, the baseline, the rule lengths."""

    recalculate_from: list[date] = Field(default_factory=list)
    recalculate_at_pilot: bool = Field(
        default=False, description="Recalculate the limits from the first pilot's period."
    )
    baseline_points: int | None = Field(default=None, ge=2, le=1000)
    shift_length: int = Field(default=7, ge=6, le=8)
    trend_length: int = Field(default=7, ge=6, le=8)
    minimum_points: int = Field(default=15, ge=2, le=1000)


class Annotation(BaseModel):
    """A project milestone drawn on the chart."""

    on: date
    label: str


class MeasureChart(BaseModel):
    """A measure, its SPC chart and the project's milestones to draw on it."""

    measure: MeasureInfo
    as_at: AsAt | None
    chart: SPCChart
    annotations: list[Annotation]


def charted_points(
    engine: Engine,
    measure_id: UUID,
    as_at: AsAt | None = None,
    options: ChartOptions | None = None,
) -> tuple[MeasureSeries, list[Annotation], list[SPCPoint]] | None:
    """The series and the analyst's marks on it (ghosts, recalculations) now or as at a date.

    The charts and the MDC export share this, so a point is ghosted, or starts a new phase, in
    both or in neither.
    """
    options = options or ChartOptions()
    series = measure_series(engine, measure_id, as_at)
    if series is None:
        return None
    annotations = _annotations(engine, series.measure.project_id, as_at)
    if as_at is None:
        stored, ghosts = (
            recalculation_points(engine, measure_id),
            ghosted_measurements(engine, measure_id),
        )
    else:  # the chart's own settings as they stood then, not today's
        stored, ghosts = _settings_as_at(engine, series.measure, as_at)
    marks = {_period_of(d) for d in [*stored, *options.recalculate_from]}
    if options.recalculate_at_pilot:
        pilots = [a.on for a in annotations if a.label == ANNOTATED["PilotStarted"]]
        marks |= {_period_of(min(pilots))} if pilots else set()
    # Limits are recalculated from the first point on or after each marked period.
    starts = set()
    for mark in marks:
        first = next((k for k, p in enumerate(series.points) if p.period >= mark), None)
        if first:  # a mark before the first point changes nothing
            starts.add(first)
    points = [
        SPCPoint(
            period=p.period,
            value=p.value,
            recalculate=k in starts,
            ghost=p.measurement_id in ghosts,
            ghost_reason=ghosts.get(p.measurement_id),
        )
        for k, p in enumerate(series.points)
    ]
    return series, annotations, points


def measure_chart(
    engine: Engine,
    measure_id: UUID,
    as_at: AsAt | None = None,
    options: ChartOptions | None = None,
) -> MeasureChart | None:
    """The measure's chart now, or as its series stood at a date (None for an unknown one)."""
    options = options or ChartOptions()
    found = charted_points(engine, measure_id, as_at, options)
    if found is None:
        return None
    series, annotations, points = found
    chart = spc_chart(
        points,
        direction=series.measure.direction,
        target=series.measure.target,
        frequency=series.measure.frequency,
        allow_gaps=True,
        settings=SPCSettings(
            shift_length=options.shift_length,
            trend_length=options.trend_length,
            minimum_points=options.minimum_points,
            baseline_points=options.baseline_points,
        ),
    )
    return MeasureChart(measure=series.measure, as_at=as_at, chart=chart, annotations=annotations)


SETTINGS = (
    "MeasurementGhosted",
    "MeasurementRestored",
    "RecalculationMarked",
    "RecalculationRemoved",
)


def _settings_as_at(
    engine: Engine, measure: MeasureInfo, as_at: AsAt
) -> tuple[list[date], dict[UUID, str | None]]:
    """Recalculation points and ghosted points as they stood at a date, from the timeline.

    The settings are events like any other, so a replay to a past date shows the chart as its
    readers saw it then (recorded axis) or as it was in effect (effective axis).
    """
    e = entries.c
    query = select(e.event_type, e.data).where(
        e.project_id == measure.project_id, e.event_type.in_(SETTINGS)
    )
    if as_at.axis is Axis.RECORDED:
        query = query.where(e.recorded_at <= as_at.cutoff)
    else:
        query = query.where(e.occurred_on <= as_at.day)
    marks: set[date] = set()
    ghosts: dict[UUID, str | None] = {}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(e.version)):
            data = row.data
            if row.event_type == "MeasurementGhosted":
                ghosts[UUID(data["measurement_id"])] = data.get("reason")
            elif row.event_type == "MeasurementRestored":
                ghosts.pop(UUID(data["measurement_id"]), None)
            elif data.get("measure_id") == str(measure.measure_id):
                day = date.fromisoformat(data["from_period"])
                if row.event_type == "RecalculationMarked":
                    marks.add(day)
                else:
                    marks.discard(day)
    return sorted(marks), ghosts


def _period_of(day: date) -> date:
    return day.replace(day=1)


def _annotations(engine: Engine, project_id: UUID, as_at: AsAt | None) -> list[Annotation]:
    e = entries.c
    query = select(e.occurred_on, e.event_type, e.data).where(
        e.project_id == project_id, e.event_type.in_([*ANNOTATED, "MilestoneLogged"])
    )
    if as_at is not None and as_at.axis is Axis.RECORDED:
        query = query.where(e.recorded_at <= as_at.cutoff)
    elif as_at is not None:
        query = query.where(e.occurred_on <= as_at.day)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(e.occurred_on, e.version)).all()
    found = []
    for row in rows:
        if row.event_type == "MilestoneLogged":
            if row.data.get("is_sign_off"):
                found.append(Annotation(on=row.occurred_on, label=f"Sign-off: {row.data['title']}"))
        else:
            found.append(Annotation(on=row.occurred_on, label=ANNOTATED[row.event_type]))
    return found
