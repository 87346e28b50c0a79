"""A project's timeline as the API sends it: JSON composed from the view's rows.

The API's busiest read is a timeline page. Built as models, each entry's stored JSON is
decoded, validated and encoded again on every request; here the small parts (project, as-at)
go through their pydantic models and each entry is its stored head (its JSON up to its data,
which the view writes once: ``read_models.views.timeline.entry_head``) and its data as stored.
The result is the JSON of ``ProjectTimeline``, field for field (tests compare the two for every
event type and both as-at axes).

On SQLite, for the timeline now or as recorded by a moment, SQLite itself joins the entries
and writes the stage changes' JSON (``printf`` and ``json_quote``), in one plain statement on
the driver's cursor of a connection the thread keeps: reading the rows into Python objects,
through SQLAlchemy's result layer, cost more than the rest of the request. Its bytes are those
of the composition in Python (a test holds the two to it).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import Engine, Row

from application.persistence.held_connections import read_cursor
from domain.values import Stage
from read_models.queries.common import AsAt, Axis, PageParams
from read_models.queries.timeline import ProjectSummary, StageChange, timeline_rows
from read_models.views.timeline import entries, projects, stage_changes

_AS_AT = TypeAdapter(AsAt | None)
_CHANGES = TypeAdapter(list[StageChange])


def _entry(row: Row[Any]) -> str:
    """One entry's JSON: its stored head, then its data as stored or encoded.

    SQLite hands back the data's stored text; PostgreSQL's driver decodes it.
    """
    *_, data, head = tuple(row)
    stored = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}{stored}}}"


def _document(
    *,
    summary: bytes,
    as_at: AsAt | None,
    stage: Stage,
    items: str,
    total: int,
    params: PageParams,
    changes: bytes,
) -> bytes:
    """The timeline's JSON from its parts, already JSON (the entries without their brackets)."""
    return b"".join(
        (
            b'{"project":',
            summary,
            b',"as_at":',
            _AS_AT.dump_json(as_at),
            b',"stage":',
            json.dumps(stage.value).encode(),
            b',"entries":{"items":[',
            items.encode(),
            f'],"total":{total},"page":{params.page},'
            f'"per_page":{params.per_page}}},"stage_history":'.encode(),
            changes,
            b"}",
        )
    )


def project_timeline_json(
    engine: Engine,
    project_id: UUID,
    as_at: AsAt | None = None,
    params: PageParams | None = None,
) -> bytes | None:
    """The JSON of ``project_timeline(...)``; None if the project had no events by then."""
    params = params or PageParams(per_page=500)
    if engine.dialect.name == "sqlite" and (as_at is None or as_at.axis is Axis.RECORDED):
        return _written_by_sqlite(engine, project_id, as_at, params)
    return _composed_in_python(engine, project_id, as_at, params)


def _composed_in_python(
    engine: Engine, project_id: UUID, as_at: AsAt | None, params: PageParams
) -> bytes | None:
    """Any engine, either axis: the view's rows read through SQLAlchemy, written here."""
    found = timeline_rows(engine, project_id, as_at, params)
    if found is None:
        return None
    return _document(
        summary=found.summary.model_dump_json().encode(),
        as_at=found.as_at,
        stage=found.stage,
        items=",".join(_entry(row) for row in found.rows),
        total=found.total,
        params=found.params,
        changes=_CHANGES.dump_json(found.changes),
    )


def _sqlite_moment(column: str) -> str:
    """SQL for a stored recorded time (``2026-11-28 13:42:28.000500``) as ``json_moment`` does.

    SQLAlchemy stores SQLite datetimes with six fraction digits; pydantic leaves a zero
    fraction out. The ``Z`` is the caller's.
    """
    return f"replace(replace({column}, '.000000', ''), ' ', 'T')"


def _sqlite_statement(recorded_by: bool) -> str:
    """The whole timeline in one statement, with named parameters.

    One row: the project's summary columns, the count of its entries, the page's entries and
    the stage changes, each list already JSON joined by commas (``group_concat``), and the
    latest stage change's stage. One statement is one read snapshot, so the count, the page
    and the stage agree even while the views are being written. ``group_concat`` joins the
    rows in the order its ordered subquery yields them (SQLite before 3.44 has no ``ORDER BY``
    inside an aggregate; a test holds the bytes to the Python composition).
    """
    by = " AND recorded_at <= :cutoff" if recorded_by else ""
    in_force = f"project_id = :project_id{by}"
    summary = ", ".join(ProjectSummary.model_fields)
    page = (
        f"SELECT head || data || '}}' AS item "
        f"FROM {entries.name} WHERE {in_force} ORDER BY version LIMIT :limit OFFSET :offset"
    )
    change = """{"stage":%s,"previous_stage":%s,"occurred_on":"%s","recorded_at":"%sZ"}"""
    changes = (
        f"SELECT printf('{change}', json_quote(stage), json_quote(previous_stage), "
        f"occurred_on, {_sqlite_moment('recorded_at')}) AS item "
        f"FROM {stage_changes.name} WHERE {in_force} ORDER BY seq"
    )
    return (
        f"SELECT {summary}, "
        f"(SELECT count(*) FROM {entries.name} WHERE {in_force}), "
        f"(SELECT group_concat(item, ',') FROM ({page})), "
        f"(SELECT group_concat(item, ',') FROM ({changes})), "
        f"(SELECT stage FROM {stage_changes.name} WHERE {in_force} ORDER BY seq DESC LIMIT 1) "
        f"FROM {projects.name} WHERE project_id = :project_id"
    )


_SQLITE_NOW = _sqlite_statement(recorded_by=False)
_SQLITE_RECORDED_BY = _sqlite_statement(recorded_by=True)


def _written_by_sqlite(
    engine: Engine, project_id: UUID, as_at: AsAt | None, params: PageParams
) -> bytes | None:
    """SQLite, now or as recorded by a moment: the JSON written by SQLite, in one statement.

    Values are bound as SQLAlchemy stores them: a UUID's 32 hex digits, a datetime with six
    fraction digits.
    """
    bound: dict[str, Any] = {
        "project_id": project_id.hex,
        "limit": params.per_page,
        "offset": params.offset,
    }
    if as_at is not None:
        bound["cutoff"] = as_at.cutoff.isoformat(" ", "microseconds")
    with read_cursor(engine) as cursor:
        cursor.execute(_SQLITE_NOW if as_at is None else _SQLITE_RECORDED_BY, bound)
        found = cursor.fetchone()
    if found is None:
        return None
    *summary, total, items, changes, last_stage = found
    if as_at is not None and not total:
        return None
    project_summary = ProjectSummary.model_validate(
        dict(zip(ProjectSummary.model_fields, summary, strict=True))
    )
    return _document(
        summary=project_summary.model_dump_json().encode(),
        as_at=as_at,
        stage=Stage(last_stage) if last_stage else project_summary.stage,
        items=items or "",
        total=int(total),
        params=params,
        changes=f"[{changes or ''}]".encode(),
    )
