"""SPC charts of measure series: the series from the views, the maths from ``domain.spc``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from domain.periods import period_index
from domain.spc import SPCChart, SPCPoint, SPCSettings, spc_chart
from read_models.queries.common import AsAt, Axis
from read_models.queries.measures import (
    MeasureInfo,
    MeasureSeries,
    astronomical_measurements,
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
    baseline_points: int | None = Field(
        default=None, ge=2, le=1000, description="Override the measure's stored baseline."
    )
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
    baseline_points: int | None = Field(
        default=None, description="The baseline the limits were fixed on (None: all points)."
    )


@dataclass(frozen=True)
class ChartMarks:
    """The analyst's stored marks on a measure's chart, now or as they stood at a date."""

    recalculate_from: list[date]
    ghosts: dict[UUID, str | None]
    astronomical: dict[UUID, str | None]
    baseline_points: int | None


def charted_points(
    engine: Engine,
    measure_id: UUID,
    as_at: AsAt | None = None,
    options: ChartOptions | None = None,
) -> tuple[MeasureSeries, list[Annotation], list[SPCPoint]] | None:
    """The series and the analyst's marks on it (ghosts, recalculations, astronomical points).

    The charts and the MDC export share this, so a point is ghosted, flagged or starts a new
    phase in both or in neither.  A mark is a date; it starts a phase at the first point whose
    period (at the measure's frequency, ``domain.periods``) is the mark's period or later, so a
    mark on 18 March starts a weekly chart's phase at the week of 18 March, not at 1 March.
    """
    found = _charted(engine, measure_id, as_at, options or ChartOptions())
    return None if found is None else found[:3]


def _charted(
    engine: Engine, measure_id: UUID, as_at: AsAt | None, options: ChartOptions
) -> tuple[MeasureSeries, list[Annotation], list[SPCPoint], ChartMarks] | None:
    series = measure_series(engine, measure_id, as_at)
    if series is None:
        return None
    annotations = _annotations(engine, series.measure.project_id, as_at)
    if as_at is None:
        marks = ChartMarks(
            recalculate_from=recalculation_points(engine, measure_id),
            ghosts=ghosted_measurements(engine, measure_id),
            astronomical=astronomical_measurements(engine, measure_id),
            baseline_points=series.measure.baseline_points,
        )
    else:  # the chart's own settings as they stood then, not today's
        marks = _settings_as_at(engine, series.measure, as_at)
    frequency = series.measure.frequency
    starts_at = {
        period_index(d, frequency) for d in [*marks.recalculate_from, *options.recalculate_from]
    }
    if options.recalculate_at_pilot:
        pilot = first_pilot(annotations)
        starts_at |= {period_index(pilot, frequency)} if pilot else set()
    indices = [period_index(p.period, frequency) for p in series.points]
    starts = set()
    for mark in starts_at:
        first = next((k for k, index in enumerate(indices) if index >= mark), None)
        if first:  # a mark on or before the first point's period changes nothing
            starts.add(first)
    points = [
        SPCPoint(
            period=p.period,
            value=p.value,
            recalculate=k in starts,
            ghost=p.measurement_id in marks.ghosts,
            ghost_reason=marks.ghosts.get(p.measurement_id),
            astronomical=p.measurement_id in marks.astronomical,
        )
        for k, p in enumerate(series.points)
    ]
    return series, annotations, points, marks


def first_pilot(annotations: list[Annotation]) -> date | None:
    """The day the first pilot started, from the chart's annotations (None before any pilot)."""
    pilots = [a.on for a in annotations if a.label == ANNOTATED["PilotStarted"]]
    return min(pilots) if pilots else None


def measure_chart(
    engine: Engine,
    measure_id: UUID,
    as_at: AsAt | None = None,
    options: ChartOptions | None = None,
) -> MeasureChart | None:
    """The measure's chart now, or as its series stood at a date (None for an unknown one).

    The baseline is the measure's stored one (as it stood at the date), unless the options
    name another.
    """
    found = chart_and_points(engine, measure_id, as_at, options)
    return None if found is None else found[0]


def chart_and_points(
    engine: Engine,
    measure_id: UUID,
    as_at: AsAt | None = None,
    options: ChartOptions | None = None,
) -> tuple[MeasureChart, list[SPCPoint]] | None:
    """The chart and the marked points it was drawn from (the MDC export needs both)."""
    options = options or ChartOptions()
    found = _charted(engine, measure_id, as_at, options)
    if found is None:
        return None
    series, annotations, points, marks = found
    baseline = options.baseline_points or marks.baseline_points
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
            baseline_points=baseline,
        ),
    )
    drawn = MeasureChart(
        measure=series.measure,
        as_at=as_at,
        chart=chart,
        annotations=annotations,
        baseline_points=baseline,
    )
    return drawn, points


SETTINGS = (
    "MeasurementGhosted",
    "MeasurementRestored",
    "RecalculationMarked",
    "RecalculationRemoved",
    "MeasurementFlaggedAstronomical",
    "MeasurementUnflaggedAstronomical",
    "BaselineSet",
    "BaselineCleared",
)


def _settings_as_at(engine: Engine, measure: MeasureInfo, as_at: AsAt) -> ChartMarks:
    """The chart's marks and baseline as they stood at a date, from the timeline.

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
    astronomical: dict[UUID, str | None] = {}
    baseline: int | None = None
    mine = str(measure.measure_id)
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(e.version)):
            data = row.data
            kind = row.event_type
            if kind == "MeasurementGhosted":
                ghosts[UUID(data["measurement_id"])] = data.get("reason")
            elif kind == "MeasurementRestored":
                ghosts.pop(UUID(data["measurement_id"]), None)
            elif kind == "MeasurementFlaggedAstronomical":
                astronomical[UUID(data["measurement_id"])] = data.get("reason")
            elif kind == "MeasurementUnflaggedAstronomical":
                astronomical.pop(UUID(data["measurement_id"]), None)
            elif data.get("measure_id") != mine:
                continue
            elif kind == "BaselineSet":
                baseline = int(data["points"])
            elif kind == "BaselineCleared":
                baseline = None
            else:
                day = date.fromisoformat(data["from_period"])
                if kind == "RecalculationMarked":
                    marks.add(day)
                else:
                    marks.discard(day)
    return ChartMarks(sorted(marks), ghosts, astronomical, baseline)


def _annotations(engine: Engine, project_id: UUID, as_at: AsAt | None) -> list[Annotation]:
    """The project's milestones as the chart draws them, in effective-date order.

    Pilot starts, adoptions and every logged milestone (sign-offs so called); the MDC export's
    annotations are these same ones.
    """
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
            title = row.data["title"]
            label = f"Sign-off: {title}" if row.data.get("is_sign_off") else title
            found.append(Annotation(on=row.occurred_on, label=label))
        else:
            found.append(Annotation(on=row.occurred_on, label=ANNOTATED[row.event_type]))
    return found
