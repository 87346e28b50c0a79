"""Every row of every view, in key order: two builds are equal when their dumps are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from read_models.views import all_projections


def dump_views(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Each view table's rows, sorted by primary key."""
    dumped: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for projection in all_projections():
            for table in projection.metadata.sorted_tables:
                keys = list(table.primary_key.columns)
                rows = conn.execute(table.select().order_by(*keys)).all()
                dumped[table.name] = [tuple(_normal(v) for v in r) for r in rows]
    return dumped


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_normal(v) for v in value)
    return value
