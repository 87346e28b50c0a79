"""The evaluator's questions: the portfolio at any date, time to stage, measure series."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from application.errors import NotFoundError
from interfaces.http.deps import AsAtParam, CurrentUser, Tracker, Views
from interfaces.http.reading import authorise_read
from read_models.queries.charts import ChartOptions, MeasureChart, measure_chart
from read_models.queries.measures import MeasureSeries, measure_series
from read_models.queries.portfolio import Portfolio, TimeToStage, portfolio, time_to_stage

router = APIRouter(prefix="/api", tags=["evaluation"])


@router.get("/portfolio")
def the_portfolio(_: CurrentUser, engine: Views, as_at: AsAtParam) -> Portfolio:
    """Projects by stage, per cohort, system and sector: now or as at a date on either axis."""
    return portfolio(engine, as_at)


@router.get("/portfolio/time-to-stage")
def the_time_to_stage(_: CurrentUser, engine: Views, cohort_id: UUID | None = None) -> TimeToStage:
    """Days from proposal to pilot, pilot to first measurement and pilot to adoption."""
    return time_to_stage(engine, cohort_id)


@router.get("/measures/{measure_id}/series")
def series(
    measure_id: UUID, user: CurrentUser, tracker: Tracker, engine: Views, as_at: AsAtParam
) -> MeasureSeries:
    """A measure's values in period order, now or as they stood at a date."""
    found = measure_series(engine, measure_id, as_at)
    if found is None:
        msg = f"There is no measure with id {measure_id} (or the views have not seen it yet)."
        raise NotFoundError(msg)
    authorise_read(user, found.measure.project_id, tracker, engine)
    return found


@router.get("/measures/{measure_id}/chart")
def chart(
    measure_id: UUID,
    user: CurrentUser,
    tracker: Tracker,
    engine: Views,
    as_at: AsAtParam,
    options: Annotated[ChartOptions, Query()],
) -> MeasureChart:
    """The measure's SPC chart (Making Data Count): phases, limits, per-point signals, icons."""
    found = measure_chart(engine, measure_id, as_at, options)
    if found is None:
        msg = f"There is no measure with id {measure_id} (or the views have not seen it yet)."
        raise NotFoundError(msg)
    authorise_read(user, found.measure.project_id, tracker, engine)
    return found
