"""Chart settings of a project's measures beyond ghosting and recalculation points.

An astronomical point (a run chart's signal the analyst judges) and a measure's baseline are
events like the other chart settings, so every chart, export and replay shows them as they
stood.  Same access rules and error shapes as ghosting: the project's fellows change them, and
a refusal names its rule and field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from domain import commands as c
from interfaces.http.commands import authorise, reply
from interfaces.http.deps import CurrentUser, ExpectedVersion, IdempotencyKey, Tracker
from interfaces.http.schemas import AstronomicalIn, BaselineIn, CommandOut

router = APIRouter(prefix="/api/projects", tags=["projects"])

ChangedOn = Annotated[date, Query(description="The date of the change.")]


@router.post("/{project_id}/measurements/{measurement_id}/astronomical")
def flag_astronomical(
    project_id: UUID,
    measurement_id: UUID,
    body: AstronomicalIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Flag the value as astronomical (a signal on its run chart), with a reason."""
    command = c.FlagAstronomical(measurement_id=measurement_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.flag_astronomical(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.delete("/{project_id}/measurements/{measurement_id}/astronomical")
def unflag_astronomical(
    project_id: UUID,
    measurement_id: UUID,
    occurred_on: ChangedOn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Take the astronomical flag off the value."""
    command = c.UnflagAstronomical(measurement_id=measurement_id, occurred_on=occurred_on)
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.unflag_astronomical(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.put("/{project_id}/measures/{measure_id}/baseline")
def set_baseline(
    project_id: UUID,
    measure_id: UUID,
    body: BaselineIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Fix the measure's limits on the first ``points`` values of each phase, then extend them."""
    command = c.SetBaseline(measure_id=measure_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.set_baseline(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.delete("/{project_id}/measures/{measure_id}/baseline")
def clear_baseline(
    project_id: UUID,
    measure_id: UUID,
    occurred_on: ChangedOn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Calculate the measure's limits from all of each phase's values again."""
    command = c.ClearBaseline(measure_id=measure_id, occurred_on=occurred_on)
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.clear_baseline(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )
