"""Commands decided on a process's cached aggregate stay right when another process wrote since.

Each process first decides a command on its own cached copy of the aggregate (no read of the
stream before the command); these tests make that copy stale on purpose, with a second tracker
on the same store, and check that every command still gets the answer the stored state gives.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.bootstrap import create_tracker
from application.errors import StaleVersionError
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.errors import DuplicateMeasurementError
from domain.values import ImprovementDirection, Stage, utc_today
from tests.conftest import FELLOW, proposal, set_up_programme


def _pair(settings: Settings) -> tuple[ImpactTracker, ImpactTracker]:
    """Two trackers (as two processes would have) on one store."""
    first = create_tracker(settings)
    second = create_tracker(settings.model_copy(update={"create_schema": False}))
    return first, second


def _milestone(title: str) -> c.LogMilestone:
    return c.LogMilestone(occurred_on=utc_today(), title=title)


def test_a_write_elsewhere_does_not_turn_the_next_command_into_a_conflict(
    shared_settings: Settings,
) -> None:
    here, elsewhere = _pair(shared_settings)
    try:
        project_id = here.propose_project(FELLOW, proposal(set_up_programme(here))).aggregate_id
        here.log_milestone(FELLOW, project_id, _milestone("here, first"))  # cached here
        elsewhere.log_milestone(FELLOW, project_id, _milestone("elsewhere"))

        result = here.log_milestone(FELLOW, project_id, _milestone("here, second"))

        titles = [m.title for m in elsewhere.project(project_id).milestones]
        assert titles == ["here, first", "elsewhere", "here, second"]
        assert result.version == elsewhere.project(project_id).version
    finally:
        here.close()
        elsewhere.close()


def test_a_refusal_caused_by_a_stale_copy_is_decided_again_on_the_stored_state(
    shared_settings: Settings,
) -> None:
    here, elsewhere = _pair(shared_settings)
    try:
        project_id = here.propose_project(FELLOW, proposal(set_up_programme(here))).aggregate_id
        here.log_milestone(FELLOW, project_id, _milestone("cached here"))
        # The measure is defined by the other process: this one's copy doesn't know it.
        measure_id = elsewhere.define_measure(
            FELLOW,
            project_id,
            c.DefineMeasure(
                occurred_on=utc_today(),
                name="Discharges before noon",
                unit="per cent",
                direction=ImprovementDirection.UP,
            ),
        ).entity_id
        assert measure_id is not None
        period = (utc_today().replace(day=1) - timedelta(days=1)).replace(day=1)
        record = c.RecordMeasurement(
            occurred_on=utc_today(), measure_id=measure_id, period=period, value=41.0
        )

        here.record_measurement(FELLOW, project_id, record)

        stored = elsewhere.project(project_id).measurements
        assert [(m.measure_id, m.value) for m in stored] == [(measure_id, 41.0)]
        # A refusal the stored state also gives still stands, and records nothing.
        version = elsewhere.project(project_id).version
        with pytest.raises(DuplicateMeasurementError):
            elsewhere.record_measurement(FELLOW, project_id, record)
        with pytest.raises(DuplicateMeasurementError):
            here.record_measurement(FELLOW, project_id, record)
        assert elsewhere.project(project_id).version == version
    finally:
        here.close()
        elsewhere.close()


def test_if_match_is_compared_with_the_stored_version_not_the_cached_one(
    shared_settings: Settings,
) -> None:
    here, elsewhere = _pair(shared_settings)
    try:
        project_id = here.propose_project(FELLOW, proposal(set_up_programme(here))).aggregate_id
        cached = here.log_milestone(FELLOW, project_id, _milestone("cached here")).version
        latest = elsewhere.log_milestone(FELLOW, project_id, _milestone("elsewhere")).version

        # The version the client saw is the stored one: accepted although this copy is older.
        here.log_milestone(FELLOW, project_id, _milestone("seen"), expected_version=latest)
        # The copy's own version is stale now: refused, and nothing recorded.
        with pytest.raises(StaleVersionError):
            here.log_milestone(FELLOW, project_id, _milestone("stale"), expected_version=cached)
        assert elsewhere.project(project_id).version == latest + 1
        assert elsewhere.project(project_id).stage is Stage.PROPOSED
    finally:
        here.close()
        elsewhere.close()
