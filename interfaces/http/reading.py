"""Read authorisation for project queries, from the views where that is cheap enough."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Engine

from application.access import require_read_project
from application.identity.service import User
from application.results import ProjectView
from application.tracker import ImpactTracker
from domain.values import Role
from read_models.queries.timeline import access_facts


def require_reader(user: User, project: ProjectView) -> None:
    """Refuse a user who may not read this project (its state already loaded)."""
    require_read_project(
        user, project.sponsor_id, {project.lead_organisation_id, *project.partner_organisation_ids}
    )


def authorise_read(user: User, project_id: UUID, tracker: ImpactTracker, engine: Engine) -> None:
    """Refuse a sponsor with no link to the project (other roles read every project).

    The check uses the views, or the event store if the views have not seen the project yet.
    """
    if user.role is not Role.SPONSOR:
        return
    facts = access_facts(engine, project_id)
    if facts is None:
        require_reader(user, tracker.project(project_id))
    else:
        require_read_project(user, facts.sponsor_id, facts.organisation_ids)
