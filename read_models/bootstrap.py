"""Build the read side from settings: the views' engine and a runner over every view."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from application.integrity.signing import load_signer
from application.settings import Settings
from application.tracker import ImpactTracker
from read_models.database import create_views_engine
from read_models.integrity.checkpoints import PeriodicCheckpoints
from read_models.runner import ProjectionRunner
from read_models.views import all_projections

log = logging.getLogger(__name__)


class UnknownViewError(ValueError):
    """A view name that isn't one of ``read_models.views.VIEW_NAMES``."""


@dataclass
class ReadSide:
    """The views' engine, their runner, and (when started) the thread that follows the log."""

    engine: Engine
    runner: ProjectionRunner
    poll_seconds: float
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_following(self) -> None:
        """Keep every view current in a background thread (the embedded deployment)."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.runner.follow,
            args=(self._stop, self.poll_seconds),
            name="projections",
            daemon=True,
        )
        self._thread.start()
        log.info("projections following the log every %.2fs", self.poll_seconds)

    def stop_following(self) -> None:
        """Stop the background thread after its current page."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def close(self) -> None:
        """Stop following and release connections."""
        self.stop_following()
        self.engine.dispose()


def create_read_side(settings: Settings, tracker: ImpactTracker) -> ReadSide:
    """The read side for the settings, its tables created unless ``create_schema`` is off.

    With it off, ``impact db upgrade`` has created them, once, before the processes started.
    """
    engine = create_views_engine(settings)
    runner = ProjectionRunner(
        tracker, engine, all_projections(), page_size=settings.projection_page_size
    )
    if settings.create_schema:
        runner.set_up()
    if settings.checkpoint_every_seconds:
        periodic = PeriodicCheckpoints(
            engine, lambda: load_signer(settings), settings.checkpoint_every_seconds
        )
        runner.ticks.append(periodic.tick)
    return ReadSide(engine, runner, settings.projection_poll_seconds)


def check_views(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """The names, refusing any that is not a view."""
    chosen, valid = list(names), set(known)
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        msg = f"unknown view {', '.join(unknown)}; the views are {', '.join(sorted(valid))}"
        raise UnknownViewError(msg)
    return chosen
