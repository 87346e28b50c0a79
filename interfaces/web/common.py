"""What several page routers share: reading a project, as-at forms, waiting for the views."""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from uuid import UUID

from sqlalchemy import Engine

from application.identity.service import User
from application.results import ProjectView
from interfaces.http.deps import AppServices
from interfaces.http.reading import require_reader
from interfaces.web.forms import FormErrors
from read_models.queries.common import AsAt, Axis
from read_models.runner import WaitTimeoutError, wait_until_applied

AXES = [
    (Axis.EFFECTIVE.value, "As it was in effect on the date"),
    (Axis.RECORDED.value, "As recorded by the end of the date"),
]
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def today() -> str:
    """The default effective date of a form: today."""
    return date.today().isoformat()


def readable_project(svc: AppServices, user: User, project_id: UUID) -> ProjectView:
    """The project now, if this user may read it (404 or 403 otherwise)."""
    project = svc.tracker.project(project_id)
    require_reader(user, project)
    return project


def caught_up(svc: AppServices, after: int | None) -> Engine:
    """The views, once they include notification ``after`` (read-your-writes after a POST).

    ``after`` comes from the address, so it is capped at the log's head: a made-up number
    cannot hold a worker for the whole timeout.  On a timeout the page shows what the views
    have; the live stream brings the rest.
    """
    engine = svc.read_side.engine
    if after:
        target = min(after, svc.tracker.head())
        with suppress(WaitTimeoutError):
            wait_until_applied(engine, target, list(svc.read_side.runner.projections), timeout=5.0)
    return engine


def parse_as_at(at: str, axis: str, errors: FormErrors) -> AsAt | None:
    """The as-at point a GET form asked for, or None for now (refusals go into ``errors``)."""
    if not at.strip():
        return None
    try:
        day = date.fromisoformat(at.strip())
    except ValueError:
        errors.add("at", "Enter a real date, like 2024-03-31")
        return None
    if not EARLIEST <= day <= LATEST:
        errors.add("at", f"Enter a date between {EARLIEST.year} and {LATEST.year}")
        return None
    if axis not in {a.value for a in Axis}:
        errors.add("axis", "Choose as it was in effect or as recorded")
        return None
    return AsAt(axis=Axis(axis), moment=day)
