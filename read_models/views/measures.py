"""The measure series view: each measure's values, current and as they stood at any date.

``measure_values`` keeps every version of every value (recorded, corrected, retracted) with both
time axes; ``measure_measurements`` keeps the current one.  The current series of a measure is its
non-retracted measurements in period order: the input of the SPC charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import ClassVar
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from application.persistence.ids import parse_uuid
from read_models.envelope import Envelope
from read_models.projection import Projection, Row, RowCache, insert_rows

metadata = MetaData()

measures = Table(
    "measure_measures",
    metadata,
    Column("measure_id", Uuid, primary_key=True),
    Column("project_id", Uuid, nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(200), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("target", Float),
    Column("frequency", String(16), nullable=False),
    Column("defined_on", Date, nullable=False),
    Column("defined_at", DateTime, nullable=False),
    Column("baseline_points", Integer),
)

measurements = Table(
    "measure_measurements",
    metadata,
    Column("measurement_id", Uuid, primary_key=True),
    Column("measure_id", Uuid, nullable=False),
    Column("project_id", Uuid, nullable=False),
    Column("period", Date, nullable=False),
    Column("value", Float, nullable=False),
    Column("numerator", Float),
    Column("denominator", Float),
    Column("note", Text, nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("corrections", Integer, nullable=False),
    Column("retracted", Boolean, nullable=False),
    Column("ghosted", Boolean, nullable=False),
    Column("ghost_reason", Text),
    Column("astronomical", Boolean, nullable=False),
    Column("astronomical_reason", Text),
    Column("changes", Integer, nullable=False),
    Index("measure_measurements_by_measure", "measure_id", "period"),
)

recalculations = Table(
    "measure_recalculations",
    metadata,
    Column("measure_id", Uuid, primary_key=True),
    Column("from_period", Date, primary_key=True),
    Column("reason", Text, nullable=False),
)

values = Table(
    "measure_values",
    metadata,
    Column("measurement_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("measure_id", Uuid, nullable=False),
    Column("period", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Float),
    Column("reason", Text),
    Column("occurred_on", Date, nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Index("measure_values_by_measure", "measure_id", "period"),
)


class MeasuresProjection(Projection):
    """Measures, their current measurements and every value's history."""

    name: ClassVar[str] = "measures"
    version: ClassVar[int] = 3  # 2: ghosting and recalculation points; 3: astronomical, baseline
    metadata: ClassVar[MetaData] = metadata
    event_types: ClassVar[frozenset[str]] = frozenset(
        {
            "MeasureDefined",
            "MeasurementRecorded",
            "MeasurementsPasted",
            "MeasurementCorrected",
            "MeasurementRetracted",
            "MeasurementGhosted",
            "MeasurementRestored",
            "RecalculationMarked",
            "RecalculationRemoved",
            "MeasurementFlaggedAstronomical",
            "MeasurementUnflaggedAstronomical",
            "BaselineSet",
            "BaselineCleared",
        }
    )

    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Add measures and measurements, apply corrections and retractions, keep history."""
        cache = RowCache(conn, measurements, "measurement_id")
        # A recorded measurement is new (its id is made by the domain when it is recorded), so
        # only the later events about a measurement need its stored row.
        cache.load(
            e.uuid("measurement_id")
            for e in events
            if "measurement_id" in e.state and e.event_type != "MeasurementRecorded"
        )  # (a paste's values are new too, and its event has no top-level measurement_id)
        new_measures: list[Row] = []
        history: list[Row] = []
        for event in events:
            s = event.state
            recorded_at = event.recorded_naive
            if event.event_type == "MeasureDefined":
                new_measures.append(
                    {
                        "measure_id": event.uuid("measure_id"),
                        "project_id": event.originator_id,
                        "name": s["name"],
                        "unit": s["unit"],
                        "direction": s["direction"],
                        "target": s["target"],
                        "frequency": s["frequency"],
                        "defined_on": event.occurred_on,
                        "defined_at": recorded_at,
                        "baseline_points": None,
                    }
                )
                continue
            if event.event_type in _BASELINES:
                if new_measures:  # a measure defined in this page may be the one it sets
                    insert_rows(conn, measures, new_measures)
                    new_measures = []
                _baseline(conn, event)
                continue
            if event.event_type in _MARKS:
                _mark(conn, event)
                continue
            if event.event_type in _FLAGS:
                _flag(cache, event)
                continue
            if event.event_type == "MeasurementsPasted":  # each value as if recorded alone
                measure_id = event.uuid("measure_id")
                for pasted in s["values"]:
                    row = cache.add(
                        _new_measurement(
                            event,
                            measure_id,
                            parse_uuid(pasted["measurement_id"]),
                            date.fromisoformat(pasted["period"]),
                            pasted["value"],
                        )
                    )
                    history.append(_history(row, event, "recorded", None))
                continue
            if event.event_type == "MeasurementRecorded":
                row = cache.add(
                    _new_measurement(
                        event,
                        event.uuid("measure_id"),
                        event.uuid("measurement_id"),
                        event.day("period"),
                        s["value"],
                        numerator=s["numerator"],
                        denominator=s["denominator"],
                        note=s["note"],
                    )
                )
                kind, reason = "recorded", None
            else:
                found = cache.get(event.uuid("measurement_id"))
                if found is None:
                    continue
                row = found
                reason = s["reason"]
                if event.event_type == "MeasurementCorrected":
                    kind = "corrected"
                    row.update(
                        value=s["value"],
                        numerator=s["numerator"],
                        denominator=s["denominator"],
                        corrections=row["corrections"] + 1,
                    )
                else:
                    kind = "retracted"
                    row["retracted"] = True
            history.append(_history(row, event, kind, reason))
            cache.touch(row)
        if new_measures:
            insert_rows(conn, measures, new_measures)
        cache.flush()
        if history:
            insert_rows(conn, values, history)


def _new_measurement(
    event: Envelope,
    measure_id: UUID,
    measurement_id: UUID,
    period: date,
    value: float,
    *,
    numerator: float | None = None,
    denominator: float | None = None,
    note: str = "",
) -> Row:
    """The row of a just-recorded or just-pasted measurement (a paste has no ratio or note)."""
    return {
        "measurement_id": measurement_id,
        "measure_id": measure_id,
        "project_id": event.originator_id,
        "period": period,
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "note": note,
        "occurred_on": event.occurred_on,
        "recorded_at": event.recorded_naive,
        "corrections": 0,
        "retracted": False,
        "ghosted": False,
        "ghost_reason": None,
        "astronomical": False,
        "astronomical_reason": None,
        "changes": 0,
    }


def _history(row: Row, event: Envelope, kind: str, reason: str | None) -> Row:
    """Count one more change of the measurement and the history row it adds."""
    row["changes"] += 1
    return {
        "measurement_id": row["measurement_id"],
        "seq": row["changes"],
        "measure_id": row["measure_id"],
        "period": row["period"],
        "kind": kind,
        "value": None if kind == "retracted" else row["value"],
        "reason": reason,
        "occurred_on": event.occurred_on,
        "recorded_at": event.recorded_naive,
    }


# Per-measurement flags: event -> (column, its reason column, set or cleared).
_FLAGS = {
    "MeasurementGhosted": ("ghosted", "ghost_reason", True),
    "MeasurementRestored": ("ghosted", "ghost_reason", False),
    "MeasurementFlaggedAstronomical": ("astronomical", "astronomical_reason", True),
    "MeasurementUnflaggedAstronomical": ("astronomical", "astronomical_reason", False),
}
_MARKS = frozenset({"RecalculationMarked", "RecalculationRemoved"})
# Rare, like recalculation points: written straight away, in page order.
_BASELINES = frozenset({"BaselineSet", "BaselineCleared"})


def _mark(conn: Connection, event: Envelope) -> None:
    """Add or remove a recalculation point (rare: written straight away, in page order)."""
    key = {"measure_id": event.uuid("measure_id"), "from_period": event.day("from_period")}
    if event.event_type == "RecalculationMarked":
        insert_rows(conn, recalculations, [{**key, "reason": event.state["reason"]}])
    else:
        conn.execute(
            recalculations.delete().where(
                recalculations.c.measure_id == key["measure_id"],
                recalculations.c.from_period == key["from_period"],
            )
        )


def _flag(cache: RowCache, event: Envelope) -> None:
    """Set or clear a measurement's ghost or astronomical flag, with its reason."""
    row = cache.get(event.uuid("measurement_id"))
    if row is None:
        return
    column, reason, on = _FLAGS[event.event_type]
    row.update({column: on, reason: event.state["reason"] if on else None})
    cache.touch(row)


def _baseline(conn: Connection, event: Envelope) -> None:
    """Set or clear a measure's baseline (rare: written straight away, in page order)."""
    points = event.state["points"] if event.event_type == "BaselineSet" else None
    conn.execute(
        measures.update()
        .where(measures.c.measure_id == event.uuid("measure_id"))
        .values(baseline_points=points)
    )
