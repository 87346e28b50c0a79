"""Build the application from settings: the one place where infrastructure is wired."""

from __future__ import annotations

from application.settings import Settings
from application.tracker import ImpactTracker


def create_tracker(settings: Settings) -> ImpactTracker:
    """An ImpactTracker on the event store the settings choose (creating SQLite's directory)."""
    if settings.engine == "sqlite":
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return ImpactTracker(env=settings.event_store_env())
