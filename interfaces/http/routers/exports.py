"""Downloads for evaluators: the exports of ``impact export``, streamed (never held whole)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from application.access import AccessDeniedError
from application.pseudonyms import load_pseudonymiser
from domain.values import Role
from interfaces.http.deps import AppServices, CurrentUser
from read_models.queries import exports

router = APIRouter(prefix="/api/exports", tags=["exports"])


class ExportName(StrEnum):
    """The files evaluators can download."""

    EVENTS = "events.jsonl"
    STAGE_TRANSITIONS = "stage_transitions.csv"
    PROJECTS = "projects.csv"
    ORGANISATIONS = "organisations.csv"
    MEASURES = "measures_long.csv"


def _csv(rows: Iterator[dict[str, Any]], columns: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/{name}",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/x-ndjson": {}},
            "description": "The export, streamed.",
        }
    },
)
def download(
    name: ExportName, user: CurrentUser, svc: AppServices, cohort_id: UUID | None = None
) -> StreamingResponse:
    """An export (evaluators and admins; people appear as pseudonyms except for admins)."""
    if user.role not in {Role.EVALUATOR, Role.ADMIN}:
        msg = "Exports are for evaluators and admins."
        raise AccessDeniedError(msg)
    engine = svc.read_side.engine
    body: Iterator[str]
    if name is ExportName.EVENTS:
        pseudonym = None if user.role is Role.ADMIN else load_pseudonymiser(svc.settings)
        members = None
        if cohort_id:
            members = {
                UUID(r["project_id"]) for r in exports.projects_table(engine, cohort_id=cohort_id)
            }
        body = (
            json.dumps(row, ensure_ascii=False) + "\n"
            for row in exports.events_jsonl(svc.tracker, pseudonym, cohort_projects=members)
        )
        media = "application/x-ndjson"
    else:
        media = "text/csv"
        if name is ExportName.STAGE_TRANSITIONS:
            body = _csv(
                exports.stage_transitions(engine, cohort_id=cohort_id), exports.STAGE_COLUMNS
            )
        elif name is ExportName.PROJECTS:
            body = _csv(
                exports.projects_table(engine, cohort_id=cohort_id), exports.PROJECT_COLUMNS
            )
        elif name is ExportName.ORGANISATIONS:
            body = _csv(exports.organisations_table(engine), exports.ORGANISATION_COLUMNS)
        else:
            body = _csv(exports.measures_long(engine), exports.MDC_COLUMNS)
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
