"""Projects: the list (search, filters, pages), one project's timeline and stage history."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

from pydantic import BaseModel, TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    type_coerce,
)

from domain.stages import derive_stage
from domain.values import ProjectStatus, Stage
from read_models.queries.common import AsAt, Axis, Page, PageParams, UtcDateTime, storable
from read_models.views.organisations import involvements
from read_models.views.organisations import organisations as org_names
from read_models.views.timeline import entries, members, projects, stage_changes


class ProjectSummary(BaseModel):
    """A project in a list."""

    project_id: UUID
    title: str
    cohort_id: UUID
    lead_organisation_id: UUID
    sponsor_id: str | None
    stage: Stage
    status: ProjectStatus
    proposed_on: date
    version: int


class TimelineEntry(BaseModel):
    """One event of a project as a timeline shows it."""

    notification_id: int
    version: int
    event_type: str
    actor_id: str
    actor_role: str
    occurred_on: date
    recorded_at: UtcDateTime
    summary: str
    data: dict[str, Any]


class StageChange(BaseModel):
    """When a project entered a stage, on both axes."""

    stage: Stage
    previous_stage: Stage | None
    occurred_on: date
    recorded_at: UtcDateTime


class ProjectTimeline(BaseModel):
    """A project's timeline, now or as at a date, with its stage then; entries by page."""

    project: ProjectSummary
    as_at: AsAt | None
    stage: Stage
    entries: Page[TimelineEntry]
    stage_history: list[StageChange]


# The entry columns in TimelineEntry's order, the data as its stored JSON text: decoding it with
# json.loads here costs half what the JSON column type's processor does, on the API's busiest
# read (a timeline page of up to 500 entries).
_ENTRY_COLUMNS = (
    entries.c.notification_id,
    entries.c.version,
    entries.c.event_type,
    entries.c.actor_id,
    entries.c.actor_role,
    entries.c.occurred_on,
    entries.c.recorded_at,
    entries.c.summary,
    type_coerce(entries.c.data, Text),
)
# A page's rows: the entry columns, then the entry's JSON head (``timeline_json`` joins the
# heads and the data; ``_entries`` validates the rest).
_PAGE_COLUMNS = (*_ENTRY_COLUMNS, entries.c.head)


@dataclass(frozen=True)
class _TimelineStatements:
    """The timeline's queries for one as-at axis, built once with bound parameters.

    A statement built per call costs as much again as running it (constructing the clauses
    and its cache key); these are built once and SQLAlchemy's compiled cache does the rest.
    """

    project: Select[Any]
    count: Select[Any]
    kinds: Select[Any]
    pasted: Select[Any]  # the data of the pastes in force: how many values each holds
    page: Select[Any]
    changes: Select[Any]


@cache
def _statements(axis: Axis | None) -> _TimelineStatements:
    e, s = entries.c, stage_changes.c
    in_force = [e.project_id == bindparam("project_id")]
    changes = select(stage_changes).where(s.project_id == bindparam("project_id"))
    if axis is Axis.RECORDED:
        in_force.append(e.recorded_at <= bindparam("cutoff"))
        changes = changes.where(s.recorded_at <= bindparam("cutoff"))
    elif axis is Axis.EFFECTIVE:
        in_force.append(e.occurred_on <= bindparam("day"))
    return _TimelineStatements(
        project=select(projects).where(projects.c.project_id == bindparam("project_id")),
        # The count alone is answered from the (project, version) index.
        count=select(func.count()).where(*in_force),
        kinds=select(e.event_type, func.count()).where(*in_force).group_by(e.event_type),
        pasted=select(e.data).where(*in_force, e.event_type == "MeasurementsPasted"),
        page=select(*_PAGE_COLUMNS)
        .where(*in_force)
        .order_by(e.version)
        .limit(bindparam("limit"))
        .offset(bindparam("offset")),
        changes=changes.order_by(s.seq),
    )


_ENTRY_KEYS = tuple(TimelineEntry.model_fields)
_ENTRY_LIST = TypeAdapter(list[TimelineEntry])


def _decoded(data: Any) -> Any:
    """An entry's data: SQLite hands back its JSON text, PostgreSQL's driver decodes it."""
    return json.loads(data) if isinstance(data, str) else data


def _entries(rows: Iterable[Row[Any]]) -> list[TimelineEntry]:
    """Timeline entries from view rows, validated as one list (one call into pydantic-core).

    SQLite hands the data back as its JSON text; PostgreSQL's driver has decoded it already.
    """
    found: list[dict[str, Any]] = []
    for row in rows:
        *columns, data, _head = tuple(row)
        found.append(dict(zip(_ENTRY_KEYS, (*columns, _decoded(data)), strict=True)))
    return _ENTRY_LIST.validate_python(found)


def list_projects(
    engine: Engine,
    params: PageParams | None = None,
    *,
    search: str | None = None,
    cohort_id: UUID | None = None,
    stage: Stage | None = None,
    organisation_id: UUID | None = None,
    fellow_id: UUID | None = None,
    sponsor_id: str | None = None,
    visible_to: tuple[str, list[UUID]] | None = None,
) -> Page[ProjectSummary]:
    """Projects matching every filter given, newest proposals first.

    ``visible_to`` (a sponsor's user id and organisations) keeps only the projects they sponsor
    or whose lead or current partners include one of their organisations.
    """
    params = params or PageParams()
    p = projects.c
    conditions: list[ColumnElement[bool]] = []
    if search and not storable(search):
        conditions.append(false())
    elif search:
        conditions.append(func.lower(p.title).contains(search.strip().lower(), autoescape=True))
    if cohort_id:
        conditions.append(p.cohort_id == cohort_id)
    if stage:
        conditions.append(p.stage == stage.value)
    if organisation_id:  # leading, partnering, piloting or adopting, then or now
        conditions.append(
            or_(
                p.lead_organisation_id == organisation_id,
                p.project_id.in_(
                    select(involvements.c.project_id).where(
                        involvements.c.organisation_id == organisation_id
                    )
                ),
            )
        )
    if sponsor_id:
        conditions.append(p.sponsor_id == sponsor_id)
    if fellow_id:
        conditions.append(
            p.project_id.in_(select(members.c.project_id).where(members.c.fellow_id == fellow_id))
        )
    if visible_to:
        sponsor, organisations = visible_to
        i = involvements.c
        conditions.append(
            or_(
                p.sponsor_id == sponsor,
                p.project_id.in_(
                    select(i.project_id).where(
                        i.organisation_id.in_(organisations),
                        i.role.in_(["lead", "partner"]),
                        i.to_on.is_(None),
                    )
                ),
            )
        )
    where = and_(True, *conditions)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(projects).where(where)).scalar_one()
        rows = conn.execute(
            select(projects)
            .where(where)
            .order_by(p.proposed_on.desc(), p.title)
            .limit(params.per_page)
            .offset(params.offset)
        ).mappings()
        items = [ProjectSummary.model_validate(dict(r)) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


@dataclass(frozen=True)
class TimelineRows:
    """A timeline's parts as read: the entries still view rows, for whoever shapes them."""

    summary: ProjectSummary
    as_at: AsAt | None
    stage: Stage
    total: int
    params: PageParams
    rows: list[Row[Any]]  # _PAGE_COLUMNS; data as JSON text (SQLite) or decoded (PostgreSQL)
    changes: list[StageChange]


def timeline_rows(
    engine: Engine,
    project_id: UUID,
    as_at: AsAt | None = None,
    params: PageParams | None = None,
) -> TimelineRows | None:
    """Read a project's timeline page, stage and stage history, now or as at a date.

    None if the project had no events by then.
    """
    params = params or PageParams(per_page=500)
    axis = as_at.axis if as_at is not None else None
    statements = _statements(axis)
    bound: dict[str, Any] = {"project_id": project_id}
    if as_at is not None and axis is Axis.RECORDED:
        bound["cutoff"] = as_at.cutoff
    elif as_at is not None:
        bound["day"] = as_at.day
    kinds: dict[str, int] = {}
    with engine.connect() as conn:
        found = conn.execute(statements.project, bound).mappings().first()
        if found is None:
            return None
        summary = ProjectSummary.model_validate(dict(found))
        if axis is Axis.EFFECTIVE:
            counted = conn.execute(statements.kinds, bound)
            kinds = {str(row[0]): int(row[1]) for row in counted}
            total = sum(kinds.values())
            if "MeasurementsPasted" in kinds:  # a paste is as many measurements as its values
                pasted = sum(
                    len(_decoded(data)["values"])
                    for data in conn.execute(statements.pasted, bound).scalars()
                )
                kinds["MeasurementRecorded"] = kinds.get("MeasurementRecorded", 0) + pasted
        else:
            total = conn.execute(statements.count, bound).scalar_one()
        rows = list(
            conn.execute(
                statements.page, {**bound, "limit": params.per_page, "offset": params.offset}
            )
        )
        changes = [
            StageChange.model_validate(dict(r))
            for r in conn.execute(statements.changes, bound).mappings()
        ]
    if as_at is not None and not total:
        return None
    if axis is Axis.EFFECTIVE:
        # Retractions never take effect before their measurement, so counts suffice.
        stage = derive_stage(
            pilots=kinds.get("PilotStarted", 0),
            current_measurements=kinds.get("MeasurementRecorded", 0)
            - kinds.get("MeasurementRetracted", 0),
            adoptions=kinds.get("ProjectAdopted", 0),
        )
    else:
        stage = changes[-1].stage if changes else summary.stage
    return TimelineRows(summary, as_at, stage, total, params, rows, changes)


def project_timeline(
    engine: Engine,
    project_id: UUID,
    as_at: AsAt | None = None,
    params: PageParams | None = None,
) -> ProjectTimeline | None:
    """A project's events (a page, in order) and stage history, now or as at a date.

    None if the project had no events by then.
    """
    found = timeline_rows(engine, project_id, as_at, params)
    if found is None:
        return None
    page: Page[TimelineEntry] = Page(
        items=_entries(found.rows),
        total=found.total,
        page=found.params.page,
        per_page=found.params.per_page,
    )
    return ProjectTimeline(
        project=found.summary,
        as_at=found.as_at,
        stage=found.stage,
        entries=page,
        stage_history=found.changes,
    )


def project_members(engine: Engine, project_id: UUID) -> set[UUID]:
    """The fellows who may write to a project (its lead and team)."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(members.c.fellow_id).where(members.c.project_id == project_id)
            ).scalars()
        )


def organisation_name(engine: Engine, organisation_id: UUID) -> str | None:
    """An organisation's current name, for labels."""
    with engine.connect() as conn:
        found: str | None = conn.execute(
            select(org_names.c.name).where(org_names.c.organisation_id == organisation_id)
        ).scalar()
    return found


class AccessFacts(BaseModel):
    """What read access to a project depends on, from the views (cheap to fetch)."""

    project_id: UUID
    sponsor_id: str | None
    organisation_ids: set[UUID]
    member_fellow_ids: set[UUID]


def access_facts(engine: Engine, project_id: UUID) -> AccessFacts | None:
    """The project's sponsor, lead and current partner organisations, and its members."""
    i = involvements.c
    with engine.connect() as conn:
        found = conn.execute(
            select(projects.c.sponsor_id, projects.c.lead_organisation_id).where(
                projects.c.project_id == project_id
            )
        ).first()
        if found is None:
            return None
        partners = set(
            conn.execute(
                select(i.organisation_id).where(
                    i.project_id == project_id, i.role == "partner", i.to_on.is_(None)
                )
            ).scalars()
        )
        fellows = set(
            conn.execute(
                select(members.c.fellow_id).where(members.c.project_id == project_id)
            ).scalars()
        )
    return AccessFacts(
        project_id=project_id,
        sponsor_id=found.sponsor_id,
        organisation_ids={found.lead_organisation_id, *partners},
        member_fellow_ids=fellows,
    )
