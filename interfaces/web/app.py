"""Adding the web pages to the FastAPI app: assets and the page routers."""

from __future__ import annotations

from fastapi import FastAPI

from application.settings import Settings
from interfaces.web.assets import mount_assets
from interfaces.web.routers import account, live, projects


def install_web(app: FastAPI, settings: Settings) -> None:
    """Mount the front-end assets and the pages (more specific routes before general ones)."""
    mount_assets(app, settings.node_modules)
    for router in (account.router, live.router, projects.router):
        app.include_router(router)
