"""The FastAPI application factory: wiring only, no work at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, Query, Request

from application.bootstrap import create_tracker
from application.results import HistoryEntry, ProjectView
from application.settings import Settings
from application.tracker import ImpactTracker
from interfaces.http.errors import install_error_handlers
from read_models.bootstrap import create_read_side


def get_tracker(request: Request) -> ImpactTracker:
    """The application built at start-up."""
    tracker: ImpactTracker = request.app.state.tracker
    return tracker


Tracker = Annotated[ImpactTracker, Depends(get_tracker)]


def create_app(settings: Settings, tracker: ImpactTracker | None = None) -> FastAPI:
    """Build the web application; the tracker is created at start-up unless one is given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = tracker is None
        app.state.tracker = tracker or create_tracker(settings)
        app.state.read_side = create_read_side(settings, app.state.tracker)
        if settings.run_projections_in_process:
            app.state.read_side.start_following()
        try:
            yield
        finally:
            app.state.read_side.close()
            if owned:
                app.state.tracker.close()

    app = FastAPI(
        title="Impact tracker",
        summary="Event-sourced tracker of system change projects and their impact.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.get("/api/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Liveness: the process is up and answering."""
        return {"status": "ok"}

    @app.get("/api/projects/{project_id}", tags=["projects"])
    def get_project(
        project_id: UUID,
        tracker: Tracker,
        version: Annotated[int | None, Query(ge=1)] = None,
        as_at: Annotated[
            datetime | None, Query(description="Recorded-time moment, with zone")
        ] = None,
    ) -> ProjectView:
        """A project now, at a version, or as recorded at a moment."""
        return tracker.project(project_id, version=version, as_at=as_at)

    @app.get("/api/projects/{project_id}/history", tags=["projects"])
    def get_history(project_id: UUID, tracker: Tracker) -> list[HistoryEntry]:
        """Every event of the project, in order."""
        return tracker.history(project_id)

    return app
