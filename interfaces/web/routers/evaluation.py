"""The evaluator's portfolio pages: stages by cohort, system and sector; time to stage; replay.

The replay shows the whole portfolio as it stood at a date on either axis, with real links a
month either side. Play steps through the programme's history a month at a time: htmx-ext-sse
opens ``/portfolio/replay/stream``, which pushes one ``frame`` event per month (the same
fragment the page shows) and ``done`` at the end; Pause swaps the player for the still page at
the date on screen, which closes the stream. Without JavaScript, Play falls back to a
``<noscript>`` refresh that walks the same months one page at a time.

Access mirrors the API's ``/api/portfolio``: every signed-in user may read the portfolio.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import Engine

from application.errors import InvalidRequestError
from domain.values import Stage
from interfaces.http.deps import AppServices
from interfaces.web.choices import cohort_options
from interfaces.web.common import AXES, EARLIEST, LATEST
from interfaces.web.forms import FormErrors
from interfaces.web.labels import STAGE_LABELS
from interfaces.web.session import PageUser
from interfaces.web.templating import TEMPLATES, render
from read_models.queries.common import AsAt, Axis
from read_models.queries.portfolio import (
    Distribution,
    HistorySpan,
    Portfolio,
    StageCounts,
    TimeToStage,
    history_span,
    portfolio,
    time_to_stage,
)

router = APIRouter(include_in_schema=False)

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
AXIS_CAPTIONS = {
    Axis.EFFECTIVE: "As it was in effect on that date",
    Axis.RECORDED: "As it had been recorded by the end of that day",
}
INTERVALS = [
    ("proposal_to_pilot", "Proposal to pilot"),
    ("pilot_to_first_measurement", "Pilot to first measurement"),
    ("pilot_to_adoption", "Pilot to adoption"),
]
STAGE_COLOURS = ["#768692", "#005eb8", "#330072", "#007f3b"]  # NHS grey, blue, purple, green

# Seconds between months when playing; tests ask for the fastest pace.
DEFAULT_PACE = 1.0
Pace = Annotated[float, Query(ge=0.05, le=10.0)]
# Dates a replay accepts: months either side of any of them are still real dates.


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), kept within the month (31 Jan -> 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (following - date(year, month, 1)).days
    return date(year, month, min(day.day, last_day))


def frame_dates(start: date, span: HistorySpan | None) -> list[date]:
    """The dates a replay shows: one a month from ``start`` to the month of the last change.

    A start before the first change begins at the first change (earlier months are empty), and
    the last frame is never earlier than the last change, so playing ends on the whole history.
    """
    if span is None or start >= span.last:
        return [start]
    start = max(start, span.first)
    end = (span.last.year, span.last.month)
    days: list[date] = []
    while ((day := add_months(start, len(days))).year, day.month) <= end:
        days.append(day)
    days[-1] = max(days[-1], span.last)
    return days


def _aligned(at: list[StageCounts], every: list[StageCounts]) -> list[StageCounts]:
    """Every group of the whole portfolio, in its order, with zero counts where none yet."""
    found = {g.key: g for g in at}
    zero = dict.fromkeys(Stage, 0)
    return [found.get(g.key) or g.model_copy(update={"counts": zero, "total": 0}) for g in every]


def stages_chart(by_cohort: list[StageCounts], every: Portfolio) -> dict[str, Any]:
    """Vega-Lite: a bar per cohort, stacked by stage; the axes fixed to the whole portfolio.

    Fixing the cohorts and the scale to today's portfolio keeps the bars still while a replay
    plays, so only their growth moves.
    """
    labels = list(STAGE_LABELS.values())
    cohorts = [g.label for g in every.by_cohort]
    values = [
        {"cohort": g.label, "stage": STAGE_LABELS[s.value], "order": i, "projects": g.counts[s]}
        for g in by_cohort
        for i, s in enumerate(Stage)
    ]
    widest = max((g.total for g in every.by_cohort), default=1)
    return {
        "$schema": SCHEMA,
        "description": "Projects in each cohort, stacked by stage",
        "width": "container",
        "height": 28 * max(len(cohorts), 1),  # a number: a discrete height warns with "container"
        "data": {"values": values},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "cohort",
                "type": "nominal",
                "title": None,
                "sort": cohorts,
                "scale": {"domain": cohorts},
                "axis": {"labelLimit": 360},
            },
            "x": {
                "field": "projects",
                "type": "quantitative",
                "aggregate": "sum",
                "stack": "zero",
                "title": "Projects",
                "scale": {"domain": [0, max(widest, 1)]},
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "color": {
                "field": "stage",
                "type": "nominal",
                "title": "Stage",
                "sort": labels,
                "scale": {"domain": labels, "range": STAGE_COLOURS},
                "legend": {"orient": "bottom"},
            },
            "order": {"field": "order", "type": "quantitative"},
        },
    }


def time_chart(timing: TimeToStage) -> dict[str, Any]:
    """Vega-Lite: per interval, min-to-max line, the quartile box, the median and each project."""
    summary: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    for name, label in INTERVALS:
        found: Distribution = getattr(timing, name)
        if found.count:
            summary.append({"interval": label, **found.model_dump(exclude={"days"})})
            projects += [{"interval": label, "days": d} for d in found.days]
    y = {
        "field": "interval",
        "type": "nominal",
        "title": None,
        "sort": [label for _, label in INTERVALS],
        "axis": {"labelLimit": 300},
    }
    days_axis = {"type": "quantitative", "title": "Days", "scale": {"zero": True}}
    return {
        "$schema": SCHEMA,
        "description": "Days between stages: range, quartiles, median and each project",
        "width": "container",
        "height": 36 * len(INTERVALS),
        "layer": [
            {
                "data": {"values": summary},
                "mark": {"type": "rule", "color": "#425563"},
                "encoding": {
                    "y": y,
                    "x": {"field": "minimum", **days_axis},
                    "x2": {"field": "maximum"},
                },
            },
            {
                "data": {"values": summary},
                "mark": {"type": "bar", "size": 18, "color": "#41b6e6"},
                "encoding": {
                    "y": y,
                    "x": {"field": "lower_quartile", **days_axis},
                    "x2": {"field": "upper_quartile"},
                },
            },
            {
                "data": {"values": summary},
                "mark": {"type": "tick", "size": 26, "thickness": 3, "color": "#003087"},
                "encoding": {"y": y, "x": {"field": "median", **days_axis}},
            },
            {
                "data": {"values": projects},
                "mark": {"type": "point", "size": 18, "opacity": 0.5, "color": "#212b32"},
                "encoding": {"y": y, "x": {"field": "days", **days_axis}},
            },
        ],
    }


def _link(**params: object) -> str:
    return "/portfolio/replay?" + urlencode(
        {k: v for k, v in params.items() if v not in (None, "")}
    )


def _pace_param(pace: float) -> str:
    return "" if pace == DEFAULT_PACE else f"{pace:g}"


def frame_context(
    data: Portfolio,
    every: Portfolio,
    day: date,
    axis: Axis,
    *,
    span: HistorySpan | None,
    playing: bool,
    pace: float,
) -> dict[str, Any]:
    """What a replay frame shows: the date, its controls and the portfolio then."""
    pace_text = _pace_param(pace)
    ended = span is None or day >= span.last
    play_from = span.first if ended and span is not None else day
    by_cohort = _aligned(data.by_cohort, every.by_cohort)
    return {
        "data": data,
        "every": every,
        "day": day,
        "axis": axis,
        "caption": AXIS_CAPTIONS[axis],
        "playing": playing,
        "by_cohort": by_cohort,
        "by_system": _aligned(data.by_system, every.by_system),
        "by_sector": _aligned(data.by_sector, every.by_sector),
        "stages_spec": stages_chart(by_cohort, every),
        "previous_url": _link(axis=axis.value, at=add_months(day, -1).isoformat(), pace=pace_text),
        "next_url": _link(axis=axis.value, at=add_months(day, 1).isoformat(), pace=pace_text),
        "previous_label": f"{add_months(day, -1):%B %Y}",
        "next_label": f"{add_months(day, 1):%B %Y}",
        "pause_url": _link(axis=axis.value, at=day.isoformat(), pace=pace_text),
        "play_url": _link(axis=axis.value, at=play_from.isoformat(), play=1, pace=pace_text),
        "play_text": "Play from the start" if ended else "Play",
        "can_play": len(frame_dates(play_from, span)) > 1,
    }


@router.get("/portfolio", response_class=HTMLResponse)
def the_portfolio(
    request: Request,
    _: PageUser,
    svc: AppServices,
    cohort_id: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Stages now by cohort, system and sector; time to each stage (htmx: the timing alone)."""
    engine = svc.read_side.engine
    errors = FormErrors()
    cohorts = cohort_options(engine)
    chosen = cohort_id if cohort_id in {value for value, _ in cohorts} else ""
    if cohort_id and not chosen:
        errors.add("cohort_id", "Choose a cohort from the list")
    now = portfolio(engine)
    timing = time_to_stage(engine, UUID(chosen) if chosen else None)
    return render(
        request,
        "evaluation/portfolio.html",
        {
            "data": now,
            "every": now,
            "by_cohort": now.by_cohort,
            "by_system": now.by_system,
            "by_sector": now.by_sector,
            "stages_spec": stages_chart(now.by_cohort, now),
            "timing": timing,
            "intervals": [(label, getattr(timing, name)) for name, label in INTERVALS],
            "time_spec": time_chart(timing),
            "cohorts": cohorts,
            "cohort_name": dict(cohorts).get(chosen, ""),
            "values": {"cohort_id": chosen},
            "errors": errors,
        },
        fragment="evaluation/_time_to_stage.html",
        status_code=422 if errors else 200,
    )


def _replay_point(
    at: str, axis: str, span_of: Mapping[Axis, HistorySpan | None], errors: FormErrors
) -> tuple[Axis, date] | None:
    """The axis and date the replay form asked for (the start of history when no date)."""
    chosen = Axis(axis) if axis in {a.value for a in Axis} else None
    if chosen is None:
        errors.add("axis", "Choose as it was in effect or as recorded")
    day: date | None = None
    if at.strip():
        try:
            day = date.fromisoformat(at.strip()) if len(at.strip()) == 10 else None
        except ValueError:
            day = None
        if day is None:
            errors.add("at", "Date must be a real date, like 2025-03-31")
        elif not EARLIEST <= day <= LATEST:
            errors.add("at", "Date must be between 1900 and 2999")
    if errors or chosen is None:
        return None
    if day is None:
        span = span_of[chosen]
        day = span.first if span is not None else date.today()
    return chosen, day


@router.get("/portfolio/replay", response_class=HTMLResponse)
def replay(
    request: Request,
    _: PageUser,
    svc: AppServices,
    at: Annotated[str, Query(max_length=40)] = "",
    axis: Annotated[str, Query(max_length=20)] = Axis.EFFECTIVE.value,
    play: Annotated[bool, Query()] = False,
    pace: Pace = DEFAULT_PACE,
) -> Response:
    """The portfolio as it stood at a date on either axis (htmx: the form and player alone)."""
    engine = svc.read_side.engine
    errors = FormErrors()
    spans = {a: history_span(engine, a) for a in Axis}
    point = _replay_point(at, axis, spans, errors)
    context: dict[str, Any] = {
        "values": {"at": at, "axis": axis},
        "errors": errors,
        "axes": AXES,
        "pace": _pace_param(pace),
        "refresh_url": None,
        "span": spans[Axis(axis)] if axis in {a.value for a in Axis} else None,
    }
    if point is not None:
        chosen, day = point
        span = spans[chosen]
        every = portfolio(engine)
        data = portfolio(engine, AsAt(axis=chosen, moment=day))
        frames = frame_dates(day, span)
        playing = play and len(frames) > 1
        context |= frame_context(data, every, day, chosen, span=span, playing=playing, pace=pace)
        context["values"] = {"at": day.isoformat(), "axis": chosen.value}
        if playing:
            query = {"axis": chosen.value, "from": day.isoformat(), "pace": f"{pace:g}"}
            context["stream_url"] = "/portfolio/replay/stream?" + urlencode(query)
            context["refresh_seconds"] = max(1, math.ceil(pace))
            context["refresh_url"] = _link(
                axis=chosen.value, at=frames[1].isoformat(), play=1, pace=_pace_param(pace)
            )
    return render(
        request,
        "evaluation/replay.html",
        context,
        fragment="evaluation/_replay.html",
        status_code=422 if errors else 200,
    )


def sse_event(name: str, data: str, event_id: str | None = None) -> str:
    """One server-sent event: each line of ``data`` on its own ``data:`` line."""
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id else "")
    return head + "".join(f"data: {line}\n" for line in data.splitlines() or [""]) + "\n"


def _resumed_after(last_event_id: str | None) -> date | None:
    """The last frame a reconnecting browser saw (EventSource sends it back as Last-Event-ID)."""
    try:
        return date.fromisoformat(last_event_id) if last_event_id else None
    except ValueError:
        return None


def _render_frame(
    engine: Engine,
    every: Portfolio,
    day: date,
    axis: Axis,
    span: HistorySpan | None,
    *,
    playing: bool,
    pace: float,
) -> str:
    data = portfolio(engine, AsAt(axis=axis, moment=day))
    context = frame_context(data, every, day, axis, span=span, playing=playing, pace=pace)
    return TEMPLATES.get_template("evaluation/_frame.html").render(context)


@router.get("/portfolio/replay/stream")
async def replay_stream(
    request: Request,
    _: PageUser,
    svc: AppServices,
    start: Annotated[date, Query(alias="from")],
    axis: Annotated[Axis, Query()] = Axis.EFFECTIVE,
    pace: Pace = DEFAULT_PACE,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
) -> StreamingResponse:
    """``event: frame`` a month at a time from ``from`` to the end of history, then ``done``.

    A browser that lost the connection reconnects with the last frame's id and carries on from
    the month after it.
    """
    if not EARLIEST <= start <= LATEST:
        msg = f"Start the replay at a date between {EARLIEST.year} and {LATEST.year}."
        raise InvalidRequestError(msg, field="from")
    engine = svc.read_side.engine
    span = await anyio.to_thread.run_sync(history_span, engine, axis)
    every = await anyio.to_thread.run_sync(portfolio, engine)
    days = frame_dates(start, span)
    seen = _resumed_after(last_event_id)
    if seen is not None:
        days = [d for d in days if d > seen]

    async def events() -> AsyncIterator[str]:
        for index, day in enumerate(days):
            if index:
                await anyio.sleep(pace)
            if await request.is_disconnected():
                return
            last = index == len(days) - 1

            def frame(day: date = day, last: bool = last) -> str:
                return _render_frame(engine, every, day, axis, span, playing=not last, pace=pace)

            html = await anyio.to_thread.run_sync(frame)
            yield sse_event("frame", html, day.isoformat())
        yield sse_event("done", "The replay has reached the end of the programme's history.")

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
