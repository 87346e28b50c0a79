"""Projects: the list (search, filters, pages), one project's timeline and stage history."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Engine, and_, func, or_, select

from domain.stages import derive_stage
from domain.values import ProjectStatus, Stage
from read_models.queries.common import AsAt, Axis, Page, PageParams, UtcDateTime
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
    conditions = []
    if search:
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


def project_timeline(
    engine: Engine,
    project_id: UUID,
    as_at: AsAt | None = None,
    params: PageParams | None = None,
) -> ProjectTimeline | None:
    """A project's events (a page, in order) and stage history, now or as at a date.

    None if the project had no events by then.
    """
    params = params or PageParams(per_page=500)
    with engine.connect() as conn:
        row = conn.execute(select(projects).where(projects.c.project_id == project_id)).mappings()
        found = row.first()
        if found is None:
            return None
        summary = ProjectSummary.model_validate(dict(found))
        e, s = entries.c, stage_changes.c
        in_force = [e.project_id == project_id]
        change_query = select(stage_changes).where(s.project_id == project_id)
        if as_at is not None and as_at.axis is Axis.RECORDED:
            in_force.append(e.recorded_at <= as_at.cutoff)
            change_query = change_query.where(s.recorded_at <= as_at.cutoff)
        elif as_at is not None:
            in_force.append(e.occurred_on <= as_at.day)
        counted = conn.execute(
            select(e.event_type, func.count()).where(*in_force).group_by(e.event_type)
        )
        kinds: dict[str, int] = {str(row[0]): int(row[1]) for row in counted}
        rows = conn.execute(
            select(entries)
            .where(*in_force)
            .order_by(e.version)
            .limit(params.per_page)
            .offset(params.offset)
        ).mappings()
        page: Page[TimelineEntry] = Page(
            items=[TimelineEntry.model_validate(dict(r)) for r in rows],
            total=sum(kinds.values()),
            page=params.page,
            per_page=params.per_page,
        )
        changes = [
            StageChange.model_validate(dict(r))
            for r in conn.execute(change_query.order_by(s.seq)).mappings()
        ]
    if as_at is not None and not page.total:
        return None
    if as_at is not None and as_at.axis is Axis.EFFECTIVE:
        # Retractions never take effect before their measurement, so counts suffice.
        stage = derive_stage(
            pilots=kinds.get("PilotStarted", 0),
            current_measurements=kinds.get("MeasurementRecorded", 0)
            - kinds.get("MeasurementRetracted", 0),
            adoptions=kinds.get("ProjectAdopted", 0),
        )
    else:
        stage = changes[-1].stage if changes else summary.stage
    return ProjectTimeline(
        project=summary, as_at=as_at, stage=stage, entries=page, stage_history=changes
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
