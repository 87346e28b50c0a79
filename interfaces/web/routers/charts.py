"""A measure's SPC chart page: the Making Data Count chart, its numbers, and its settings.

The maths is ``domain.spc`` and the data ``read_models.queries.charts.measure_chart``, exactly
as the JSON API serves them; this module only turns the answer into a Vega-Lite spec, a table
and plain-English words, and turns the settings forms (recalculate limits, ghost a point) into
the same commands the API sends. Readers of the project see the chart; only the project's
fellows see and may use the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from application.access import is_member, require_write_project
from application.errors import NotFoundError
from application.identity.service import User
from application.results import CommandResult, MeasureView, ProjectView
from domain import commands as c
from domain.periods import period_index, period_start
from domain.spc import (
    RUN_CHART_SHIFT,
    RUN_CHART_TREND,
    AssuranceIcon,
    ChartKind,
    Classification,
    Rule,
    Side,
    Signal,
    SPCChart,
    SPCInputError,
    VariationIcon,
)
from domain.values import Frequency, ImprovementDirection, Role
from interfaces.http.deps import AppServices
from interfaces.web.common import AXES, caught_up, parse_as_at, readable_project, today
from interfaces.web.forms import FormErrors, attempt, parse
from interfaces.web.periods import period_label
from interfaces.web.session import PageUser
from interfaces.web.templating import is_htmx, render
from read_models.queries.charts import Annotation, ChartOptions, MeasureChart, measure_chart
from read_models.queries.common import AsAt, Axis
from read_models.queries.measures import measure_links, measure_series, recalculation_points

router = APIRouter(include_in_schema=False)

OPTIONS = ChartOptions()
"""The chart the page draws: Making Data Count's defaults, as the API's without parameters."""

# Making Data Count's point colours; ghosted points are drawn hollow in common-cause grey.
COLOURS = {
    "improvement": "#41B6E6",
    "concern": "#ED8B00",
    "neutral": "#7030A0",
    "common": "#A6A6A6",
    "ghost": "#A6A6A6",
}
CATEGORIES = {
    "improvement": "Special cause improvement",
    "concern": "Special cause concern",
    "neutral": "Special cause (neither direction)",
    "common": "Common cause",
    "ghost": "Ghosted (left out of the calculations)",
}
TAG_COLOURS = {"improvement": "blue", "concern": "orange", "neutral": "purple", "common": "grey"}

VARIATION: dict[VariationIcon, tuple[str, str, str]] = {
    VariationIcon.COMMON_CAUSE: (
        "Common cause variation",
        "common",
        "The latest point shows no signal: the measure is varying as it usually does, and "
        "nothing suggests the process has changed.",
    ),
    VariationIcon.IMPROVEMENT_HIGH: (
        "Special cause improvement (high)",
        "improvement",
        "The latest point is part of an unusually high pattern, and higher is better: "
        "something has changed for the better.",
    ),
    VariationIcon.IMPROVEMENT_LOW: (
        "Special cause improvement (low)",
        "improvement",
        "The latest point is part of an unusually low pattern, and lower is better: "
        "something has changed for the better.",
    ),
    VariationIcon.CONCERN_HIGH: (
        "Special cause concern (high)",
        "concern",
        "The latest point is part of an unusually high pattern, and lower is better: "
        "something has changed for the worse; find out what.",
    ),
    VariationIcon.CONCERN_LOW: (
        "Special cause concern (low)",
        "concern",
        "The latest point is part of an unusually low pattern, and higher is better: "
        "something has changed for the worse; find out what.",
    ),
    VariationIcon.NEITHER_HIGH: (
        "Special cause variation (high)",
        "neutral",
        "The latest point is part of an unusually high pattern. This measure has no better "
        "direction, so the change is neither an improvement nor a concern.",
    ),
    VariationIcon.NEITHER_LOW: (
        "Special cause variation (low)",
        "neutral",
        "The latest point is part of an unusually low pattern. This measure has no better "
        "direction, so the change is neither an improvement nor a concern.",
    ),
}
ASSURANCE: dict[AssuranceIcon, tuple[str, str, str]] = {
    AssuranceIcon.CONSISTENTLY_PASSING: (
        "Consistently passing the target",
        "improvement",
        "Both process limits are on the right side of the target: as the process runs now, "
        "it will meet the target every time.",
    ),
    AssuranceIcon.CONSISTENTLY_FAILING: (
        "Consistently failing the target",
        "concern",
        "Both process limits are on the wrong side of the target: it will not be met unless "
        "the process changes.",
    ),
    AssuranceIcon.HIT_AND_MISS: (
        "Hit and miss the target",
        "common",
        "The target lies between the process limits: as the process runs now it will sometimes "
        "meet the target and sometimes miss it, by chance alone.",
    ),
}

DONE = {
    "recalculated": "Limits recalculated",
    "unrecalculated": "Recalculation point removed",
    "ghosted": "Point ghosted: it stays on the chart but is left out of the calculations",
    "restored": "Point restored to the calculations",
    "flagged": "Point flagged as astronomical: a run chart shows it as a signal",
    "unflagged": "Astronomical flag removed",
    "baseline": "Baseline set: the limits are fixed on it and extended",
    "baseline-cleared": "Baseline cleared: the limits come from every point again",
}
RECALCULATION_LABELS = {
    "from_period": "Period to recalculate from",
    "reason": "Why the limits are recalculated",
    "occurred_on": "Date",
    "measure_id": "Measure",
}
GHOST_LABELS = {"reason": "Why it is ghosted", "measurement_id": "Point", "occurred_on": "Date"}
ASTRONOMICAL_LABELS = {
    "reason": "Why it is astronomical",
    "measurement_id": "Point",
    "occurred_on": "Date",
}
BASELINE_LABELS = {
    "points": "Number of points in the baseline",
    "reason": "Why the limits are fixed on this baseline",
    "occurred_on": "Date",
    "measure_id": "Measure",
}


@dataclass(frozen=True)
class TableRow:
    """One point as the table shows it, with what a member needs to ghost or restore it."""

    measurement_id: UUID | None
    period: date
    label: str
    value: float
    centre: float | None
    lower: float | None
    upper: float | None
    signals: list[str]
    category: str
    ghost: bool
    ghost_reason: str | None
    astronomical: bool = False


@dataclass(frozen=True)
class PhaseRow:
    """One phase's span and limits, in words and numbers."""

    number: int
    first: str
    last: str
    calculation_points: int
    mean: float | None
    mr_bar: float | None
    lower: float | None
    upper: float | None
    reason: str | None


def signal_words(signal: Signal, kind: ChartKind, options: ChartOptions = OPTIONS) -> str:
    """A rule and its meaning in words, for the table and screen readers."""
    centre = "median" if kind is ChartKind.RUN else "mean"
    high = signal.side is Side.HIGH
    if signal.rule is Rule.OUTSIDE_LIMITS:
        what = f"a point {'above the upper' if high else 'below the lower'} process limit"
    elif signal.rule is Rule.SHIFT:
        length = RUN_CHART_SHIFT if kind is ChartKind.RUN else options.shift_length
        what = (
            f"shift: {length} or more points in a row {'above' if high else 'below'} the {centre}"
        )
    elif signal.rule is Rule.TREND:
        length = RUN_CHART_TREND if kind is ChartKind.RUN else options.trend_length
        what = f"trend: {length} or more points in a row all {'rising' if high else 'falling'}"
    elif signal.rule is Rule.TWO_OF_THREE:
        what = (
            f"two of three points {'above the upper' if high else 'below the lower'} 2-sigma line"
        )
    else:
        what = f"an astronomical point ({'high' if high else 'low'})"
    meaning = {
        Classification.IMPROVEMENT: "improvement",
        Classification.CONCERN: "concern",
        Classification.NEUTRAL: "neither better nor worse",
    }[signal.classification]
    return f"{what[0].upper()}{what[1:]} ({meaning})"


def _category(ghost: bool, signals: tuple[Signal, ...]) -> str:
    if ghost:
        return "ghost"
    if not signals:
        return "common"
    return signals[0].classification.value


def table_rows(found: MeasureChart, ids: Mapping[date, UUID]) -> list[TableRow]:
    """The chart's points with their centre line, limits and signals in words."""
    chart = found.chart
    frequency = found.measure.frequency
    rows = []
    for point in chart.points:
        limits = chart.phases[point.phase].limits if point.phase is not None else None
        centre = limits.mean if limits else chart.median
        rows.append(
            TableRow(
                measurement_id=ids.get(point.period),
                period=point.period,
                label=period_label(point.period, frequency),
                value=point.value,
                centre=centre,
                lower=limits.lower_process_limit if limits else None,
                upper=limits.upper_process_limit if limits else None,
                signals=[signal_words(s, chart.kind) for s in point.signals],
                category=_category(point.ghost, point.signals),
                ghost=point.ghost,
                ghost_reason=point.ghost_reason,
                astronomical=point.astronomical,
            )
        )
    return rows


def phase_rows(found: MeasureChart) -> list[PhaseRow]:
    """Each phase of an XmR chart: its span, calculation points and limits."""
    points = found.chart.points
    frequency = found.measure.frequency
    return [
        PhaseRow(
            number=phase.index + 1,
            first=period_label(points[phase.start].period, frequency),
            last=period_label(points[phase.end].period, frequency),
            calculation_points=phase.calculation_points,
            mean=phase.limits.mean if phase.limits else None,
            mr_bar=phase.limits.mr_bar if phase.limits else None,
            lower=phase.limits.lower_process_limit if phase.limits else None,
            upper=phase.limits.upper_process_limit if phase.limits else None,
            reason=phase.reason,
        )
        for phase in found.chart.phases
    ]


def _legend(direction: ImprovementDirection) -> list[str]:
    if direction is ImprovementDirection.NEITHER:
        return ["neutral", "common", "ghost"]
    return ["improvement", "concern", "common", "ghost"]


def drawn_annotations(found: MeasureChart) -> list[Annotation]:
    """The milestones within the series' span (others would stretch the axis over no data)."""
    points = found.chart.points
    if not points:
        return []
    days = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.MONTHLY: 31, Frequency.QUARTERLY: 92}
    first, end = points[0].period, points[-1].period + timedelta(days=days[found.measure.frequency])
    return [a for a in found.annotations if first <= a.on < end]


def chart_spec(found: MeasureChart, rows: list[TableRow]) -> dict[str, Any]:
    """A layered Vega-Lite spec of the chart, as Making Data Count draws it.

    The points joined by a line, centre and limit lines per phase, the target, the milestones;
    only field encodings and field predicates, so Vega's interpreter needs no expressions.
    """
    chart = found.chart
    measure = found.measure
    values = [
        {
            "period": row.period.isoformat(),
            "label": row.label,
            "value": row.value,
            "centre": row.centre,
            "lower": row.lower,
            "upper": row.upper,
            "phase": (point.phase or 0) + 1,
            "category": CATEGORIES[row.category],
            "ghost": row.ghost,
        }
        for row, point in zip(rows, chart.points, strict=True)
    ]
    shown = _legend(measure.direction)
    colour = {
        "field": "category",
        "type": "nominal",
        "title": "Points",
        "scale": {
            "domain": [CATEGORIES[k] for k in shown],
            "range": [COLOURS[k] for k in shown],
        },
        "legend": {"orient": "bottom", "direction": "horizontal", "columns": 2, "labelLimit": 400},
    }
    y = {
        "type": "quantitative",
        "title": measure.unit,
        "scale": {"zero": False},
    }
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "line", "color": "#768692", "strokeWidth": 1.5},
            "encoding": {"y": {**y, "field": "value"}},
        }
    ]
    if chart.kind is ChartKind.XMR or chart.median is not None:
        layers.append(
            {
                "mark": {"type": "line", "color": "#212b32", "strokeWidth": 1.5},
                "encoding": {
                    "y": {**y, "field": "centre"},
                    "detail": {"field": "phase", "type": "ordinal"},
                },
            }
        )
    if chart.kind is ChartKind.XMR:
        for field in ("upper", "lower"):
            layers.append(
                {
                    "mark": {
                        "type": "line",
                        "color": "#425563",
                        "strokeWidth": 1.2,
                        "strokeDash": [6, 4],
                    },
                    "encoding": {
                        "y": {**y, "field": field},
                        "detail": {"field": "phase", "type": "ordinal"},
                    },
                }
            )
    if measure.target is not None:
        layers.append(
            {
                "data": {"values": [{"target": measure.target, "label": "Target"}]},
                "mark": {"type": "rule", "color": "#DA291C", "strokeWidth": 1.5},
                "encoding": {"y": {**y, "field": "target"}, "x": None},
            }
        )
    for ghosted in (False, True):
        if any(row.ghost is ghosted for row in rows):
            layers.append(
                {
                    "transform": [{"filter": {"field": "ghost", "equal": ghosted}}],
                    "mark": {
                        "type": "point",
                        "filled": not ghosted,
                        "size": 60,
                        "strokeWidth": 2,
                        "opacity": 1,
                    },
                    "encoding": {"y": {**y, "field": "value"}, "color": colour},
                }
            )
    drawn = drawn_annotations(found)
    if drawn:
        marks = [{"on": a.on.isoformat(), "label": a.label} for a in drawn]
        layers += [
            {
                "data": {"values": marks},
                "mark": {"type": "rule", "color": "#005eb8", "strokeDash": [2, 3]},
                "encoding": {"x": {"field": "on", "type": "temporal"}},
            },
            {
                "data": {"values": marks},
                "mark": {
                    "type": "text",
                    "angle": 270,
                    "align": "right",
                    "baseline": "top",
                    "dx": -4,
                    "dy": 3,
                    "color": "#005eb8",
                    "fontSize": 11,
                },
                "encoding": {
                    "x": {"field": "on", "type": "temporal"},
                    "y": {"value": 0},
                    "text": {"field": "label", "type": "nominal"},
                },
            },
        ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": f"{measure.name}. {_kind_words(chart)}.",
        "width": "container",
        "height": 340,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": values},
        "encoding": {
            "x": {
                "field": "period",
                "type": "temporal",
                "title": "Period",
                "scale": {"type": "utc"},
                "axis": {
                    "format": _AXIS_FORMAT[measure.frequency],
                    "labelAngle": 0,
                    "labelOverlap": True,
                    **_ticks(measure.frequency, [row.period for row in rows]),
                },
            }
        },
        "layer": layers,
        "resolve": {"scale": {"y": "shared"}},
        "config": {"font": "Frutiger W01, Arial, sans-serif", "view": {"stroke": None}},
    }


_AXIS_FORMAT = {
    Frequency.DAILY: "%d %b %Y",
    Frequency.WEEKLY: "%d %b %Y",
    Frequency.MONTHLY: "%b %Y",
    Frequency.QUARTERLY: "Q%q %Y",
}
"""The axis's labels, as ``period_label`` names the periods (a quarter as "Q1 2025")."""


def _ticks(frequency: Frequency, periods: list[date]) -> dict[str, Any]:
    """About ten ticks on period boundaries, so a short series never labels a month twice.

    Vega's "week" interval starts on Sunday, so a weekly chart is given its own Mondays
    (every few, from the first) as the tick values instead of an interval.
    """
    step = max(1, -(-len(periods) // 10))
    if frequency is Frequency.WEEKLY and periods:
        first = period_start(periods[0], frequency)
        mondays = [first + timedelta(weeks=k) for k in range((periods[-1] - first).days // 7 + 1)]
        every = max(1, -(-len(mondays) // 10))
        return {
            "values": [
                {"year": d.year, "month": d.month, "date": d.day, "utc": True}
                for d in mondays[::every]
            ]
        }
    interval, size = {
        Frequency.DAILY: ("day", 1),
        Frequency.WEEKLY: ("day", 7),
        Frequency.MONTHLY: ("month", 1),
        Frequency.QUARTERLY: ("month", 3),
    }[frequency]
    return {"tickCount": {"interval": interval, "step": size * step}}


def _kind_words(chart: SPCChart) -> str:
    if chart.kind is ChartKind.XMR:
        phases = len(chart.phases)
        return f"An XmR (SPC) chart with {phases} phase{'s' if phases != 1 else ''}"
    if chart.median is None:
        return "Too few points for a chart"
    return "A run chart around the median"


def _counted(chart: SPCChart) -> int:
    return sum(not p.ghost for p in chart.points)


def _explain(found: MeasureChart) -> dict[str, Any]:
    """The icons and the kind of chart, in words a board paper would use."""
    chart = found.chart
    measure = found.measure
    variation = VARIATION.get(chart.variation_icon) if chart.variation_icon else None
    assurance = ASSURANCE.get(chart.assurance_icon) if chart.assurance_icon else None
    if assurance is None:
        if measure.direction is ImprovementDirection.NEITHER:
            why = "This measure has no better direction, so there is no assurance icon."
        elif measure.target is None:
            why = "This measure has no target, so there is no assurance icon."
        elif chart.kind is ChartKind.RUN:
            why = "A run chart has no process limits to compare with the target."
        else:
            why = "The latest phase has no process limits to compare with the target."
    else:
        why = None
    return {
        "variation": variation,
        "assurance": assurance,
        "no_assurance": why,
        "counted": _counted(chart),
        "minimum": OPTIONS.minimum_points,
        "run_shift": RUN_CHART_SHIFT,
        "run_trend": RUN_CHART_TREND,
        "kind_words": _kind_words(chart),
        "missing": [period_label(d, measure.frequency) for d in chart.missing_periods],
    }


def card_chart(engine: Engine, measure_id: UUID) -> dict[str, Any] | None:
    """The chart and its icons for a measure's card on the project page (None until viewed).

    None too for a series that can't be charted (two values in one period, stored before the
    domain refused them): the card then links to the measure's page, which names the rows,
    rather than failing the whole project page.
    """
    try:
        found = measure_chart(engine, measure_id, None, OPTIONS)
    except SPCInputError:
        return None
    series = measure_series(engine, measure_id)
    if found is None or series is None or not series.points:
        return None
    rows = table_rows(found, {p.period: p.measurement_id for p in series.points})
    return {"spec": chart_spec(found, rows), "explain": _explain(found), "colours": TAG_COLOURS}


def _first_pilot_period(project: ProjectView, frequency: Frequency) -> date | None:
    """The period (day, week, month, quarter) the first pilot started in.

    The one-click recalculation starts a phase there, so a weekly chart's new phase starts at
    the pilot's own week, not at the first of its month.
    """
    if not project.pilots:
        return None
    return period_start(min(p.started_on for p in project.pilots), frequency)


def _may_change(user: User, project: ProjectView) -> bool:
    """Only the project's fellows change chart settings, and not once the project is closed."""
    return (
        user.role is Role.FELLOW and is_member(user, project) and project.status.value != "closed"
    )


def _project_and_measure(
    svc: AppServices, user: User, project_id: UUID, measure_id: UUID
) -> tuple[ProjectView, MeasureView]:
    project = readable_project(svc, user, project_id)
    measure = next((m for m in project.measures if m.measure_id == measure_id), None)
    if measure is None:
        msg = "This project has no such measure."
        raise NotFoundError(msg)
    return project, measure


def _page(
    request: Request,
    user: User,
    project: ProjectView,
    measure: MeasureView,
    engine: Engine,
    *,
    as_at: AsAt | None = None,
    errors: FormErrors | None = None,
    values: Mapping[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    """The chart page (or its fragment) from the views, with the settings a member may use."""
    found = measure_chart(engine, measure.measure_id, as_at, OPTIONS)
    if found is None:
        msg = "The views have not caught up with this measure yet: reload the page shortly."
        raise NotFoundError(msg)
    series = measure_series(engine, measure.measure_id, as_at)
    ids = {p.period: p.measurement_id for p in series.points} if series else {}
    rows = table_rows(found, ids)
    frequency = found.measure.frequency
    pilot = _first_pilot_period(project, frequency)
    recalculations = recalculation_points(engine, measure.measure_id)
    marked = {period_index(d, frequency) for d in recalculations}
    return render(
        request,
        "measures/show.html",
        {
            "project": project,
            "measure": found.measure,
            "found": found,
            "chart": found.chart,
            "spec": chart_spec(found, rows),
            "rows": rows,
            "phases": phase_rows(found),
            "explain": _explain(found),
            "milestones": drawn_annotations(found),
            "tag_colours": TAG_COLOURS,
            "as_at": as_at,
            "errors": errors,
            "values": {"at": "", "axis": "effective", **(values or {})},
            "done": DONE.get(done or ""),
            "may_change": _may_change(user, project) and as_at is None,
            "pilot_period": pilot,
            "pilot_label": period_label(pilot, frequency) if pilot else None,
            "pilot_marked": pilot is not None and period_index(pilot, frequency) in marked,
            "baseline": found.baseline_points,
            "stored_baseline": found.measure.baseline_points,
            "recalculations": [(d, period_label(d, frequency)) for d in recalculations],
            "period_options": [(r.period.isoformat(), r.label) for r in rows[1:]],
            "base": f"/projects/{project.project_id}/measures/{measure.measure_id}",
        },
        fragment="measures/_chart.html",
        status_code=status_code,
    )


@router.get("/projects/{project_id}/measures/{measure_id}", response_class=HTMLResponse)
def show(
    request: Request,
    project_id: UUID,
    measure_id: UUID,
    user: PageUser,
    svc: AppServices,
    at: Annotated[str, Query(max_length=40)] = "",
    axis: Annotated[str, Query(max_length=20)] = "",
    done: Annotated[str | None, Query(max_length=40)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Response:
    """The measure's chart now, or as it stood at a date (htmx asks for the chart alone)."""
    project, measure = _project_and_measure(svc, user, project_id, measure_id)
    if after is None and is_htmx(request):
        after = svc.tracker.head()  # the live stream asks as soon as the event is stored
    engine = caught_up(svc, after)
    errors = FormErrors()
    as_at = parse_as_at(at, axis or Axis.EFFECTIVE.value, errors)
    return _page(
        request,
        user,
        project,
        measure,
        engine,
        as_at=as_at,
        errors=errors or None,
        values={"at": at, "axis": axis or "effective"},
        done=done,
        status_code=422 if errors else 200,
    )


@router.get("/measures", response_class=HTMLResponse)
def index(
    request: Request,
    user: PageUser,
    svc: AppServices,
    at: Annotated[str, Query(max_length=40)] = "",
    axis: Annotated[str, Query(max_length=20)] = "",
    organisation_id: Annotated[UUID | None, Query()] = None,
) -> Response:
    """Every measure's chart to open, now or as at a date: the evaluator's way in from a replay.

    Each link opens the measure's page at the same date and axis, which draws only the values
    (and chart settings) recorded by, or in effect on, that date.
    """
    errors = FormErrors()
    as_at = parse_as_at(at, axis or Axis.EFFECTIVE.value, errors)
    visible = (user.user_id, list(user.organisation_ids)) if user.role is Role.SPONSOR else None
    links = measure_links(
        svc.read_side.engine, as_at, organisation_id=organisation_id, visible_to=visible
    )
    suffix = (
        f"?{urlencode({'at': as_at.day.isoformat(), 'axis': as_at.axis.value})}" if as_at else ""
    )
    return render(
        request,
        "measures/index.html",
        {
            "charts": [
                (link, f"/projects/{link.project_id}/measures/{link.measure_id}{suffix}")
                for link in links
            ],
            "as_at": as_at,
            "organisation_id": organisation_id,
            "axes": AXES,
            "errors": errors or None,
            "values": {"at": at, "axis": axis or "effective"},
        },
        status_code=422 if errors else 200,
    )


async def _settle(
    request: Request,
    svc: AppServices,
    user: User,
    project_id: UUID,
    measure_id: UUID,
    build: Callable[[dict[str, str], ProjectView], c.Command | FormErrors],
    send: Callable[[Any, int | None], CommandResult],
    done: str,
    field_ids: Callable[[dict[str, str]], Mapping[str, str]],
) -> Response:
    """Send a settings command: 303 back to the chart, or the page with what to change (422)."""
    project, measure = _project_and_measure(svc, user, project_id, measure_id)
    probe = c.RemoveRecalculation(
        occurred_on=date.today(), measure_id=measure_id, from_period=date.today()
    )
    require_write_project(user, project, probe)
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrftoken"}
    seen = values.pop("version", "")
    expected = int(seen) if seen.isdigit() else None
    command = build(values, project)
    result: CommandResult | None = None
    if isinstance(command, FormErrors):
        errors: FormErrors | None = command
    else:
        parsed = command

        def act() -> None:
            nonlocal result
            require_write_project(user, project, parsed)
            result = send(parsed, expected)

        errors = attempt(act)
    if errors or result is None:
        renamed = FormErrors()
        ids = field_ids(values)
        for name, message in (errors.by_field if errors else {}).items():
            renamed.add(ids.get(name, ids.get("form", name)), message)
        shown = {**values, **({ids["reason"]: values["reason"]} if "reason" in values else {})}
        fresh = svc.tracker.project(project_id)
        return _page(
            request,
            user,
            fresh,
            measure,
            svc.read_side.engine,
            errors=renamed,
            values=shown,
            status_code=422,
        )
    return RedirectResponse(
        f"/projects/{project_id}/measures/{measure_id}?done={done}&after={result.notification_id}",
        status_code=303,
    )


@router.post("/projects/{project_id}/measures/{measure_id}/recalculate-at-pilot")
async def recalculate_at_pilot(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """The one-click choice: a new phase of limits from the period the first pilot started in."""

    def build(_: dict[str, str], project: ProjectView) -> c.Command | FormErrors:
        frequency = next(m.frequency for m in project.measures if m.measure_id == measure_id)
        pilot = _first_pilot_period(project, frequency)
        if pilot is None:
            errors = FormErrors()
            errors.add("from_period", "The project has no pilot yet: start one first")
            return errors
        started = min(p.started_on for p in project.pilots)
        reason = f"The pilot started on {started.day} {started:%B %Y}."
        data = {"occurred_on": today(), "measure_id": str(measure_id)}
        return parse(
            c.MarkRecalculation,
            {**data, "from_period": pilot.isoformat(), "reason": reason},
            RECALCULATION_LABELS,
            "form",
        )

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.mark_recalculation(
            user.actor, project_id, cmd, expected_version=v
        ),
        "recalculated",
        lambda _: {"from_period": "recalculate-at-pilot", "form": "recalculate-at-pilot"},
    )


@router.post("/projects/{project_id}/measures/{measure_id}/recalculations")
async def recalculate_from(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Recalculate the limits from a chosen period, with the reason."""

    def build(values: dict[str, str], _: ProjectView) -> c.Command | FormErrors:
        data = {
            "occurred_on": today(),
            "measure_id": str(measure_id),
            "from_period": values.get("from_period", ""),
            "reason": values.get("recalculation_reason", ""),
        }
        return parse(c.MarkRecalculation, data, RECALCULATION_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.mark_recalculation(
            user.actor, project_id, cmd, expected_version=v
        ),
        "recalculated",
        lambda _: {"reason": "recalculation_reason", "form": "from_period"},
    )


@router.post("/projects/{project_id}/measures/{measure_id}/recalculations/remove")
async def remove_recalculation(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Remove a recalculation point: its phase joins the one before."""

    def build(values: dict[str, str], _: ProjectView) -> c.Command | FormErrors:
        data = {
            "occurred_on": today(),
            "measure_id": str(measure_id),
            "from_period": values.get("from_period", ""),
        }
        return parse(c.RemoveRecalculation, data, RECALCULATION_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.remove_recalculation(
            user.actor, project_id, cmd, expected_version=v
        ),
        "unrecalculated",
        lambda values: dict.fromkeys(
            ("from_period", "form"), f"remove-{values.get('from_period', '')}"
        ),
    )


def _point_of(project: ProjectView, measure_id: UUID, values: Mapping[str, str]) -> str:
    """The submitted measurement id if it is one of this measure's points, else nothing."""
    chosen = values.get("measurement_id", "")
    mine = {str(m.measurement_id) for m in project.measurements if m.measure_id == measure_id}
    return chosen if chosen in mine else ""


def _row_ids(values: dict[str, str]) -> dict[str, str]:
    row = f"ghost-reason-{values.get('measurement_id', '')}"
    return {"reason": row, "measurement_id": row, "form": row}


@router.post("/projects/{project_id}/measures/{measure_id}/ghost")
async def ghost(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Ghost a point: shown on the chart, left out of its calculations, with the reason."""

    def build(values: dict[str, str], project: ProjectView) -> c.Command | FormErrors:
        data = {
            "occurred_on": today(),
            "measurement_id": _point_of(project, measure_id, values),
            "reason": values.get("reason", ""),
        }
        return parse(c.GhostMeasurement, data, GHOST_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.ghost_measurement(
            user.actor, project_id, cmd, expected_version=v
        ),
        "ghosted",
        _row_ids,
    )


@router.post("/projects/{project_id}/measures/{measure_id}/restore")
async def restore(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Bring a ghosted point back into the calculations."""

    def build(values: dict[str, str], project: ProjectView) -> c.Command | FormErrors:
        data = {"occurred_on": today(), "measurement_id": _point_of(project, measure_id, values)}
        return parse(c.RestoreMeasurement, data, GHOST_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.restore_measurement(
            user.actor, project_id, cmd, expected_version=v
        ),
        "restored",
        lambda values: dict.fromkeys(
            ("measurement_id", "form"), f"restore-{values.get('measurement_id', '')}"
        ),
    )


def _astronomical_ids(values: dict[str, str]) -> dict[str, str]:
    row = f"astronomical-reason-{values.get('measurement_id', '')}"
    return {"reason": row, "measurement_id": row, "form": row}


@router.post("/projects/{project_id}/measures/{measure_id}/astronomical")
async def flag_astronomical(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Flag a point as astronomical (a run chart's signal), with the reason."""

    def build(values: dict[str, str], project: ProjectView) -> c.Command | FormErrors:
        data = {
            "occurred_on": today(),
            "measurement_id": _point_of(project, measure_id, values),
            "reason": values.get("reason", ""),
        }
        return parse(c.FlagAstronomical, data, ASTRONOMICAL_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.flag_astronomical(
            user.actor, project_id, cmd, expected_version=v
        ),
        "flagged",
        _astronomical_ids,
    )


@router.post("/projects/{project_id}/measures/{measure_id}/astronomical/remove")
async def unflag_astronomical(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Take the astronomical flag off a point."""

    def build(values: dict[str, str], project: ProjectView) -> c.Command | FormErrors:
        data = {"occurred_on": today(), "measurement_id": _point_of(project, measure_id, values)}
        return parse(c.UnflagAstronomical, data, ASTRONOMICAL_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.unflag_astronomical(
            user.actor, project_id, cmd, expected_version=v
        ),
        "unflagged",
        lambda values: dict.fromkeys(
            ("measurement_id", "form"), f"unflag-{values.get('measurement_id', '')}"
        ),
    )


@router.post("/projects/{project_id}/measures/{measure_id}/baseline")
async def set_baseline(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Fix the limits on the first N points of each phase, with the reason."""

    def build(values: dict[str, str], _: ProjectView) -> c.Command | FormErrors:
        data = {
            "occurred_on": today(),
            "measure_id": str(measure_id),
            "points": values.get("baseline_points", "").strip(),
            "reason": values.get("baseline_reason", ""),
        }
        return parse(c.SetBaseline, data, BASELINE_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.set_baseline(user.actor, project_id, cmd, expected_version=v),
        "baseline",
        lambda _: {
            "points": "baseline_points",
            "reason": "baseline_reason",
            "form": "baseline_points",
        },
    )


@router.post("/projects/{project_id}/measures/{measure_id}/baseline/clear")
async def clear_baseline(
    request: Request, project_id: UUID, measure_id: UUID, user: PageUser, svc: AppServices
) -> Response:
    """Calculate the limits from every point again."""

    def build(_: dict[str, str], __: ProjectView) -> c.Command | FormErrors:
        data = {"occurred_on": today(), "measure_id": str(measure_id)}
        return parse(c.ClearBaseline, data, BASELINE_LABELS, "form")

    return await _settle(
        request,
        svc,
        user,
        project_id,
        measure_id,
        build,
        lambda cmd, v: svc.tracker.clear_baseline(user.actor, project_id, cmd, expected_version=v),
        "baseline-cleared",
        lambda _: dict.fromkeys(("measure_id", "form"), "clear-baseline"),
    )
