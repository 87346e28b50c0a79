"""A served API with a programme, a project and one account per kind of user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from fastapi.testclient import TestClient

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import ImprovementDirection, Role
from interfaces.http.app import create_app
from tests.conftest import FELLOW, Programme, proposal, set_up_programme

PASSWORD = "correct horse battery"

# Who is who: the member fellow leads the project; "sponsor" sponsors it; "sponsor-org"
# belongs to its lead organisation; "stranger" sponsors nothing and belongs nowhere.
ACCOUNTS = ["admin", "evaluator", "member", "outsider", "sponsor", "sponsor-org", "stranger"]


@dataclass
class World:
    """The running app and what is in it."""

    client: TestClient
    tracker: ImpactTracker
    identity: IdentityService
    programme: Programme
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None) -> dict[str, str]:
        """Bearer headers for an account (none for the anonymous)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def new_project(self) -> tuple[UUID, UUID, UUID]:
        """A piloted project with a measure and one measurement: (project, measure, measurement)."""
        project_id = self.tracker.propose_project(FELLOW, proposal(self.programme)).aggregate_id
        self.tracker.start_pilot(
            FELLOW,
            project_id,
            c.StartPilot(occurred_on=date(2024, 3, 1), sites=["Ward 1"], scope="Pilot"),
        )
        measure_id = self.tracker.define_measure(
            FELLOW,
            project_id,
            c.DefineMeasure(
                occurred_on=date(2024, 3, 1),
                name="Discharges before noon",
                unit="%",
                direction=ImprovementDirection.UP,
            ),
        ).entity_id
        measurement_id = self.tracker.record_measurement(
            FELLOW,
            project_id,
            c.RecordMeasurement(
                occurred_on=date(2024, 4, 2),
                measure_id=measure_id,
                period=date(2024, 3, 1),
                value=20.0,
            ),
        ).entity_id
        assert measure_id is not None
        assert measurement_id is not None
        return project_id, measure_id, measurement_id


@contextmanager
def served(settings: Settings) -> Iterator[World]:
    """Start the app on the settings' store, with the programme and accounts."""
    tracker = create_tracker(settings)
    identity = IdentityService(create_identity_engine(settings))
    programme = set_up_programme(tracker)
    accounts = {
        "admin": NewUser(user_id="admin", display_name="Admin", role=Role.ADMIN),
        "evaluator": NewUser(user_id="evaluator", display_name="Eve", role=Role.EVALUATOR),
        "member": NewUser(
            user_id="member",
            display_name="Mo",
            role=Role.FELLOW,
            fellow_id=programme.lead_fellow_id,
            password=PASSWORD,
        ),
        "outsider": NewUser(
            user_id="outsider",
            display_name="Olu",
            role=Role.FELLOW,
            fellow_id=programme.other_fellow_id,
        ),
        "sponsor": NewUser(user_id="sponsor-1", display_name="Sam", role=Role.SPONSOR),
        "sponsor-org": NewUser(
            user_id="sponsor-org",
            display_name="Sol",
            role=Role.SPONSOR,
            organisation_ids=[programme.trust_id],
        ),
        "stranger": NewUser(user_id="stranger", display_name="Sid", role=Role.SPONSOR),
    }
    world = World(TestClient(create_app(settings, tracker, identity)), tracker, identity, programme)
    for name, account in accounts.items():
        identity.create_user(account)
        world.tokens[name] = identity.create_token(account.user_id)
    with world.client:
        yield world
    identity.close()
    tracker.close()
