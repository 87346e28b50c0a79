"""Typed dependencies: the services, the signed-in user, concurrency headers, paging, as-at.

Dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, and
each hop between the event loop and a thread costs more than the short lookups themselves
(a thread waiting for the GIL back from the loop; measured on the timeline read). The user's
token or session is one indexed row, read on the loop; waiting for the views (``wait=true``)
sleeps, so it runs in a worker thread. ``PagedViewReading`` is the views, the as-at point and
the page as one dependency, with their parameters, for the reads where FastAPI's solving of
each dependency costs as much as the read itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from application.errors import ApplicationError, InvalidRequestError
from application.identity.service import User
from application.tracker import ImpactTracker
from interfaces.http.services import Services
from read_models.queries.common import AsAt, Axis, PageParams
from read_models.runner import WaitTimeoutError, wait_until_applied

SESSION_COOKIE = "impact_session"


class UnauthenticatedError(ApplicationError):
    """No valid token or session: sign in first."""

    code = "unauthenticated"


class ViewsBehindError(ApplicationError):
    """The views did not catch up in time for a ``wait=true`` query."""

    code = "views_behind"


async def services(request: Request) -> Services:
    """The services built at start-up."""
    found: Services = request.app.state.services
    return found


AppServices = Annotated[Services, Depends(services)]


async def tracker(svc: AppServices) -> ImpactTracker:
    """The event-sourced application."""
    return svc.tracker


Tracker = Annotated[ImpactTracker, Depends(tracker)]


async def current_user(request: Request) -> User:
    """The user of a bearer token, or of the session cookie; 401 otherwise.

    Every API request resolves this one, so it reads the request itself: the services from
    the app's state, the ``Authorization`` header (never documented as a parameter) from the
    headers. As declared dependencies and parameters, FastAPI solved and validated them again
    on every request.
    """
    svc: Services = request.app.state.services
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        user = svc.identity.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            msg = "The bearer token is not valid (revoked, or never issued)."
            raise UnauthenticatedError(msg)
        return user
    session = request.cookies.get(SESSION_COOKIE)
    user = svc.identity.user_for_session(session) if session else None
    if user is None:
        msg = "Sign in, or send an API token as 'Authorization: Bearer <token>'."
        raise UnauthenticatedError(msg)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


WaitQuery = Annotated[
    bool,
    Query(
        description="Wait until the views include every event "
        "recorded before this request (read-your-writes)."
    ),
]


async def views(svc: AppServices, wait: WaitQuery = False) -> Engine:
    """The read models' engine; with ``wait=true``, only once they have caught up."""
    return await _caught_up(svc, wait=wait)


async def _caught_up(svc: Services, *, wait: bool) -> Engine:
    """The views' engine, after waiting for them to include every event so far if asked."""
    if wait:
        head = svc.tracker.head()
        try:
            await run_in_threadpool(
                wait_until_applied,
                svc.read_side.engine,
                head,
                list(svc.read_side.runner.projections),
                timeout=5.0,
            )
        except WaitTimeoutError:
            msg = "The views are still catching up with recent changes; try again shortly."
            raise ViewsBehindError(msg) from None
    return svc.read_side.engine


Views = Annotated[Engine, Depends(views)]


async def expected_version(
    if_match: Annotated[
        str | None, Header(description='The version you saw, as its ETag: "3".')
    ] = None,
) -> int | None:
    """The version from ``If-Match`` (``"3"``, ``W/"3"`` or ``3``); ``*`` means any."""
    if if_match is None or if_match.strip() == "*":
        return None
    first = if_match.split(",")[0].strip().removeprefix("W/").strip('"')
    if not first.isdigit() or len(first) > 18:
        msg = 'If-Match must be the ETag of the version you saw, for example "3".'
        raise InvalidRequestError(msg, field="If-Match")
    return int(first)


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Send again with the same key to retry "
            "safely: the first result is returned.",
        ),
    ] = None,
) -> str | None:
    """The client's idempotency key, if any."""
    return key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]


PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]
PerPageQuery = Annotated[int, Query(ge=1, le=500)]


async def page_params(page: PageQuery = 1, per_page: PerPageQuery = 50) -> PageParams:
    """Which page of a list."""
    return PageParams(page=page, per_page=per_page)


Paging = Annotated[PageParams, Depends(page_params)]


AxisQuery = Annotated[
    Axis | None,
    Query(description="recorded: as we knew it then; effective: as it was in effect then"),
]
AtQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="A date (2025-03-31) or, for the recorded "
        "axis, a moment with time zone (2025-03-31T17:00:00Z); "
        "a date on the recorded axis means its end.",
        examples=["2025-03-31"],
    ),
]


async def as_at(axis: AxisQuery = None, at: AtQuery = None) -> AsAt | None:
    """An as-at point, when both ``axis`` and ``at`` are given."""
    return _as_at(axis, at)


def _as_at(axis: Axis | None, at: str | None) -> AsAt | None:
    """The as-at point of the two query parameters; 422 when only one is given or bad."""
    if axis is None and at is None:
        return None
    if axis is None or at is None:
        msg = "Give both axis (recorded or effective) and at, or neither."
        raise InvalidRequestError(msg, field="axis" if axis is None else "at")
    try:
        moment: date | datetime = (
            date.fromisoformat(at) if len(at) == 10 else datetime.fromisoformat(at)
        )
    except ValueError:
        msg = "at must be a date like 2025-03-31 or a moment like 2025-03-31T17:00:00Z."
        raise InvalidRequestError(msg, field="at") from None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        msg = "A moment needs a time zone, for example 2025-03-31T17:00:00Z."
        raise InvalidRequestError(msg, field="at")
    return AsAt(axis=axis, moment=moment)


AsAtParam = Annotated[AsAt | None, Depends(as_at)]


@dataclass(frozen=True)
class PagedViewRead:
    """A paged read over the views, now or as at a point: what ``paged_view_read`` resolves."""

    tracker: ImpactTracker
    engine: Engine
    as_at: AsAt | None
    paging: PageParams


async def paged_view_read(
    request: Request,
    *,
    wait: WaitQuery = False,
    axis: AxisQuery = None,
    at: AtQuery = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = 50,
) -> PagedViewRead:
    """``Tracker``, ``Views``, ``AsAtParam`` and ``Paging`` as one dependency.

    FastAPI solves each dependency on every request, and its sub-dependencies again for each
    one that shares them; on the busiest read (a timeline page) the four of them, with the
    services under each, cost more than its queries. The parameters, and so the documented
    API, are theirs, in the same order; the views are waited for before the as-at point is
    read, as before.
    """
    svc: Services = request.app.state.services
    engine = await _caught_up(svc, wait=wait)
    return PagedViewRead(
        svc.tracker, engine, _as_at(axis, at), PageParams(page=page, per_page=per_page)
    )


PagedViewReading = Annotated[PagedViewRead, Depends(paged_view_read)]
