"""Adding the web pages to the FastAPI app: assets and the page routers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from application.settings import Settings
from interfaces.web.assets import mount_assets
from interfaces.web.routers import (
    account,
    audit,
    charts,
    evaluation,
    live,
    organisations,
    projects,
)


def install_web(app: FastAPI, settings: Settings) -> None:
    """Mount the front-end assets and the pages (specific project routes before general ones)."""
    mount_assets(app, settings.node_modules)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        return RedirectResponse("/assets/images/favicon.ico", status_code=301)

    for router in (
        account.router,
        audit.router,
        charts.router,
        live.router,
        evaluation.router,
        organisations.router,
        projects.router,
    ):
        app.include_router(router)
