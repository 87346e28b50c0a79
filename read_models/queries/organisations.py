"""Organisation impact: involvements as at any date, adoption spread, sectors reached."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Engine, and_, false, func, or_, select, true

from read_models.queries.common import AsAt, Axis, Page, PageParams, UtcDateTime, storable
from read_models.views.organisations import involvements, organisations, projects


class OrganisationSummary(BaseModel):
    """An organisation in a list."""

    organisation_id: UUID
    name: str
    sector: str
    system_id: UUID
    ods_code: str | None


class Involvement(BaseModel):
    """An organisation's part in a project, with when it began and ended on both axes."""

    project_id: UUID
    project_title: str
    role: str
    scope: str | None
    from_on: date
    from_at: UtcDateTime
    to_on: date | None
    to_at: UtcDateTime | None


class OrganisationImpact(BaseModel):
    """What an organisation leads, partners in, pilots and has adopted."""

    organisation: OrganisationSummary
    as_at: AsAt | None
    leads: list[Involvement]
    partners_in: list[Involvement]
    pilots: list[Involvement]
    adopted: list[Involvement]


class AdoptionPoint(BaseModel):
    """Adoption of one project by one more organisation."""

    organisation_id: UUID
    organisation_name: str
    sector: str
    adopted_on: date
    recorded_at: UtcDateTime
    scope: str | None
    organisations_so_far: int


class AdoptionSpread(BaseModel):
    """How a project spread: adoptions in effective order, and the sectors it reached."""

    project_id: UUID
    title: str
    adoptions: list[AdoptionPoint]
    sectors_reached: list[str]


def list_organisations(
    engine: Engine,
    params: PageParams | None = None,
    *,
    search: str | None = None,
    sector: str | None = None,
) -> Page[OrganisationSummary]:
    """Organisations by name."""
    params = params or PageParams()
    o = organisations.c
    where = and_(
        true() if storable(search) and storable(sector) else false(),
        *([func.lower(o.name).contains(search.strip().lower(), autoescape=True)] if search else []),
        *([o.sector == sector] if sector else []),
    )
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(organisations).where(where)
        ).scalar_one()
        rows = conn.execute(
            select(organisations)
            .where(where)
            .order_by(o.name)
            .limit(params.per_page)
            .offset(params.offset)
        ).mappings()
        items = [OrganisationSummary.model_validate(dict(r)) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


def organisation_impact(
    engine: Engine, organisation_id: UUID, as_at: AsAt | None = None
) -> OrganisationImpact | None:
    """An organisation's involvements now, or in force as at a date on either axis."""
    i = involvements.c
    query = (
        select(involvements, projects.c.title.label("project_title"))
        .join(projects, projects.c.project_id == i.project_id)
        .where(i.organisation_id == organisation_id)
    )
    if as_at is None:
        query = query.where(i.to_on.is_(None))
    elif as_at.axis is Axis.EFFECTIVE:
        day = as_at.day
        query = query.where(i.from_on <= day, or_(i.to_on.is_(None), i.to_on > day))
    else:
        cutoff = as_at.cutoff
        query = query.where(i.from_at <= cutoff, or_(i.to_at.is_(None), i.to_at > cutoff))
    with engine.connect() as conn:
        found = (
            conn.execute(
                select(organisations).where(organisations.c.organisation_id == organisation_id)
            )
            .mappings()
            .first()
        )
        if found is None:
            return None
        rows = [
            Involvement.model_validate(dict(r))
            for r in conn.execute(query.order_by(i.from_on, i.project_id)).mappings()
        ]
    by_role: dict[str, list[Involvement]] = {"lead": [], "partner": [], "pilot": [], "adopter": []}
    for row in rows:
        by_role[row.role].append(row)
    return OrganisationImpact(
        organisation=OrganisationSummary.model_validate(dict(found)),
        as_at=as_at,
        leads=by_role["lead"],
        partners_in=by_role["partner"],
        pilots=by_role["pilot"],
        adopted=by_role["adopter"],
    )


def adoption_spread(engine: Engine, project_id: UUID) -> AdoptionSpread | None:
    """Each organisation that adopted the project, in effective order, and sectors reached."""
    i, o = involvements.c, organisations.c
    with engine.connect() as conn:
        title = conn.execute(
            select(projects.c.title).where(projects.c.project_id == project_id)
        ).scalar()
        if title is None:
            return None
        adoptions = conn.execute(
            select(i.organisation_id, o.name, o.sector, i.from_on, i.from_at, i.scope)
            .join(organisations, o.organisation_id == i.organisation_id)
            .where(i.project_id == project_id, i.role == "adopter")
            .order_by(i.from_on, i.from_at)
        ).all()
        sectors = (
            conn.execute(
                select(o.sector)
                .distinct()
                .join(involvements, o.organisation_id == i.organisation_id)
                .where(i.project_id == project_id)
                .order_by(o.sector)
            )
            .scalars()
            .all()
        )
    return AdoptionSpread(
        project_id=project_id,
        title=title,
        sectors_reached=list(sectors),
        adoptions=[
            AdoptionPoint(
                organisation_id=r.organisation_id,
                organisation_name=r.name,
                sector=r.sector,
                adopted_on=r.from_on,
                recorded_at=r.from_at,
                scope=r.scope,
                organisations_so_far=n,
            )
            for n, r in enumerate(adoptions, start=1)
        ],
    )


class SectorAdoption(BaseModel):
    """One sector: its organisations, and how many of them have adopted at least one project."""

    sector: str
    organisations: int
    adopters: int


def adoption_by_sector(engine: Engine) -> list[SectorAdoption]:
    """Every sector with organisations, and how far adoption has reached into it (by sector)."""
    i, o = involvements.c, organisations.c
    adopter = select(i.organisation_id).where(i.role == "adopter").distinct().subquery("adopter")
    query = (
        select(
            o.sector,
            func.count().label("organisations"),
            func.count(adopter.c.organisation_id).label("adopters"),
        )
        .outerjoin(adopter, adopter.c.organisation_id == o.organisation_id)
        .group_by(o.sector)
        .order_by(o.sector)
    )
    with engine.connect() as conn:
        return [SectorAdoption.model_validate(dict(r)) for r in conn.execute(query).mappings()]
