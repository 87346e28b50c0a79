"""The programme's structure for lists: systems, cohorts and fellows (from the portfolio view)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Engine, func, select, true

from read_models.queries.common import Page, PageParams
from read_models.views.portfolio import cohorts, fellows, systems


class SystemSummary(BaseModel):
    """An integrated care system in a list."""

    system_id: UUID
    name: str


class CohortSummary(BaseModel):
    """A cohort in a list."""

    cohort_id: UUID
    system_id: UUID
    programme: str
    number: int
    starts_on: date


class FellowSummary(BaseModel):
    """A fellow in a list: ids and role title only."""

    fellow_id: UUID
    cohort_id: UUID
    organisation_id: UUID
    role_title: str


def list_systems(engine: Engine, params: PageParams | None = None) -> Page[SystemSummary]:
    """Systems by name."""
    params = params or PageParams()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(systems)).scalar_one()
        rows = conn.execute(
            select(systems).order_by(systems.c.name).limit(params.per_page).offset(params.offset)
        ).mappings()
        items = [SystemSummary.model_validate(dict(r)) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


def list_cohorts(
    engine: Engine, params: PageParams | None = None, system_id: UUID | None = None
) -> Page[CohortSummary]:
    """Cohorts, newest first."""
    params = params or PageParams()
    where = cohorts.c.system_id == system_id if system_id else true()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(cohorts).where(where)).scalar_one()
        rows = conn.execute(
            select(cohorts)
            .where(where)
            .order_by(cohorts.c.starts_on.desc(), cohorts.c.number)
            .limit(params.per_page)
            .offset(params.offset)
        ).mappings()
        items = [CohortSummary.model_validate(dict(r)) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)


def list_fellows(
    engine: Engine, params: PageParams | None = None, cohort_id: UUID | None = None
) -> Page[FellowSummary]:
    """Fellows of a cohort (or all), by role title."""
    params = params or PageParams()
    where = fellows.c.cohort_id == cohort_id if cohort_id else true()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(fellows).where(where)).scalar_one()
        rows = conn.execute(
            select(fellows)
            .where(where)
            .order_by(fellows.c.role_title, fellows.c.fellow_id)
            .limit(params.per_page)
            .offset(params.offset)
        ).mappings()
        items = [FellowSummary.model_validate(dict(r)) for r in rows]
    return Page(items=items, total=total, page=params.page, per_page=params.per_page)
