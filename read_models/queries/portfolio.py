"""The portfolio at any date, on either axis; time-to-stage distributions.

Both as-at answers are single SQL statements over the portfolio view's tables: the effective
answer compares each project's stage dates (and measurement spans) with the date; the recorded
answer takes each project's last stage change recorded by the moment.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    String,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    type_coerce,
)

from domain.values import Stage
from read_models.queries.common import AsAt, Axis
from read_models.views.portfolio import (
    cohorts,
    measurement_spans,
    organisations,
    projects,
    stage_changes,
    systems,
)


class StageCounts(BaseModel):
    """Projects by stage within one group (a cohort, a system or a sector)."""

    key: str
    label: str
    counts: dict[Stage, int]
    total: int


class Portfolio(BaseModel):
    """The portfolio as it stood: stage counts overall and by cohort, system and sector."""

    as_at: AsAt | None
    totals: dict[Stage, int]
    projects: int
    by_cohort: list[StageCounts]
    by_system: list[StageCounts]
    by_sector: list[StageCounts]


class Distribution(BaseModel):
    """Days between two stages across projects that reached both."""

    count: int
    minimum: int | None
    lower_quartile: float | None
    median: float | None
    upper_quartile: float | None
    maximum: int | None
    days: list[int]


class TimeToStage(BaseModel):
    """How long projects take: proposal to pilot, pilot to first measurement, pilot to adoption."""

    proposal_to_pilot: Distribution
    pilot_to_first_measurement: Distribution
    pilot_to_adoption: Distribution


def _stage_column(as_at: AsAt | None):  # type: ignore[no-untyped-def]
    if as_at is None:
        return projects.c.stage.label("stage")
    if as_at.axis is Axis.RECORDED:
        return stage_changes.c.stage.label("stage")
    day = as_at.day
    spans = measurement_spans.c
    current_measurement = exists().where(
        spans.project_id == projects.c.project_id,
        spans.valid_from <= day,
        or_(spans.valid_to.is_(None), spans.valid_to > day),
    )
    return case(
        (projects.c.adopted_on <= day, Stage.ADOPTED.value),
        (and_(projects.c.piloted_on <= day, current_measurement), Stage.MEASURED.value),
        (projects.c.piloted_on <= day, Stage.PILOTED.value),
        else_=Stage.PROPOSED.value,
    ).label("stage")


def portfolio(engine: Engine, as_at: AsAt | None = None) -> Portfolio:
    """Stage counts now, or as at a date on either axis.

    One grouped query counts projects per (cohort, lead organisation's sector, stage); the
    cohort, system and sector groups roll up from those rows in Python. Ids are read as their
    stored text, not converted to UUID objects: the rows can number thousands.
    """
    cohort_key = type_coerce(projects.c.cohort_id, String)
    with engine.connect() as conn:
        rows = conn.execute(_counts_query(as_at, cohort_key)).all()
        cohort_rows = conn.execute(
            select(
                type_coerce(cohorts.c.cohort_id, String).label("cohort"),
                type_coerce(cohorts.c.system_id, String).label("system"),
                cohorts.c.programme,
                cohorts.c.number,
            )
        ).all()
        system_labels: dict[str, str] = dict(
            conn.execute(select(type_coerce(systems.c.system_id, String), systems.c.name)).all()
        )
    cohort_labels = {r.cohort: f"{r.programme}, cohort {r.number}" for r in cohort_rows}
    system_of = {r.cohort: r.system for r in cohort_rows}
    by_cohort: defaultdict[str, Counter[Stage]] = defaultdict(Counter)
    by_system: defaultdict[str, Counter[Stage]] = defaultdict(Counter)
    by_sector: defaultdict[str, Counter[Stage]] = defaultdict(Counter)
    totals: Counter[Stage] = Counter()
    stages = {s.value: s for s in Stage}
    for cohort, sector, stage_value, count in rows:
        stage = stages[stage_value]
        totals[stage] += count
        by_cohort[cohort][stage] += count
        by_sector[sector][stage] += count
        by_system[system_of.get(cohort, "unknown")][stage] += count
    return Portfolio(
        as_at=as_at,
        totals=_all_stages(totals),
        projects=totals.total(),
        by_cohort=_groups(by_cohort, _uuid_keys(cohort_labels), canonical=True),
        by_system=_groups(by_system, _uuid_keys(system_labels), canonical=True),
        by_sector=_groups(by_sector, {}),
    )


def _counts_query(as_at: AsAt | None, cohort_key: ColumnElement[Any]) -> Select[Any]:
    """Projects per cohort, lead sector and stage, as at the point given.

    Each project's stage is worked out once, in a materialised common table expression, and
    the groups counted from it: grouped directly, the database evaluated the stage (with its
    correlated look-up of measurement spans) twice per project, once for the group key and
    once for the result.
    """
    stage = _stage_column(as_at)
    query = (
        select(cohort_key.label("cohort"), organisations.c.sector, stage)
        .select_from(projects)
        .join(organisations, organisations.c.organisation_id == projects.c.lead_organisation_id)
    )
    if as_at is not None and as_at.axis is Axis.RECORDED:
        latest = (
            select(stage_changes.c.project_id, func.max(stage_changes.c.seq).label("seq"))
            .where(stage_changes.c.recorded_at <= as_at.cutoff)
            .group_by(stage_changes.c.project_id)
            .subquery()
        )
        query = query.join(latest, latest.c.project_id == projects.c.project_id).join(
            stage_changes,
            and_(
                stage_changes.c.project_id == latest.c.project_id,
                stage_changes.c.seq == latest.c.seq,
            ),
        )
    elif as_at is not None:
        query = query.where(projects.c.proposed_on <= as_at.day)
    per_project = query.cte("per_project").prefix_with("MATERIALIZED")
    return select(
        per_project.c.cohort, per_project.c.sector, per_project.c.stage, func.count().label("n")
    ).group_by(per_project.c.cohort, per_project.c.sector, per_project.c.stage)


def _uuid_keys(labels: dict[str, str]) -> dict[str, str]:
    """Stored id text (hex on SQLite) as canonical UUID strings, for the answer's keys."""
    return {str(UUID(str(k))): v for k, v in labels.items()}


def _groups(
    counts: dict[str, Counter[Stage]], labels: dict[str, str], *, canonical: bool = False
) -> list[StageCounts]:
    if canonical:
        counts = {str(UUID(str(k))) if k != "unknown" else k: c for k, c in counts.items()}
    return sorted(
        (
            StageCounts(key=k, label=labels.get(k, k), counts=_all_stages(c), total=c.total())
            for k, c in counts.items()
        ),
        key=lambda g: g.label,
    )


def _all_stages(counts: Counter[Stage]) -> dict[Stage, int]:
    return {s: counts.get(s, 0) for s in Stage}


def time_to_stage(engine: Engine, cohort_id: UUID | None = None) -> TimeToStage:
    """Distributions of days between stages, over the projects that reached both."""
    first_measured = (
        select(func.min(measurement_spans.c.valid_from))
        .where(
            measurement_spans.c.project_id == projects.c.project_id,
            measurement_spans.c.valid_to.is_(None),
            measurement_spans.c.valid_from >= projects.c.piloted_on,
        )
        .scalar_subquery()
    )
    query = select(
        projects.c.proposed_on,
        projects.c.piloted_on,
        projects.c.adopted_on,
        first_measured.label("measured_on"),
    )
    if cohort_id is not None:
        query = query.where(projects.c.cohort_id == cohort_id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return TimeToStage(
        proposal_to_pilot=_distribution([_days(r.proposed_on, r.piloted_on) for r in rows]),
        pilot_to_first_measurement=_distribution(
            [_days(r.piloted_on, r.measured_on) for r in rows]
        ),
        pilot_to_adoption=_distribution([_days(r.piloted_on, r.adopted_on) for r in rows]),
    )


def _days(start: date | None, end: date | None) -> int | None:
    return (end - start).days if start is not None and end is not None else None


def _distribution(values: list[int | None]) -> Distribution:
    days = sorted(v for v in values if v is not None)
    if not days:
        return Distribution(
            count=0,
            minimum=None,
            lower_quartile=None,
            median=None,
            upper_quartile=None,
            maximum=None,
            days=[],
        )
    if len(days) == 1:
        only = float(days[0])
        return Distribution(
            count=1,
            minimum=days[0],
            lower_quartile=only,
            median=only,
            upper_quartile=only,
            maximum=days[0],
            days=days,
        )
    q1, q2, q3 = statistics.quantiles(days, n=4, method="inclusive")
    return Distribution(
        count=len(days),
        minimum=days[0],
        lower_quartile=q1,
        median=q2,
        upper_quartile=q3,
        maximum=days[-1],
        days=days,
    )


class HistorySpan(BaseModel):
    """The first and last day on which the portfolio changed, on one axis."""

    axis: Axis
    first: date
    last: date


def history_span(engine: Engine, axis: Axis) -> HistorySpan | None:
    """Where the programme's history begins and ends on an axis (None before any proposal).

    A replay steps through this range. Effective: from the first proposal to the latest stage
    date or measurement span boundary (a retraction can take a project back a stage).
    Recorded: from the first to the last recorded stage change, by UTC date.
    """
    if axis is Axis.RECORDED:
        query = select(func.min(stage_changes.c.recorded_at), func.max(stage_changes.c.recorded_at))
        with engine.connect() as conn:
            first_at, last_at = conn.execute(query).one()
        if first_at is None:
            return None
        return HistorySpan(axis=axis, first=first_at.date(), last=last_at.date())
    p, spans = projects.c, measurement_spans.c
    with engine.connect() as conn:
        first, *lasts = conn.execute(
            select(
                func.min(p.proposed_on),
                func.max(p.proposed_on),
                func.max(p.piloted_on),
                func.max(p.adopted_on),
            )
        ).one()
        lasts += conn.execute(select(func.max(spans.valid_from), func.max(spans.valid_to))).one()
    if first is None:
        return None
    return HistorySpan(axis=axis, first=first, last=max(d for d in lasts if d is not None))
