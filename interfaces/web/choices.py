"""Options for the forms' selects and filters, read from the views."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Engine

from application.identity.service import IdentityService
from domain.values import Role
from interfaces.web.labels import SECTOR_LABELS
from read_models.queries.common import PageParams
from read_models.queries.organisations import list_organisations
from read_models.queries.programme import list_cohorts, list_fellows

ALL = PageParams(page=1, per_page=500)


def cohort_options(engine: Engine) -> list[tuple[str, str]]:
    """Every cohort, newest first."""
    return [
        (str(c.cohort_id), f"{c.programme} cohort {c.number} ({c.starts_on:%b %Y})")
        for c in list_cohorts(engine, ALL).items
    ]


def organisation_options(engine: Engine) -> list[tuple[str, str]]:
    """Every organisation by name, with its sector."""
    return [
        (str(o.organisation_id), f"{o.name} ({SECTOR_LABELS.get(o.sector, o.sector)})")
        for o in list_organisations(engine, ALL).items
    ]


def organisation_names(engine: Engine) -> dict[UUID, str]:
    """Organisation names by id, for tables."""
    return {o.organisation_id: o.name for o in list_organisations(engine, ALL).items}


def fellow_options(
    engine: Engine, cohort_id: UUID, organisations: dict[UUID, str]
) -> list[tuple[str, str]]:
    """A cohort's fellows by role title and organisation (names stay out of lists)."""
    return [
        (str(f.fellow_id), f"{f.role_title}, {organisations.get(f.organisation_id, 'unknown')}")
        for f in list_fellows(engine, ALL, cohort_id=cohort_id).items
    ]


def sponsor_options(identity: IdentityService) -> list[tuple[str, str]]:
    """Accounts that can sponsor a project."""
    return [(u.user_id, u.display_name) for u in identity.list_users() if u.role is Role.SPONSOR]
