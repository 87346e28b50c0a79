"""A project's progress counters and stage, kept on a view row as its events arrive."""

from __future__ import annotations

from domain.stages import derive_stage
from read_models.envelope import Envelope
from read_models.projection import Row

PROGRESS_EVENTS = frozenset(
    {
        "ProjectProposed",
        "PilotStarted",
        "MeasurementRecorded",
        "MeasurementsPasted",
        "MeasurementRetracted",
        "ProjectAdopted",
        "ProjectPaused",
        "ProjectResumed",
        "ProjectClosed",
    }
)


def new_progress() -> Row:
    """The counters of a just-proposed project."""
    return {
        "pilots": 0,
        "current_measurements": 0,
        "adoptions": 0,
        "stage": "proposed",
        "status": "active",
    }


def advance(row: Row, event: Envelope) -> bool:
    """Apply an event to the row's counters and status; True when the stage changed."""
    kind = event.event_type
    if kind == "PilotStarted":
        row["pilots"] += 1
    elif kind == "MeasurementRecorded":
        row["current_measurements"] += 1
    elif kind == "MeasurementsPasted":
        row["current_measurements"] += len(event.state["values"])
    elif kind == "MeasurementRetracted":
        row["current_measurements"] -= 1
    elif kind == "ProjectAdopted":
        row["adoptions"] += 1
    elif kind == "ProjectPaused":
        row["status"] = "paused"
    elif kind == "ProjectResumed":
        row["status"] = "active"
    elif kind == "ProjectClosed":
        row["status"] = "closed"
    stage = derive_stage(
        pilots=row["pilots"],
        current_measurements=row["current_measurements"],
        adoptions=row["adoptions"],
    ).value
    changed: bool = stage != row["stage"]
    row["stage"] = stage
    return changed
