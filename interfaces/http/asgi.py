"""The ASGI app as a serving process runs it (``impact serve``, one process or several).

Each worker calls ``from_environment`` (uvicorn's ``factory=True``): settings are read from the
environment in the worker, never at import time.
"""

from __future__ import annotations

import gc

from starlette.types import ASGIApp

from application.settings import Settings
from interfaces.http.app import create_app


def serving_app(settings: Settings) -> ASGIApp:
    """The app, with every object built so far moved out of the garbage collector's sight.

    Start-up leaves about 100,000 long-lived objects (modules, routes, schemas); a full
    collection walked them all, about 80 ms on these machines, and stalled whichever requests
    were in flight: it was the API's p99. Frozen, they are never scanned again (``gc.freeze``).
    """
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    return app


def from_environment() -> ASGIApp:
    """The app for the settings in this process's environment."""
    return serving_app(Settings())
