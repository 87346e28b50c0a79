"""A writer that runs in a thread or in another process, competing to log milestones."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from application.bootstrap import create_tracker
from application.errors import ConflictError
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import Actor, Role

WRITER = Actor(user_id="writer", role=Role.FELLOW)
Acks = tuple[list[tuple[str, int]], int]


def log_milestones_with(
    tracker: ImpactTracker, project_id: UUID, writer: str, count: int, *, optimistic: bool
) -> Acks:
    """Log ``count`` milestones, retrying conflicts; return (title, version) acks and conflicts.

    With ``optimistic`` the writer sends the version it just read, as a web form would, so
    concurrent writers refuse one another; without it, writes race on the next version.
    """
    acknowledged: list[tuple[str, int]] = []
    conflicts = 0
    for n in range(count):
        title = f"{writer}-{n}"
        while True:
            seen = tracker.project(project_id).version if optimistic else None
            try:
                result = tracker.log_milestone(
                    WRITER,
                    project_id,
                    c.LogMilestone(occurred_on=date(2024, 6, 1), title=title),
                    expected_version=seen,
                )
            except ConflictError:
                conflicts += 1
                continue
            acknowledged.append((title, result.version))
            break
    return acknowledged, conflicts


def log_milestones(
    settings: dict[str, Any], project_id: str, writer: str, count: int, *, optimistic: bool
) -> Acks:
    """The same, with a tracker of its own (for threads and other processes)."""
    tracker = create_tracker(Settings(**settings))
    try:
        return log_milestones_with(tracker, UUID(project_id), writer, count, optimistic=optimistic)
    finally:
        tracker.close()
