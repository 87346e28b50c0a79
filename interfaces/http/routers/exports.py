"""Downloads for evaluators: the exports of ``impact export``, streamed (never held whole).

One route per file, so the OpenAPI document lists the filters each one takes: a project scope
(cohort, system, organisation) for every project-shaped export, an effective-date range where
rows have effective dates, and an as-at point (``axis`` and ``at``) where the past differs.
Each table is offered as ``.csv`` and as ``.parquet`` (typed columns; needs pyarrow).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from application.access import AccessDeniedError
from application.identity.service import User
from application.pseudonyms import load_pseudonymiser
from domain.values import Role
from interfaces.http.deps import AppServices, AsAtParam, CurrentUser, Views
from read_models.queries import exports
from read_models.queries.parquet import ParquetUnavailableError, parquet_chunks

router = APIRouter(prefix="/api/exports", tags=["exports"])


def exporter(user: CurrentUser) -> User:
    """The signed-in user, if they may download exports: evaluators and admins."""
    if user.role not in {Role.EVALUATOR, Role.ADMIN}:
        msg = "Exports are for evaluators and admins."
        raise AccessDeniedError(msg)
    return user


# First among each route's parameters, so a refusal comes before any look-up of the filters.
Exporter = Annotated[User, Depends(exporter)]


def project_scope(
    engine: Views,
    cohort_id: Annotated[UUID | None, Query(description="Only this cohort's projects.")] = None,
    system_id: Annotated[
        UUID | None,
        Query(description="Only the projects of cohorts in this integrated care system."),
    ] = None,
    organisation_id: Annotated[
        UUID | None,
        Query(
            description="Only the projects this organisation leads, partners in, pilots or "
            "adopted (as at a point: involvements begun by then)."
        ),
    ] = None,
) -> exports.ProjectScope:
    """The projects to export; an id that names nothing is a 422 naming its field."""
    scope = exports.ProjectScope(
        cohort_id=cohort_id, system_id=system_id, organisation_id=organisation_id
    )
    exports.check_scope(engine, scope)
    return scope


Scope = Annotated[exports.ProjectScope, Depends(project_scope)]


def effective_range(
    since: Annotated[
        date | None, Query(description="Only rows effective on or after this date.")
    ] = None,
    until: Annotated[
        date | None, Query(description="Only rows effective on or before this date.")
    ] = None,
) -> tuple[date | None, date | None]:
    """The effective dates to keep (inclusive); ``until`` before ``since`` is a 422."""
    exports.check_dates(since, until)
    return since, until


EffectiveRange = Annotated[tuple[date | None, date | None], Depends(effective_range)]

STREAMED_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The export as CSV, streamed."}
}
PARQUET = "application/vnd.apache.parquet"
STREAMED_PARQUET: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {PARQUET: {}},
        "description": "The export as Parquet: the CSV's columns, with dates, times, numbers "
        "and flags typed (an empty typed cell is null), streamed.",
    },
    501: {"description": "This server has no pyarrow (the optional 'parquet' extra)."},
}


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


def _table(
    request: Request, rows: Iterator[dict[str, Any]], columns: list[str], stem: str
) -> StreamingResponse:
    """The rows as the file the path names: ``.parquet`` (typed columns) or ``.csv``.

    The two paths share one handler, so their filters can never drift apart.
    """
    if request.url.path.endswith(".parquet"):
        try:
            body = parquet_chunks(rows, columns)
        except ParquetUnavailableError as e:
            raise HTTPException(status_code=501, detail=str(e)) from None
        return _download(body, f"{stem}.parquet", PARQUET)
    return _download(_csv(rows, columns), f"{stem}.csv", "text/csv")


def _download(
    body: Iterator[str] | Iterator[bytes], name: str, media_type: str
) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/events.jsonl",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One event per line, streamed.",
        }
    },
)
def events(
    user: Exporter,
    svc: AppServices,
    engine: Views,
    scope: Scope,
    dates: EffectiveRange,
    as_at: AsAtParam,
) -> StreamingResponse:
    """Every event with both time axes and the actor's role, as JSON lines.

    People appear as stable pseudonyms, except for admins. A scope keeps only its projects'
    streams; as at a point, the events recorded by then (recorded axis) or effective on or
    before its day (effective axis).
    """
    pseudonym = None if user.role is Role.ADMIN else load_pseudonymiser(svc.settings, svc.identity)
    since, until = dates
    rows = exports.events_jsonl(
        svc.tracker,
        pseudonym,
        projects=exports.scoped_projects(engine, scope, as_at),
        since=since,
        until=until,
        as_at=as_at,
    )
    body = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return _download(body, "events.jsonl", "application/x-ndjson")


@router.get("/stage_transitions.csv", response_class=StreamingResponse, responses=STREAMED_CSV)
@router.get(
    "/stage_transitions.parquet", response_class=StreamingResponse, responses=STREAMED_PARQUET
)
def transitions(
    _: Exporter,
    request: Request,
    engine: Views,
    scope: Scope,
    dates: EffectiveRange,
    as_at: AsAtParam,
) -> StreamingResponse:
    """Each stage each project entered: from, to, effective date, recorded time.

    As at a point: the transitions recorded (or effective) by then.
    """
    since, until = dates
    rows = exports.stage_transitions(engine, scope=scope, since=since, until=until, as_at=as_at)
    return _table(request, rows, exports.STAGE_COLUMNS, "stage_transitions")


@router.get("/projects.csv", response_class=StreamingResponse, responses=STREAMED_CSV)
@router.get("/projects.parquet", response_class=StreamingResponse, responses=STREAMED_PARQUET)
def projects(
    _: Exporter, request: Request, engine: Views, scope: Scope, as_at: AsAtParam
) -> StreamingResponse:
    """One row per project: stage, status, dates, cohort, system, lead organisation.

    As at a point: only the projects that existed then, each with its stage, status and dates
    as they stood then.
    """
    rows = exports.projects_table(engine, scope=scope, as_at=as_at)
    return _table(request, rows, exports.PROJECT_COLUMNS, "projects")


@router.get("/organisations.csv", response_class=StreamingResponse, responses=STREAMED_CSV)
@router.get("/organisations.parquet", response_class=StreamingResponse, responses=STREAMED_PARQUET)
def organisations(
    _: Exporter,
    request: Request,
    engine: Views,
    system_id: Annotated[
        UUID | None, Query(description="Only the organisations of this integrated care system.")
    ] = None,
) -> StreamingResponse:
    """One row per organisation (name, sector, system, ODS code)."""
    exports.check_scope(engine, exports.ProjectScope(system_id=system_id))
    rows = exports.organisations_table(engine, system_id=system_id)
    return _table(request, rows, exports.ORGANISATION_COLUMNS, "organisations")


@router.get("/measures_long.csv", response_class=StreamingResponse, responses=STREAMED_CSV)
@router.get("/measures_long.parquet", response_class=StreamingResponse, responses=STREAMED_PARQUET)
def measures(
    _: Exporter,
    request: Request,
    engine: Views,
    scope: Scope,
    dates: EffectiveRange,
    as_at: AsAtParam,
) -> StreamingResponse:
    """Every measure's points in Making Data Count's long format.

    ``since``/``until`` keep periods in a range; as at a point, the measures defined by then,
    each series as it stood then.
    """
    since, until = dates
    rows = exports.measures_long(engine, scope=scope, since=since, until=until, as_at=as_at)
    return _table(request, rows, exports.MDC_COLUMNS, "measures_long")
