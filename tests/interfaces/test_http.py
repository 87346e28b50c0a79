"""The minimal HTTP app: health, a project, its history, and errors as JSON bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.bootstrap import create_tracker
from application.settings import Settings
from domain import commands as c
from interfaces.http.app import create_app
from tests.conftest import FELLOW, proposal, set_up_programme


@pytest.fixture
def client_and_project(tmp_path: Path) -> Iterator[tuple[TestClient, UUID]]:
    settings = Settings(data_dir=tmp_path)
    tracker = create_tracker(settings)
    project_id = tracker.propose_project(FELLOW, proposal(set_up_programme(tracker))).aggregate_id
    tracker.start_pilot(
        FELLOW, project_id, c.StartPilot(occurred_on=date(2024, 3, 1), sites=["A"], scope="s")
    )
    with TestClient(create_app(settings, tracker)) as client:
        yield client, project_id
    tracker.close()


def test_health_answers_ok(client_and_project: tuple[TestClient, UUID]) -> None:
    client, _ = client_and_project
    response = client.get("/api/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_a_project_is_served_now_and_at_a_version(
    client_and_project: tuple[TestClient, UUID],
) -> None:
    client, project_id = client_and_project
    now = client.get(f"/api/projects/{project_id}")
    first = client.get(f"/api/projects/{project_id}", params={"version": 1})
    assert (now.status_code, now.json()["stage"], now.json()["version"]) == (200, "piloted", 2)
    assert first.json()["stage"] == "proposed"


def test_history_is_served_in_order(client_and_project: tuple[TestClient, UUID]) -> None:
    client, project_id = client_and_project
    body = client.get(f"/api/projects/{project_id}/history").json()
    assert [e["event_type"] for e in body] == ["ProjectProposed", "PilotStarted"]
    assert body[1]["actor"] == {"user_id": "fellow-1", "role": "fellow"}


def test_unknown_project_is_404_with_a_sentence(
    client_and_project: tuple[TestClient, UUID],
) -> None:
    client, _ = client_and_project
    missing = uuid4()
    response = client.get(f"/api/projects/{missing}")
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": f"There is no project with id {missing}.",
    }


def test_malformed_input_is_422_naming_the_field(
    client_and_project: tuple[TestClient, UUID],
) -> None:
    client, project_id = client_and_project
    bad_id = client.get("/api/projects/not-a-uuid")
    bad_version = client.get(f"/api/projects/{project_id}", params={"version": 0})
    assert (bad_id.status_code, bad_id.json()["field"]) == (422, "project_id")
    assert (bad_version.status_code, bad_version.json()["field"]) == (422, "version")


def test_an_unknown_address_is_404_in_the_same_json_shape(
    client_and_project: tuple[TestClient, UUID],
) -> None:
    client, _ = client_and_project
    response = client.get("/api/nowhere")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "There is nothing at this address."}


def test_an_as_at_without_a_time_zone_is_422_naming_it(
    client_and_project: tuple[TestClient, UUID],
) -> None:
    client, project_id = client_and_project
    response = client.get(f"/api/projects/{project_id}", params={"as_at": "2026-01-01T00:00:00"})
    assert (response.status_code, response.json()["field"]) == (422, "as_at")
