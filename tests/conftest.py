"""Shared fixtures: settings and trackers for every engine, and a small programme to act on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from application.bootstrap import create_tracker
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import Actor, Role, Sector
from tests.postgres import throwaway_database

ADMIN = Actor(user_id="admin-1", role=Role.ADMIN)
FELLOW = Actor(user_id="fellow-1", role=Role.FELLOW)
START = date(2024, 1, 8)

ENGINES = [
    "memory",
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for each engine: in-memory, SQLite in a temporary directory, PostgreSQL."""
    yield from _settings_for(request.param, tmp_path)


@pytest.fixture(params=ENGINES[1:])
def shared_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the engines several processes can share: SQLite and PostgreSQL."""
    yield from _settings_for(request.param, tmp_path)


def _settings_for(engine: str, tmp_path: Path) -> Iterator[Settings]:
    if engine == "memory":
        yield Settings(database_url="memory://", data_dir=tmp_path)
    elif engine == "sqlite":
        yield Settings(data_dir=tmp_path)
    else:
        with throwaway_database() as url:
            yield Settings(database_url=url, data_dir=tmp_path)


@pytest.fixture
def tracker(settings: Settings) -> Iterator[ImpactTracker]:
    """A tracker on a fresh, empty store."""
    app = create_tracker(settings)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def memory_tracker(tmp_path: Path) -> Iterator[ImpactTracker]:
    """An in-memory tracker, for tests about rules rather than storage."""
    app = create_tracker(Settings(database_url="memory://", data_dir=tmp_path))
    yield app
    app.close()


@dataclass
class Programme:
    """A system with two organisations, a cohort and two fellows."""

    system_id: UUID
    trust_id: UUID
    council_id: UUID
    cohort_id: UUID
    lead_fellow_id: UUID
    other_fellow_id: UUID


def set_up_programme(tracker: ImpactTracker) -> Programme:
    """Register the minimum a project needs to be proposed."""
    system = tracker.register_system(ADMIN, c.RegisterSystem(occurred_on=START, name="Test ICS"))
    trust = tracker.register_organisation(
        ADMIN,
        c.RegisterOrganisation(
            occurred_on=START,
            name="Test Trust",
            sector=Sector.ACUTE,
            system_id=system.aggregate_id,
        ),
    )
    council = tracker.register_organisation(
        ADMIN,
        c.RegisterOrganisation(
            occurred_on=START,
            name="Test Council",
            sector=Sector.LOCAL_AUTHORITY,
            system_id=system.aggregate_id,
        ),
    )
    cohort = tracker.start_cohort(
        ADMIN,
        c.StartCohort(
            occurred_on=START,
            programme="20/20",
            system_id=system.aggregate_id,
            number=1,
            starts_on=START,
            ends_on=date(2024, 7, 8),
        ),
    )
    lead, other = (
        tracker.enrol_fellow(
            ADMIN,
            c.EnrolFellow(
                occurred_on=START,
                cohort_id=cohort.aggregate_id,
                organisation_id=org,
                role_title="Ward manager",
                name=name,
            ),
        )
        for org, name in (
            (trust.aggregate_id, "Lead Fellow"),
            (council.aggregate_id, "Other Fellow"),
        )
    )
    return Programme(
        system.aggregate_id,
        trust.aggregate_id,
        council.aggregate_id,
        cohort.aggregate_id,
        lead.aggregate_id,
        other.aggregate_id,
    )


def proposal(programme: Programme, **changes: object) -> c.ProposeProject:
    """A valid proposal for the programme, with any fields changed."""
    fields: dict[str, object] = {
        "occurred_on": date(2024, 2, 1),
        "title": "Home by lunchtime",
        "problem": "Discharges late in the day block admissions.",
        "intended_outcomes": ["More discharges before noon."],
        "cohort_id": programme.cohort_id,
        "lead_fellow_id": programme.lead_fellow_id,
        "lead_organisation_id": programme.trust_id,
        "partner_organisation_ids": [programme.council_id],
        "sponsor_id": "sponsor-1",
    }
    fields.update(changes)
    return c.ProposeProject.model_validate(fields)


@pytest.fixture
def programme(tracker: ImpactTracker) -> Programme:
    """The minimal programme, in the parametrised tracker."""
    return set_up_programme(tracker)
