"""A copied project is independent of its original (the event store's cache relies on it).

``Project.__deepcopy__`` copies field by field instead of ``copy.deepcopy``'s generic walk; if a
new mutable attribute were added without copying it, a refused command could leave changes in
the cached project.  These tests catch that.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import date, datetime
from enum import Enum
from uuid import UUID, uuid4

from domain import commands as c
from domain.project import Project
from domain.project_parts import Measure, Measurement, Pilot
from domain.values import AdoptionScope
from tests.unit.test_project_rules import FELLOW, PARTNER, measure, piloted, record

IMMUTABLE = (str, int, float, bool, date, datetime, UUID, Enum, tuple, type(None))


def _busy_project() -> tuple[Project, UUID, list[UUID]]:
    project = piloted()
    measure_id = measure(project)
    points = [record(project, measure_id, date(2024, month, 1)) for month in range(1, 7)]
    project.correct_measurement(
        c.CorrectMeasurement(
            occurred_on=date(2024, 7, 1), measurement_id=points[0], value=7, reason="typo"
        ),
        FELLOW,
    )
    project.mark_recalculation(
        c.MarkRecalculation(
            occurred_on=date(2024, 7, 1),
            measure_id=measure_id,
            from_period=date(2024, 3, 1),
            reason="pilot",
        ),
        FELLOW,
    )
    project.collect_events()
    return project, measure_id, points


def test_every_attribute_of_a_project_is_immutable_or_copied_on_its_own() -> None:
    project, _, _ = _busy_project()
    for name, value in vars(project).items():
        assert name in Project.MUTABLE_ATTRIBUTES or isinstance(value, IMMUTABLE), (
            f"Project.{name} holds a {type(value).__name__}: copy it in __deepcopy__ and list "
            "it in MUTABLE_ATTRIBUTES"
        )


def test_changing_a_copy_leaves_the_original_as_it_was() -> None:
    project, measure_id, points = _busy_project()
    before = pickle.dumps(vars(project))
    clone = copy.deepcopy(project)
    when = date(2024, 8, 1)
    clone.record_measurement(
        c.RecordMeasurement(
            occurred_on=when, measure_id=measure_id, period=date(2024, 7, 1), value=1
        ),
        FELLOW,
    )
    clone.correct_measurement(
        c.CorrectMeasurement(occurred_on=when, measurement_id=points[1], value=2, reason="r"),
        FELLOW,
    )
    clone.retract_measurement(
        c.RetractMeasurement(occurred_on=when, measurement_id=points[2], reason="r"), FELLOW
    )
    clone.ghost_measurement(
        c.GhostMeasurement(occurred_on=when, measurement_id=points[3], reason="r"), FELLOW
    )
    clone.remove_recalculation(
        c.RemoveRecalculation(
            occurred_on=when, measure_id=measure_id, from_period=date(2024, 3, 1)
        ),
        FELLOW,
    )
    clone.record_adoption(
        c.RecordAdoption(occurred_on=when, organisation_id=uuid4(), scope=AdoptionScope.SPREAD),
        FELLOW,
    )
    clone.leave_organisation(c.LeaveOrganisation(occurred_on=when, organisation_id=PARTNER), FELLOW)
    clone.log_milestone(c.LogMilestone(occurred_on=when, title="Board"), FELLOW)
    clone.start_pilot(c.StartPilot(occurred_on=when, sites=["Ward 9"], scope="more"), FELLOW)
    assert pickle.dumps(vars(project)) == before
    assert clone.version > project.version
    assert not project.collect_events()


def test_every_part_of_a_project_is_a_frozen_value_that_copies_may_share() -> None:
    project, _, _ = _busy_project()
    parts = [
        *project.pilots,
        *project.measures.values(),
        *project.measurements.values(),
        *project.adoptions.values(),
        *project.milestones,
    ]
    assert {type(p) for p in parts} >= {Pilot, Measure, Measurement}
    for part in parts:
        kind = type(part).__name__
        assert dataclasses.is_dataclass(part), kind
        assert getattr(type(part), "__dataclass_params__").frozen, (  # noqa: B009
            f"{kind} is shared between a project and its copies: keep it frozen and replace it"
        )
        for f in dataclasses.fields(part):
            value = getattr(part, f.name)
            assert isinstance(value, (*IMMUTABLE, frozenset)), f"{kind}.{f.name} is mutable"
