"""Typed dependencies: the services, the signed-in user, concurrency headers, paging, as-at.

Dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, and
each hop between the event loop and a thread costs more than the short lookups themselves
(a thread waiting for the GIL back from the loop; measured on the timeline read). The user's
token or session is one indexed row, read on the loop; waiting for the views (``wait=true``)
sleeps, so it runs in a worker thread.
"""

from __future__ import annotations

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


async def current_user(
    request: Request,
    svc: AppServices,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> User:
    """The user of a bearer token, or of the session cookie; 401 otherwise."""
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


async def views(
    svc: AppServices,
    wait: Annotated[
        bool,
        Query(
            description="Wait until the views include every event "
            "recorded before this request (read-your-writes)."
        ),
    ] = False,
) -> Engine:
    """The read models' engine; with ``wait=true``, only once they have caught up."""
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


async def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageParams:
    """Which page of a list."""
    return PageParams(page=page, per_page=per_page)


Paging = Annotated[PageParams, Depends(page_params)]


async def as_at(
    axis: Annotated[
        Axis | None,
        Query(description="recorded: as we knew it then; effective: as it was in effect then"),
    ] = None,
    at: Annotated[
        str | None,
        Query(
            max_length=40,
            description="A date (2025-03-31) or, for the recorded "
            "axis, a moment with time zone (2025-03-31T17:00:00Z); "
            "a date on the recorded axis means its end.",
            examples=["2025-03-31"],
        ),
    ] = None,
) -> AsAt | None:
    """An as-at point, when both ``axis`` and ``at`` are given."""
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
