"""A project's timeline as the API sends it: JSON composed from the view's rows.

The API's busiest read is a timeline page. Built as models, each entry's stored JSON is
decoded, validated and encoded again on every request; here the small parts (project, as-at,
stage history) go through their pydantic models and each entry is written straight from its
row, its data embedded as stored. The result is the JSON of ``ProjectTimeline``, field for
field (tests compare the two for every event type and both as-at axes).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import Engine, Row

from read_models.queries.common import AsAt, PageParams
from read_models.queries.timeline import StageChange, timeline_rows

_AS_AT = TypeAdapter(AsAt | None)
_CHANGES = TypeAdapter(list[StageChange])
_text = json.dumps  # ensure_ascii=True: any character a JSON string may hold, escaped


def _moment(recorded: datetime) -> str:
    """A recorded time as pydantic writes a UTC datetime (``...Z``, microseconds if any)."""
    if recorded.tzinfo is not None:
        recorded = recorded.astimezone(UTC).replace(tzinfo=None)
    return recorded.isoformat() + "Z"


def _entry(row: Row[Any]) -> str:
    """One entry's JSON, its data as stored (SQLite's text) or encoded (PostgreSQL's dict)."""
    number, version, event_type, actor_id, actor_role, day, recorded, summary, data = tuple(row)
    assert isinstance(day, date)
    stored = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return (
        f'{{"notification_id":{int(number)},"version":{int(version)},'
        f'"event_type":{_text(event_type)},"actor_id":{_text(actor_id)},'
        f'"actor_role":{_text(actor_role)},"occurred_on":"{day.isoformat()}",'
        f'"recorded_at":"{_moment(recorded)}","summary":{_text(summary)},"data":{stored}}}'
    )


def project_timeline_json(
    engine: Engine,
    project_id: UUID,
    as_at: AsAt | None = None,
    params: PageParams | None = None,
) -> bytes | None:
    """The JSON of ``project_timeline(...)``; None if the project had no events by then."""
    found = timeline_rows(engine, project_id, as_at, params)
    if found is None:
        return None
    items = ",".join(_entry(row) for row in found.rows)
    return b"".join(
        (
            b'{"project":',
            found.summary.model_dump_json().encode(),
            b',"as_at":',
            _AS_AT.dump_json(found.as_at),
            b',"stage":',
            _text(found.stage.value).encode(),
            b',"entries":{"items":[',
            items.encode(),
            f'],"total":{found.total},"page":{found.params.page},'
            f'"per_page":{found.params.per_page}}},"stage_history":'.encode(),
            _CHANGES.dump_json(found.changes),
            b"}",
        )
    )
