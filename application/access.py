"""Who may do what: role checks and object-level checks, in one place.

| role | reads | writes |
|---|---|---|
| fellow | every project, organisation, portfolio | projects they lead or are on the team of (not the sponsor) |
| sponsor | projects they sponsor or that involve an organisation they belong to | sign-off milestones on projects they sponsor |
| evaluator | everything | nothing |
| admin | everything | programme set-up (systems, organisations, cohorts, fellows, users); sponsor assignment; erasure |

Fellows' names and email addresses: admins and the fellow themself only (evaluators see fellows'
records without them, and pseudonyms in exports).
"""  # noqa: E501

from __future__ import annotations

from uuid import UUID

from application.errors import ApplicationError
from application.identity.service import User
from application.results import ProjectParties, ProjectView
from domain import commands as c
from domain.values import Role


class AccessDeniedError(ApplicationError):
    """The signed-in user may not do this."""

    code = "forbidden"


def can_read_project(user: User, sponsor_id: str | None, organisation_ids: set[UUID]) -> bool:
    """Whether the user may see a project with this sponsor and these organisations."""
    if user.role is not Role.SPONSOR:
        return True
    return sponsor_id == user.user_id or bool(organisation_ids & set(user.organisation_ids))


def require_read_project(user: User, sponsor_id: str | None, organisation_ids: set[UUID]) -> None:
    """Refuse a user who may not see the project (lead and partner organisations given)."""
    if not can_read_project(user, sponsor_id, organisation_ids):
        msg = "You can see only the projects you sponsor or that involve your organisation."
        raise AccessDeniedError(msg)


def is_member(user: User, project: ProjectView | ProjectParties) -> bool:
    """Whether the user is the project's lead fellow or on its team."""
    return user.fellow_id is not None and (
        user.fellow_id == project.lead_fellow_id or user.fellow_id in project.team_fellow_ids
    )


def can_write_project(
    user: User, project: ProjectView | ProjectParties, command: c.Command
) -> bool:
    """Whether the user may send this command to the project."""
    if user.role is Role.FELLOW:
        return is_member(user, project) and not isinstance(command, c.AssignSponsor)
    if user.role is Role.SPONSOR:
        return (
            isinstance(command, c.LogMilestone)
            and command.is_sign_off
            and project.sponsor_id == user.user_id
        )
    if user.role is Role.ADMIN:
        return isinstance(command, c.AssignSponsor)
    return False


def require_write_project(
    user: User, project: ProjectView | ProjectParties, command: c.Command
) -> None:
    """Refuse a command the user may not send to this project."""
    if can_write_project(user, project, command):
        return
    if isinstance(command, c.AssignSponsor):
        msg = "Only an admin can assign a project's sponsor."
    elif user.role is Role.FELLOW:
        msg = "Only the project's lead fellow and team can change it."
    elif user.role is Role.SPONSOR:
        msg = "Sponsors can record sign-off milestones on the projects they sponsor."
    else:
        msg = f"The {user.role.value} role can't change projects."
    raise AccessDeniedError(msg)


def require_can_propose(user: User, command: c.ProposeProject) -> None:
    """Only a fellow can propose, and only with themselves as lead or on the team."""
    if user.role is not Role.FELLOW or user.fellow_id is None:
        msg = "Only fellows can propose projects."
        raise AccessDeniedError(msg)
    if user.fellow_id != command.lead_fellow_id and user.fellow_id not in command.team_fellow_ids:
        msg = "Propose a project with yourself as the lead fellow or on the team."
        raise AccessDeniedError(msg, field="lead_fellow_id")


def require_admin(user: User) -> None:
    """Refuse anyone but an admin."""
    if user.role is not Role.ADMIN:
        msg = "Only an admin can set up the programme."
        raise AccessDeniedError(msg)


def require_reader_of_people(user: User, fellow_id: object) -> None:
    """Fellows' records: admins, evaluators, and the fellow themself."""
    if user.role in {Role.ADMIN, Role.EVALUATOR}:
        return
    if fellow_id is not None and user.fellow_id == fellow_id:
        return
    msg = "You can't see other fellows' records."
    raise AccessDeniedError(msg)


def can_see_personal_details(user: User, fellow_id: UUID) -> bool:
    """Whether the user may see a fellow's name and email: admins, and the fellow themself."""
    return user.role is Role.ADMIN or (user.fellow_id is not None and user.fellow_id == fellow_id)


def require_eraser(user: User) -> None:
    """Erasing a person's details is for admins only: it can't be undone."""
    if user.role is not Role.ADMIN:
        msg = "Only an admin can erase a person's details."
        raise AccessDeniedError(msg)


def require_organisation_reader(user: User, organisation_id: object) -> None:
    """Sponsors see the organisations they belong to; everyone else sees all."""
    if user.role is Role.SPONSOR and organisation_id not in user.organisation_ids:
        msg = "You can see only the organisations you belong to."
        raise AccessDeniedError(msg)
