"""Projects: list, propose, read (now, at a version, as at a date), history, and commands."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from application.access import require_can_propose
from application.errors import NotFoundError
from application.results import HistoryEntry, ProjectView
from domain import commands as c
from domain.values import Role, Stage
from interfaces.http.commands import authorise, reply
from interfaces.http.deps import (
    CurrentUser,
    ExpectedVersion,
    IdempotencyKey,
    PagedViewReading,
    Paging,
    Tracker,
    Views,
)
from interfaces.http.reading import authorise_read, require_reader
from interfaces.http.schemas import (
    CommandOut,
    CorrectionIn,
    DatedIn,
    DepartureIn,
    GhostIn,
    RecalculationIn,
    RetractionIn,
)
from interfaces.http.sealed_text import open_json_bytes
from read_models.integrity.proofs import ProjectProof, project_proof
from read_models.queries.common import Page
from read_models.queries.measures import MeasureInfo, project_measures
from read_models.queries.organisations import AdoptionSpread, adoption_spread
from read_models.queries.timeline import (
    ProjectSummary,
    ProjectTimeline,
    list_projects,
)
from read_models.queries.timeline_json import project_timeline_json

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.get("")
def list_all(
    user: CurrentUser,
    engine: Views,
    paging: Paging,
    search: Annotated[str | None, Query(max_length=200)] = None,
    cohort_id: UUID | None = None,
    stage: Stage | None = None,
    organisation_id: UUID | None = None,
    mine: Annotated[bool, Query(description="Only projects I work on or sponsor.")] = False,
) -> Page[ProjectSummary]:
    """Projects matching the filters, newest proposals first (sponsors see theirs only).

    ``organisation_id`` matches projects the organisation leads, partners in, pilots or adopted.
    """
    visible = None
    if user.role is Role.SPONSOR:
        visible = (user.user_id, user.organisation_ids)
    return list_projects(
        engine,
        paging,
        search=search,
        cohort_id=cohort_id,
        stage=stage,
        organisation_id=organisation_id,
        visible_to=visible,
        fellow_id=user.fellow_id if mine and user.role is Role.FELLOW else None,
        sponsor_id=user.user_id if mine and user.role is Role.SPONSOR else None,
    )


@router.post("", status_code=201)
def propose(
    body: c.ProposeProject,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    key: IdempotencyKey,
) -> CommandOut:
    """Propose a project (fellows, as its lead or on its team)."""
    require_can_propose(user, body)
    result = tracker.propose_project(user.actor, body, idempotency_key=key)
    response.headers["Location"] = f"/api/projects/{result.aggregate_id}"
    return reply(response, result)


@router.get("/{project_id}")
def read(
    project_id: UUID,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    as_at: Annotated[
        datetime | None, Query(description="A recorded moment, with time zone.")
    ] = None,
) -> ProjectView:
    """A project now, at a version, or as it had been recorded by a moment."""
    project = tracker.project(project_id, version=version, as_at=as_at)
    require_reader(user, tracker.project(project_id) if version or as_at else project)
    response.headers["ETag"] = f'"{project.version}"'
    return project


@router.get("/{project_id}/history")
def history(project_id: UUID, user: CurrentUser, tracker: Tracker) -> list[HistoryEntry]:
    """Every event of the project, in order: who recorded what, about which date, and when."""
    require_reader(user, tracker.project(project_id))
    return tracker.history(project_id)


@router.get("/{project_id}/timeline", response_model=ProjectTimeline)
async def timeline(project_id: UUID, user: CurrentUser, read: PagedViewReading) -> Response:
    """The project's timeline (a page of events, in order) and stage, now or as at a date.

    Runs on the event loop: a bounded page of indexed rows costs less than the hop to a worker
    thread (see ``interfaces.http.deps``). The JSON is composed from the view's rows.
    """
    authorise_read(user, project_id, read.tracker, read.engine)
    found = project_timeline_json(read.engine, project_id, read.as_at, read.paging)
    if found is None:
        msg = "The project had no events by that date (or the views have not seen it yet)."
        raise NotFoundError(msg)
    return Response(open_json_bytes(found), media_type="application/json")


@router.get("/{project_id}/measures")
def measures(
    project_id: UUID, user: CurrentUser, tracker: Tracker, engine: Views
) -> list[MeasureInfo]:
    """The project's measures."""
    authorise_read(user, project_id, tracker, engine)
    return project_measures(engine, project_id)


@router.get("/{project_id}/adoption-spread")
def spread(project_id: UUID, user: CurrentUser, tracker: Tracker, engine: Views) -> AdoptionSpread:
    """The organisations that adopted the project, in order, and the sectors it reached."""
    authorise_read(user, project_id, tracker, engine)
    found = adoption_spread(engine, project_id)
    if found is None:
        msg = "The views have not seen this project yet; retry with wait=true."
        raise NotFoundError(msg)
    return found


# -- commands ----------------------------------------------------------------------------


@router.post("/{project_id}/pilots")
def start_pilot(
    project_id: UUID,
    body: c.StartPilot,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Start a pilot."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.start_pilot(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measures", status_code=201)
def define_measure(
    project_id: UUID,
    body: c.DefineMeasure,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Define a measure; ``entity_id`` is the new measure's id."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.define_measure(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measurements", status_code=201)
def record_measurement(
    project_id: UUID,
    body: c.RecordMeasurement,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Record a measurement; ``entity_id`` is the new measurement's id."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.record_measurement(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measurements/{measurement_id}/corrections")
def correct_measurement(
    project_id: UUID,
    measurement_id: UUID,
    body: CorrectionIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Correct a measurement (the original stays in the history)."""
    command = c.CorrectMeasurement(measurement_id=measurement_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.correct_measurement(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measurements/{measurement_id}/retractions")
def retract_measurement(
    project_id: UUID,
    measurement_id: UUID,
    body: RetractionIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Retract a measurement, with a reason."""
    command = c.RetractMeasurement(measurement_id=measurement_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.retract_measurement(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/adoptions")
def record_adoption(
    project_id: UUID,
    body: c.RecordAdoption,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Record adoption by an organisation."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.record_adoption(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/milestones")
def log_milestone(
    project_id: UUID,
    body: c.LogMilestone,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Log a milestone (sponsors: sign-offs on projects they sponsor)."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.log_milestone(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/organisations")
def join_organisation(
    project_id: UUID,
    body: c.JoinOrganisation,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Add a partner organisation."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.join_organisation(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/organisations/{organisation_id}/departures")
def leave_organisation(
    project_id: UUID,
    organisation_id: UUID,
    body: DepartureIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Record a partner organisation leaving."""
    command = c.LeaveOrganisation(organisation_id=organisation_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.leave_organisation(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.put("/{project_id}/sponsor")
def assign_sponsor(
    project_id: UUID,
    body: c.AssignSponsor,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Assign the sponsor."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.assign_sponsor(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/pause")
def pause(
    project_id: UUID,
    body: c.PauseProject,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Pause the project."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.pause_project(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/resume")
def resume(
    project_id: UUID,
    body: c.ResumeProject,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Resume the project."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.resume_project(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/close")
def close(
    project_id: UUID,
    body: c.CloseProject,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Close the project."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.close_project(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measurements/{measurement_id}/ghost")
def ghost_measurement(
    project_id: UUID,
    measurement_id: UUID,
    body: GhostIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Show the value on its chart but leave it out of the calculations, with a reason."""
    command = c.GhostMeasurement(measurement_id=measurement_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.ghost_measurement(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measurements/{measurement_id}/restore")
def restore_measurement(
    project_id: UUID,
    measurement_id: UUID,
    body: DatedIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Bring a ghosted value back into the chart's calculations."""
    command = c.RestoreMeasurement(measurement_id=measurement_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.restore_measurement(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measures/{measure_id}/recalculations")
def mark_recalculation(
    project_id: UUID,
    measure_id: UUID,
    body: RecalculationIn,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Recalculate the measure's limits from a period (a new phase on its chart)."""
    command = c.MarkRecalculation(measure_id=measure_id, **body.model_dump())
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.mark_recalculation(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.delete("/{project_id}/measures/{measure_id}/recalculations/{from_period}")
def remove_recalculation(
    project_id: UUID,
    measure_id: UUID,
    from_period: date,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
    occurred_on: Annotated[date, Query(description="The date of the change.")],
) -> CommandOut:
    """Remove a recalculation point."""
    command = c.RemoveRecalculation(
        measure_id=measure_id, from_period=from_period, occurred_on=occurred_on
    )
    authorise(tracker, user, project_id, command)
    return reply(
        response,
        tracker.remove_recalculation(
            user.actor, project_id, command, expected_version=version, idempotency_key=key
        ),
    )


@router.post("/{project_id}/measurements/pasted", status_code=201)
def paste_measurements(
    project_id: UUID,
    body: c.PasteMeasurements,
    user: CurrentUser,
    tracker: Tracker,
    response: Response,
    version: ExpectedVersion,
    key: IdempotencyKey,
) -> CommandOut:
    """Record a column of values pasted from a spreadsheet: all or none; errors name the row."""
    authorise(tracker, user, project_id, body)
    return reply(
        response,
        tracker.paste_measurements(
            user.actor, project_id, body, expected_version=version, idempotency_key=key
        ),
    )


@router.get("/{project_id}/proof", tags=["integrity"])
def proof(
    project_id: UUID,
    user: CurrentUser,
    tracker: Tracker,
    size: Annotated[int, Query(ge=1, le=2**62, description="The checkpoint's size.")],
) -> ProjectProof:
    """Inclusion proofs of the project's events in the log's first ``size`` events."""
    require_reader(user, tracker.project(project_id))
    return project_proof(tracker, project_id, size)
