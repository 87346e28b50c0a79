"""Programme set-up: systems, organisations, cohorts, fellows (admins write; people read)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from application.access import (
    can_see_personal_details,
    require_admin,
    require_eraser,
    require_organisation_reader,
    require_reader_of_people,
)
from application.erasure import erase_person
from application.errors import NotFoundError
from application.results import CohortView, ErasureResult, FellowView, OrganisationView, SystemView
from domain import commands as c
from domain.values import Sector
from interfaces.http.commands import reply
from interfaces.http.deps import (
    AppServices,
    AsAtParam,
    CurrentUser,
    ExpectedVersion,
    IdempotencyKey,
    Paging,
    Tracker,
    Views,
)
from interfaces.http.schemas import CommandOut, ErasureIn
from read_models.queries.common import Page
from read_models.queries.organisations import (
    OrganisationImpact,
    OrganisationSummary,
    list_organisations,
    organisation_impact,
)
from read_models.queries.programme import (
    CohortSummary,
    FellowSummary,
    SystemSummary,
    list_cohorts,
    list_fellows,
    list_systems,
)

router = APIRouter(prefix="/api", tags=["programme"])


@router.get("/systems")
def systems(_: CurrentUser, engine: Views, paging: Paging) -> Page[SystemSummary]:
    """Integrated care systems."""
    return list_systems(engine, paging)


@router.post("/systems", status_code=201)
def register_system(
    body: c.RegisterSystem,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    key: IdempotencyKey,
) -> CommandOut:
    """Register a system (admins)."""
    require_admin(user)
    return reply(response, tracker.register_system(user.actor, body, idempotency_key=key))


@router.get("/systems/{system_id}")
def system(system_id: UUID, _: CurrentUser, tracker: Tracker) -> SystemView:
    """A system."""
    return tracker.system(system_id)


@router.get("/organisations")
def organisations(
    user: CurrentUser,
    engine: Views,
    paging: Paging,
    search: Annotated[str | None, Query(max_length=200)] = None,
    sector: Sector | None = None,
) -> Page[OrganisationSummary]:
    """Organisations by name."""
    found = list_organisations(
        engine, paging, search=search, sector=sector.value if sector else None
    )
    if user.role.value == "sponsor":
        mine = set(user.organisation_ids)
        found.items = [o for o in found.items if o.organisation_id in mine]
    return found


@router.post("/organisations", status_code=201)
def register_organisation(
    body: c.RegisterOrganisation,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    key: IdempotencyKey,
) -> CommandOut:
    """Register an organisation (admins)."""
    require_admin(user)
    return reply(response, tracker.register_organisation(user.actor, body, idempotency_key=key))


@router.get("/organisations/{organisation_id}")
def organisation(
    organisation_id: UUID, user: CurrentUser, tracker: Tracker, response: Response
) -> OrganisationView:
    """An organisation."""
    require_organisation_reader(user, organisation_id)
    found = tracker.organisation(organisation_id)
    response.headers["ETag"] = f'"{found.version}"'
    return found


@router.post("/organisations/{organisation_id}/name")
def rename_organisation(
    organisation_id: UUID,
    body: c.RenameOrganisation,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Record an organisation's new name (admins)."""
    require_admin(user)
    return reply(
        response,
        tracker.rename_organisation(
            user.actor, organisation_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.get("/organisations/{organisation_id}/impact")
def impact(
    organisation_id: UUID, user: CurrentUser, tracker: Tracker, engine: Views, as_at: AsAtParam
) -> OrganisationImpact:
    """What the organisation leads, partners in, pilots and has adopted (as at a date)."""
    require_organisation_reader(user, organisation_id)
    tracker.organisation(organisation_id)  # 404 for an unknown id
    found = organisation_impact(engine, organisation_id, as_at)
    if found is None:
        msg = "The views have not seen this organisation yet; retry with wait=true."
        raise NotFoundError(msg)
    return found


@router.get("/cohorts")
def cohorts(
    _: CurrentUser, engine: Views, paging: Paging, system_id: UUID | None = None
) -> Page[CohortSummary]:
    """Cohorts, newest first."""
    return list_cohorts(engine, paging, system_id)


@router.post("/cohorts", status_code=201)
def start_cohort(
    body: c.StartCohort,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    key: IdempotencyKey,
) -> CommandOut:
    """Start a cohort (admins)."""
    require_admin(user)
    return reply(response, tracker.start_cohort(user.actor, body, idempotency_key=key))


@router.get("/cohorts/{cohort_id}")
def cohort(cohort_id: UUID, _: CurrentUser, tracker: Tracker) -> CohortView:
    """A cohort."""
    return tracker.cohort(cohort_id)


@router.get("/fellows")
def fellows(
    user: CurrentUser, engine: Views, paging: Paging, cohort_id: UUID | None = None
) -> Page[FellowSummary]:
    """Fellows (admins and evaluators): ids, cohorts, organisations and role titles."""
    require_reader_of_people(user, None)
    return list_fellows(engine, paging, cohort_id)


@router.post("/fellows", status_code=201)
def enrol_fellow(
    body: c.EnrolFellow,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    key: IdempotencyKey,
) -> CommandOut:
    """Enrol a fellow (admins)."""
    require_admin(user)
    return reply(response, tracker.enrol_fellow(user.actor, body, idempotency_key=key))


@router.get("/fellows/{fellow_id}")
def fellow(fellow_id: UUID, user: CurrentUser, tracker: Tracker) -> FellowView:
    """A fellow's enrolment (admins, evaluators and the fellow).

    Name and email are shown to admins and the fellow themself only; evaluators get them as
    null. An erased fellow reads as name "[erased]", email null, `erased: true`.
    """
    require_reader_of_people(user, fellow_id)
    found = tracker.fellow(fellow_id)
    if can_see_personal_details(user, fellow_id):
        return found
    return found.without_personal_details()


@router.post("/fellows/{fellow_id}/erasure")
def erase_fellow(
    fellow_id: UUID, body: ErasureIn, user: CurrentUser, svc: AppServices
) -> ErasureResult:
    """Erase a fellow's personal details for good (admins): UK GDPR right to erasure.

    Records a `FellowErased` event (who, when, the reason's category; nothing about the
    person) and deletes the fellow's key, so their name and email, stored only encrypted with
    it, can never be read again; the log and its hashes are untouched. Their user accounts
    are renamed "Erased person" and disabled, and their tokens and sessions deleted. Erasing
    an erased fellow records nothing and answers `already_erased: true`.
    """
    require_eraser(user)
    return erase_person(svc.tracker, svc.identity, user.actor, fellow_id, body.reason)
