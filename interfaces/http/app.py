"""The web application factory: wiring only, no work at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, create_identity_engine
from application.settings import Settings
from application.tracker import ImpactTracker
from interfaces.http.errors import install_error_handlers
from interfaces.http.ratelimit import LoginLimiter
from interfaces.http.routers import (
    charts,
    evaluation,
    exports,
    operations,
    programme,
    projects,
)
from interfaces.http.routers import identity as identity_routes
from interfaces.http.schemas import ERROR_RESPONSES
from interfaces.http.sealed_text import OpenedJSONResponse, OpenSealedText
from interfaces.http.security import SecurityHeaders, protect_from_csrf
from interfaces.http.services import Services
from interfaces.web.app import install_web
from read_models.bootstrap import create_read_side

DESCRIPTION = """
The impact tracker's JSON API. Authenticate with `Authorization: Bearer <token>` (tokens come
from `impact tokens create USER`) or with the session cookie from `POST /api/session` — cookie
sessions must echo the `csrftoken` cookie in an `X-CSRFToken` header on every change.

Commands answer with the aggregate's new `version` (also the `ETag`) and the `notification_id` of
their last event. Send `If-Match: "<version>"` to refuse a change if someone else got there first
(412), and an `Idempotency-Key` to retry safely. Queries over the views take `wait=true` to
include everything recorded before the request. Errors are `{"error": code, "detail": sentence}`.
"""

# The documentation's sections, in reading order (the routes are in order of traffic, below).
OPENAPI_TAGS = [
    {"name": "operations", "description": "Liveness and readiness, for probes and operators."},
    {"name": "integrity", "description": "Signed checkpoints of the log, and their checks."},
    {"name": "identity", "description": "Sign-in sessions, the signed-in user, accounts."},
    {"name": "programme", "description": "Systems, organisations, cohorts and fellows."},
    {"name": "projects", "description": "Projects: their commands, history and timeline."},
    {"name": "evaluation", "description": "The portfolio and impact over time, as at any date."},
    {"name": "exports", "description": "Exports for analysis (CSV, Parquet)."},
]


def create_api(
    settings: Settings,
    tracker: ImpactTracker | None = None,
    identity: IdentityService | None = None,
) -> FastAPI:
    """The FastAPI app; the tracker and identity are built at start-up unless given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = tracker is None
        the_tracker = tracker or create_tracker(settings)
        read_side = create_read_side(settings, the_tracker)
        the_identity = identity or IdentityService(
            create_identity_engine(settings), create_schema=settings.create_schema
        )
        app.state.services = Services(settings, the_tracker, read_side, the_identity)
        app.state.login_limiter = LoginLimiter(settings.login_attempts_per_minute)
        if settings.run_projections_in_process:
            read_side.start_following()
        try:
            yield
        finally:
            read_side.close()
            if identity is None:
                the_identity.close()
            if owned:
                the_tracker.close()

    app = FastAPI(
        title="Impact tracker",
        version="0.1.0",
        description=DESCRIPTION,
        summary="Event-sourced tracker of system change projects and their impact.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        default_response_class=OpenedJSONResponse,
        openapi_tags=OPENAPI_TAGS,
    )
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)

    def text_opener() -> Callable[[str], str] | None:
        services: Services | None = getattr(app.state, "services", None)
        return services.tracker.open_text if services is not None else None

    app.add_middleware(OpenSealedText, opener=text_opener)
    # FastAPI matches a request against the routes in order, at a cost per route passed; the
    # probes come first, then the project routes that carry most of the traffic (a timeline
    # read passed 20 identity and programme routes first: a tenth of its time).
    for router in (
        operations.router,
        projects.router,
        charts.router,
        identity_routes.router,
        programme.router,
        evaluation.router,
        exports.router,
    ):
        app.include_router(router)
    install_web(app, settings)
    return app


def create_app(
    settings: Settings,
    tracker: ImpactTracker | None = None,
    identity: IdentityService | None = None,
) -> ASGIApp:
    """The API behind CSRF protection: what ``impact serve`` runs."""
    return protect_from_csrf(create_api(settings, tracker, identity), settings)
