"""Shared steps of every command endpoint: authorise against the current state, reply."""

from __future__ import annotations

from uuid import UUID

from fastapi import Response

from application.access import require_write_project
from application.identity.service import User
from application.results import CommandResult
from application.tracker import ImpactTracker
from domain import commands as c
from interfaces.http.schemas import CommandOut


def authorise(tracker: ImpactTracker, user: User, project_id: UUID, command: c.Command) -> None:
    """Refuse (404, 403) unless the user may send this command to the project now."""
    require_write_project(user, tracker.project_parties(project_id), command)


def reply(response: Response, result: CommandResult) -> CommandOut:
    """The command's result, its version as the ETag, and whether it was a replay."""
    response.headers["ETag"] = f'"{result.version}"'
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return CommandOut.of(result)
