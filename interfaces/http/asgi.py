"""The ASGI entry point for several worker processes (``impact serve --workers N``).

Each worker calls ``from_environment`` (uvicorn's ``factory=True``): settings are read from the
environment in the worker, never at import time.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from application.settings import Settings
from interfaces.http.app import create_app


def from_environment() -> ASGIApp:
    """The app for the settings in this process's environment."""
    return create_app(Settings())
