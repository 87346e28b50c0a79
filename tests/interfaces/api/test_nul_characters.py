"""The NUL character: refused in what is recorded, matched by nothing, never a server error.

PostgreSQL can't keep U+0000 in text, so on that engine a NUL reaching a text column or a
query parameter raised a database error (a 500, found by schemathesis against the PostgreSQL
deployment), and a recorded one would have stopped every view that copies the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _settings_for
from tests.interfaces.api.world import PASSWORD, World, served


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    for settings in _settings_for(request.param, tmp_path):
        with served(settings) as w:
            yield w


def test_a_command_with_a_nul_in_its_text_is_refused_naming_the_field(world: World) -> None:
    project_id, _, _ = world.new_project()
    version = world.tracker.project(project_id).version
    answer = world.client.post(
        f"/api/projects/{project_id}/milestones",
        json={"occurred_on": "2024-05-01", "title": "Board\x00paper"},
        headers=world.headers("member"),
    )
    assert answer.status_code == 422
    assert "title" in answer.json()["detail"]
    assert "NUL" in answer.json()["detail"]
    assert world.tracker.project(project_id).version == version


@pytest.mark.parametrize("path", ["/api/projects", "/api/organisations"])
def test_a_search_with_a_nul_finds_nothing(world: World, path: str) -> None:
    answer = world.client.get(path, params={"search": "\x00"}, headers=world.headers("admin"))
    assert answer.status_code == 200
    assert answer.json()["items"] == []


def test_signing_in_with_a_nul_in_the_user_id_is_a_plain_refusal(world: World) -> None:
    answer = world.client.post("/api/session", json={"user_id": "\x00", "password": PASSWORD})
    assert answer.status_code == 401


def test_signing_in_with_a_well_formed_user_id_still_works(world: World) -> None:
    answer = world.client.post("/api/session", json={"user_id": "member", "password": PASSWORD})
    assert answer.status_code == 200
