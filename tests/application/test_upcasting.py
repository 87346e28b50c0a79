"""Events stored by older class versions still load, upcast to the current version."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.persistence.mapper import PydanticMapper
from application.tracker import ImpactTracker
from domain import commands as c
from domain import project_events as ev
from domain.values import ImprovementDirection, Stage
from tests.conftest import FELLOW, Programme, proposal

FIXTURE = Path(__file__).parent.parent / "fixtures" / "measurement_recorded_v1.json"


def test_a_stored_version_1_measurement_is_upcast_on_every_engine(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.start_pilot(
        FELLOW, project_id, c.StartPilot(occurred_on=date(2024, 3, 1), sites=["A"], scope="s")
    )
    measure = tracker.define_measure(
        FELLOW,
        project_id,
        c.DefineMeasure(
            occurred_on=date(2024, 3, 1), name="Rate", unit="%", direction=ImprovementDirection.UP
        ),
    )
    fixture = json.loads(FIXTURE.read_text())
    state = json.dumps(fixture["state"]).replace("MEASURE_ID", str(measure.entity_id))
    tracker.recorder.insert_events(
        [
            StoredEvent(
                originator_id=project_id,
                originator_version=4,
                topic=fixture["topic"],
                state=state.encode(),
            )
        ]
    )

    project = tracker.project(project_id)
    (measurement,) = project.measurements
    assert project.stage is Stage.MEASURED
    assert measurement.measurement_id == UUID(fixture["state"]["measurement_id"])
    assert (
        measurement.value,
        measurement.numerator,
        measurement.denominator,
        measurement.note,
    ) == (27.5, None, None, "")
    assert tracker.history(project_id)[-1].data["note"] == ""


def test_current_events_are_stored_with_their_class_version() -> None:
    mapper = PydanticMapper(transcoder=None)  # type: ignore[arg-type]
    event = ev.MeasurementRecorded(
        originator_id=UUID(int=1),
        originator_version=2,
        timestamp=datetime(2024, 4, 5, 9, 30, tzinfo=UTC),
        actor=FELLOW,
        occurred_on=date(2024, 4, 5),
        measurement_id=UUID(int=2),
        measure_id=UUID(int=3),
        period=date(2024, 3, 1),
        value=1.5,
        numerator=3,
        denominator=2,
        note="n",
    )
    stored = mapper.to_stored_event(event)
    assert json.loads(stored.state)["class_version"] == 2
    assert mapper.to_domain_event(stored) == event
