"""Exports for analysts: events, stage transitions, projects, organisations, measures (MDC).

Every export is a stream of rows (never the whole log in memory); the interfaces write them as
CSV or JSON lines and decide whether people appear as pseudonyms (everyone but admins).

The filters are the same everywhere they make sense: a ``ProjectScope`` (cohort, system,
organisation) narrows every project-shaped export through one subquery, ``since``/``until``
keep effective dates in a range, and an ``AsAt`` gives the export as it stood at a point on
either time axis. A filtered export's rows are rows of the unfiltered one, unchanged, except
that as at a point every row says what was known (recorded axis) or true (effective) then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Engine, Select, and_, case, func, or_, select

from application.errors import InvalidRequestError, UnknownReferenceError
from application.named_people import FREE_TEXT_FIELDS
from application.tracker import ImpactTracker
from domain.periods import period_index
from domain.spc import SPCInputError
from domain.values import ProjectStatus
from read_models.envelope import Envelope, decode
from read_models.projection import utc_naive
from read_models.queries.charts import ChartOptions, chart_and_points, charted_points
from read_models.queries.common import AsAt, Axis
from read_models.queries.portfolio import _stage_column  # the portfolio's as-at stage, shared
from read_models.views.measures import measures
from read_models.views.organisations import involvements
from read_models.views.organisations import organisations as org_table
from read_models.views.portfolio import cohorts as pf_cohorts
from read_models.views.portfolio import organisations as pf_organisations
from read_models.views.portfolio import projects as pf_projects
from read_models.views.portfolio import stage_changes as pf_changes
from read_models.views.portfolio import systems as pf_systems
from read_models.views.timeline import entries, projects
from read_models.views.timeline import stage_changes as timeline_changes

# Rows fetched per round trip: enough to stream quickly, few enough to keep memory flat.
BATCH = 1000


class ProjectScope(BaseModel):
    """Which projects an export covers; every filter given applies (none: every project)."""

    model_config = ConfigDict(frozen=True)

    cohort_id: UUID | None = None
    system_id: UUID | None = None  # projects of the cohorts in this integrated care system
    organisation_id: UUID | None = None  # projects it leads, partners in, pilots or adopted


def scoped_project_ids(
    scope: ProjectScope | None, as_at: AsAt | None = None
) -> Select[UUID] | None:
    """The ids of the projects in scope, as the subquery every project-shaped export filters by.

    None when the scope selects every project, so unfiltered exports carry no extra clause.
    An organisation's projects follow the projects list's rule (leading, partnering, piloting
    or adopting, then or now); as at a point only involvements begun by then count, so the
    export as it stood then doesn't name a project the organisation came to later.
    """
    if scope is None or scope == ProjectScope():
        return None
    p = projects.c
    query = select(p.project_id)
    if scope.cohort_id is not None:
        query = query.where(p.cohort_id == scope.cohort_id)
    if scope.system_id is not None:
        in_system = select(pf_cohorts.c.cohort_id).where(pf_cohorts.c.system_id == scope.system_id)
        query = query.where(p.cohort_id.in_(in_system))
    if scope.organisation_id is not None:
        i = involvements.c
        involved = select(i.project_id).where(
            i.organisation_id == scope.organisation_id, *_in_force(i.from_on, i.from_at, as_at)
        )
        query = query.where(
            or_(p.lead_organisation_id == scope.organisation_id, p.project_id.in_(involved))
        )
    return query


def scoped_projects(
    engine: Engine, scope: ProjectScope | None, as_at: AsAt | None = None
) -> frozenset[UUID] | None:
    """The ids of the projects in scope, for filtering the event log (None: every stream).

    The event log can't join the views, so the ids are fetched once: a programme's projects
    number thousands at most, unlike its events.
    """
    query = scoped_project_ids(scope, as_at)
    if query is None:
        return None
    with engine.connect() as conn:
        return frozenset(conn.execute(query).scalars())


def check_dates(since: date | None, until: date | None) -> None:
    """Refuse a range that ends before it starts: it would give an empty file, not an answer."""
    if since is not None and until is not None and until < since:
        msg = f"until ({until}) is before since ({since})."
        raise InvalidRequestError(msg, field="until")


def check_scope(engine: Engine, scope: ProjectScope) -> None:
    """Refuse an id that names nothing, naming its field (``cohort_id``, ``system_id``...).

    An unknown id would otherwise give an empty file that looks like a true answer.
    """
    lookups = (
        ("cohort_id", "cohort", pf_cohorts.c.cohort_id, scope.cohort_id),
        ("system_id", "system", pf_systems.c.system_id, scope.system_id),
        ("organisation_id", "organisation", org_table.c.organisation_id, scope.organisation_id),
    )
    with engine.connect() as conn:
        for field, kind, column, wanted in lookups:
            found = wanted is None or conn.execute(select(column).where(column == wanted)).first()
            if not found:
                msg = f"There is no {kind} with id {wanted}."
                raise UnknownReferenceError(msg, field=field)


def _in_force(
    occurred_on: ColumnElement[date], recorded_at: ColumnElement[Any], as_at: AsAt | None
) -> list[ColumnElement[bool]]:
    """Conditions keeping the rows in force at the point: recorded by then, or effective by then."""
    if as_at is None:
        return []
    if as_at.axis is Axis.RECORDED:
        return [recorded_at <= as_at.cutoff]
    return [occurred_on <= as_at.day]


def _within(
    column: ColumnElement[date], since: date | None, until: date | None
) -> list[ColumnElement[bool]]:
    """Conditions keeping dates in the inclusive range (either end open)."""
    return [
        *([column >= since] if since is not None else []),
        *([column <= until] if until is not None else []),
    ]


MDC_COLUMNS = [
    "metric_id",
    "metric_name",
    "unit",
    "improvement_direction",
    "target",
    "baseline_points",
    "group_type",
    "group_id",
    "group_name",
    "date",
    "value",
    "phase",
    "recalculate_limits",
    "ghost",
    "astronomical",
    "annotation",
]
"""Making Data Count's long format, one row per point.  Every metric belongs to one project, so
``group_type`` is always ``project`` (``group_id`` the project's id, ``group_name`` its title):
a measure is never pooled across an organisation's or a cohort's projects, and regrouping by
cohort or organisation is a join with ``projects.csv`` on ``group_id``."""


def measures_long(
    engine: Engine,
    *,
    recalculate_at_pilot: bool = False,
    scope: ProjectScope | None = None,
    since: date | None = None,
    until: date | None = None,
    as_at: AsAt | None = None,
) -> Iterator[dict[str, Any]]:
    """Every point of every measure in scope, in MDC's long format (streamed, measure by measure).

    Each measure's rows are its chart (``measure_chart``, with the chart's own stored settings:
    recalculation points, baseline, ghosted and astronomical points), so the export and the
    chart agree point by point: ``phase`` is the point's phase (blank on a run chart, which
    has none), ``recalculate_limits`` the analyst's mark that starts a phase, and
    ``annotation`` names the chart's milestones (pilot starts, adoptions, sign-offs) whose date
    falls in the point's own period (day, week, month or quarter).  ``recalculate_at_pilot``
    adds a phase from the first pilot's period, as the chart's option of that name does.
    As at a point: the measures defined by then, each chart as it stood. ``since``/``until``
    keep periods in a range; the chart is worked out on the whole series first, so a range
    never moves a mark.
    """
    m = measures.c
    query = (
        select(measures, projects.c.title)
        .join(projects, projects.c.project_id == m.project_id)
        .where(*_in_force(m.defined_on, m.defined_at, as_at))
    )
    in_scope = scoped_project_ids(scope, as_at)
    if in_scope is not None:
        query = query.where(m.project_id.in_(in_scope))
    with engine.connect() as conn:
        defined = conn.execute(query.order_by(projects.c.title, m.defined_at)).mappings().all()
    options = ChartOptions(recalculate_at_pilot=recalculate_at_pilot)
    for measure in defined:
        for row in _chart_rows(engine, dict(measure), as_at, options):
            if since is not None and row["date"] < since.isoformat():
                continue
            if until is not None and row["date"] > until.isoformat():
                continue
            yield row


def _chart_rows(
    engine: Engine, measure: dict[str, Any], as_at: AsAt | None, options: ChartOptions
) -> Iterator[dict[str, Any]]:
    """One measure's rows: its chart's points, or its raw points if it can't be charted.

    A series stored before one value per period was enforced may hold two values in one
    period; the chart refuses it (``DuplicatePeriodError``), and the export then still gives
    every point and its marks, with no phase, rather than failing the whole export.
    """
    try:
        drawn = chart_and_points(engine, measure["measure_id"], as_at, options)
    except SPCInputError:
        drawn = None
    if drawn is not None:
        chart, marked = drawn
        frequency, annotations = chart.measure.frequency, chart.annotations
        baseline = chart.baseline_points
        phases = [p.phase for p in chart.chart.points]
    else:
        found = charted_points(engine, measure["measure_id"], as_at, options)
        if found is None:  # defined after the list was read: it will be in the next export
            return
        series, annotations, marked = found
        frequency, baseline = series.measure.frequency, None
        phases = [None] * len(marked)
    by_period: dict[int, list[str]] = {}
    for annotation in annotations:
        by_period.setdefault(period_index(annotation.on, frequency), []).append(annotation.label)
    for point, phase in zip(marked, phases, strict=True):
        yield {
            "metric_id": str(measure["measure_id"]),
            "metric_name": measure["name"],
            "unit": measure["unit"],
            "improvement_direction": measure["direction"],
            "target": "" if measure["target"] is None else measure["target"],
            "baseline_points": "" if baseline is None else baseline,
            "group_type": "project",
            "group_id": str(measure["project_id"]),
            "group_name": measure["title"],
            "date": point.period.isoformat(),
            "value": point.value,
            "phase": "" if phase is None else phase + 1,
            "recalculate_limits": point.recalculate,
            "ghost": point.ghost,
            "astronomical": point.astronomical,
            "annotation": "; ".join(by_period.get(period_index(point.period, frequency), [])),
        }


PEOPLE_FIELDS = frozenset({"lead_fellow_id", "sponsor_id"})
PEOPLE_LIST_FIELDS = frozenset({"team_fellow_ids"})
PERSON_STREAM_EVENTS = frozenset({"FellowEnrolled", "FellowErased"})
# The system's own actor is no person, and analysts need to tell its events from people's.
SYSTEM_ROLE = "system"
# Personal details sealed with a person's key: never exported, not even as ciphertext, so an
# export can't outlive an erasure in a form that a leaked key would open.
SEALED_FIELDS = frozenset({"sealed_name", "sealed_email"})


def events_jsonl(
    tracker: ImpactTracker,
    pseudonym: Callable[[str | None], str | None] | None,
    *,
    projects: frozenset[UUID] | None = None,
    since: date | None = None,
    until: date | None = None,
    as_at: AsAt | None = None,
) -> Iterator[dict[str, Any]]:
    """Every event with both time axes; people as pseudonyms unless ``pseudonym`` is None.

    "People" means every id of a person: the actor (unless it is the system), the fellows and
    sponsors an event names, and the stream id of a fellow's own events, each through the same
    ``pseudonym`` so one person is one pseudonym across the file.
    Streamed from the event store page by page. Filters: only these projects' streams (from
    ``scoped_projects``; other streams are left out), an effective-date range, and as at a
    point: the events recorded by then, or effective on or before its day.
    """
    read_text = _text_reader(tracker, pseudonym)
    start = 1
    while page := tracker.recorder.select_notifications(start=start, limit=BATCH):
        for envelope in map(decode, page):
            if projects is not None and envelope.originator_id not in projects:
                continue
            day = envelope.occurred_on
            if (since and day < since) or (until and day > until):
                continue
            if as_at is not None and not _event_in_force(envelope, as_at):
                continue
            yield _event_row(envelope, pseudonym, read_text)
        start = page[-1].id + 1


def _text_reader(
    tracker: ImpactTracker, pseudonym: Callable[[str | None], str | None] | None
) -> Callable[[str], str]:
    """How free text sealed under fellows' keys reads: opened, or ``[erased]``.

    For evaluators each named fellow's name is replaced by their pseudonym, so the text
    doesn't undo the pseudonyms of the ids around it.
    """
    if pseudonym is None:
        return tracker.open_text

    def pseudonymised(text: str, people: list[UUID]) -> str:
        for person in people:
            name = tracker.named_people.name_of(person)
            if name:
                words = r"\W+".join(re.escape(word) for word in re.findall(r"\w+", name))
                found = re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)
                text = found.sub(str(pseudonym(str(person))), text)
        return text

    return lambda text: tracker.open_text(text, pseudonymised)


def _event_in_force(envelope: Envelope, as_at: AsAt) -> bool:
    if as_at.axis is Axis.RECORDED:
        return utc_naive(envelope.recorded_at) <= as_at.cutoff
    return envelope.occurred_on <= as_at.day


def _event_row(
    envelope: Envelope,
    pseudonym: Callable[[str | None], str | None] | None,
    read_text: Callable[[str], str],
) -> dict[str, Any]:
    hide = pseudonym or (lambda value: value)
    data = {
        k: v
        for k, v in envelope.state.items()
        if k not in {"actor", "timestamp", "occurred_on", "originator_topic"}
        and k not in SEALED_FIELDS
    }
    for key in PEOPLE_FIELDS & data.keys():
        data[key] = hide(data[key])
    for key in PEOPLE_LIST_FIELDS & data.keys():
        data[key] = [hide(f) for f in data[key]]
    for key in FREE_TEXT_FIELDS:
        if isinstance(text := data.get(key), str) and "[sealed:" in text:
            data[key] = read_text(text)
    stream_id = str(envelope.originator_id)
    if envelope.event_type in PERSON_STREAM_EVENTS:
        stream_id = str(hide(stream_id))
    actor = envelope.actor_id
    if envelope.actor_role != SYSTEM_ROLE:
        actor = str(hide(actor))
    return {
        "notification_id": envelope.notification_id,
        "stream_id": stream_id,
        "version": envelope.version,
        "event_type": envelope.event_type,
        "occurred_on": envelope.occurred_on.isoformat(),
        "recorded_at": envelope.recorded_at.isoformat(),
        "actor": actor,
        "actor_role": envelope.actor_role,
        "data": data,
    }


STAGE_COLUMNS = ["project_id", "from_stage", "to_stage", "effective_date", "recorded_at"]


def stage_transitions(
    engine: Engine,
    *,
    scope: ProjectScope | None = None,
    since: date | None = None,
    until: date | None = None,
    as_at: AsAt | None = None,
) -> Iterator[dict[str, Any]]:
    """Each stage a project entered and the one it left, on both axes (survival analysis).

    As at a point: the transitions recorded by then, or effective on or before its day.
    """
    s = timeline_changes.c
    query = select(s.project_id, s.previous_stage, s.stage, s.occurred_on, s.recorded_at).where(
        *_within(s.occurred_on, since, until), *_in_force(s.occurred_on, s.recorded_at, as_at)
    )
    in_scope = scoped_project_ids(scope, as_at)
    if in_scope is not None:
        query = query.where(s.project_id.in_(in_scope))
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=BATCH).execute(query.order_by(s.project_id, s.seq))
        for row in rows:
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


def projects_table(
    engine: Engine, *, scope: ProjectScope | None = None, as_at: AsAt | None = None
) -> Iterator[dict[str, Any]]:
    """One row per project in scope with its stage, status, dates and groupings.

    As at a point: only the projects that existed then (proposal recorded by the moment, or
    effective by the day), each with the stage the portfolio gives it then, and the status,
    pilot and adoption dates of the events in force then.
    """
    p, c, o, y = pf_projects.c, pf_cohorts.c, pf_organisations.c, pf_systems.c
    status: ColumnElement[str] = p.status
    piloted_on: ColumnElement[date | None] = p.piloted_on
    adopted_on: ColumnElement[date | None] = p.adopted_on
    if as_at is not None:
        status = _status_then(as_at)
        piloted_on = _first_effective("PilotStarted", as_at)
        adopted_on = _first_effective("ProjectAdopted", as_at)
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
            _stage_column(as_at),
            status.label("status"),
            p.proposed_on,
            piloted_on.label("piloted_on"),
            adopted_on.label("adopted_on"),
        )
        .join(pf_cohorts, c.cohort_id == p.cohort_id)
        .join(pf_systems, y.system_id == c.system_id)
        .join(pf_organisations, o.organisation_id == p.lead_organisation_id)
    )
    if as_at is not None and as_at.axis is Axis.RECORDED:
        # The portfolio's recorded stage: each project's last stage change recorded by then
        # (a project with none had not been proposed yet, so the inner join leaves it out).
        latest = (
            select(pf_changes.c.project_id, func.max(pf_changes.c.seq).label("seq"))
            .where(pf_changes.c.recorded_at <= as_at.cutoff)
            .group_by(pf_changes.c.project_id)
            .subquery()
        )
        query = query.join(latest, latest.c.project_id == p.project_id).join(
            pf_changes,
            and_(pf_changes.c.project_id == latest.c.project_id, pf_changes.c.seq == latest.c.seq),
        )
    elif as_at is not None:
        query = query.where(p.proposed_on <= as_at.day)
    in_scope = scoped_project_ids(scope, as_at)
    if in_scope is not None:
        query = query.where(p.project_id.in_(in_scope))
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=BATCH).execute(query.order_by(c.number, p.title))
        for r in rows:
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


_STATUS_EVENTS = {
    "ProjectPaused": ProjectStatus.PAUSED.value,
    "ProjectResumed": ProjectStatus.ACTIVE.value,
    "ProjectClosed": ProjectStatus.CLOSED.value,
}


def _first_effective(event_type: str, as_at: AsAt) -> ColumnElement[date | None]:
    """The earliest effective date of a project's events of one kind in force at the point."""
    e = entries.c
    return (
        select(func.min(e.occurred_on))
        .where(
            e.project_id == pf_projects.c.project_id,
            e.event_type == event_type,
            *_in_force(e.occurred_on, e.recorded_at, as_at),
        )
        .scalar_subquery()
    )


def _status_then(as_at: AsAt) -> ColumnElement[str]:
    """The status the last pause, resume or close in force gives (active if none).

    "Last" is in version order on the recorded axis, in effective order on the effective one.
    """
    e = entries.c
    order = [e.version.desc()]
    if as_at.axis is Axis.EFFECTIVE:
        order.insert(0, e.occurred_on.desc())
    last = (
        select(e.event_type)
        .where(
            e.project_id == pf_projects.c.project_id,
            e.event_type.in_(list(_STATUS_EVENTS)),
            *_in_force(e.occurred_on, e.recorded_at, as_at),
        )
        .order_by(*order)
        .limit(1)
        .scalar_subquery()
    )
    return case(_STATUS_EVENTS, value=last, else_=ProjectStatus.ACTIVE.value)


ORGANISATION_COLUMNS = ["organisation_id", "name", "sector", "system_id", "ods_code"]


def organisations_table(
    engine: Engine, *, system_id: UUID | None = None
) -> Iterator[dict[str, Any]]:
    """One row per organisation, or per organisation of one integrated care system."""
    o = org_table.c
    query = select(org_table).order_by(o.name)
    if system_id is not None:
        query = query.where(o.system_id == system_id)
    with engine.connect() as conn:
        for r in conn.execution_options(yield_per=BATCH).execute(query):
            yield {
                "organisation_id": str(r.organisation_id),
                "name": r.name,
                "sector": r.sector,
                "system_id": str(r.system_id),
                "ods_code": r.ods_code or "",
            }
