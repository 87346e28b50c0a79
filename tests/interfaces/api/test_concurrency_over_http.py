"""Concurrency and idempotency through real HTTP, against a served `impact serve` process."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import UUID

import httpx2 as httpx
import pytest

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain.values import Role
from tests.conftest import FELLOW, proposal, set_up_programme
from tests.serving import CLI, free_port, impact_env, wait_until_up

pytestmark = pytest.mark.slow


@dataclass
class Server:
    """A served app and a token for the project's lead fellow."""

    url: str
    token: str
    project_id: UUID
    settings: Settings


@pytest.fixture
def server(shared_settings: Settings) -> Iterator[Server]:
    settings = shared_settings
    tracker = create_tracker(settings)
    programme = set_up_programme(tracker)
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.close()
    identity = IdentityService(create_identity_engine(settings))
    identity.create_user(
        NewUser(
            user_id="lead",
            display_name="Lead",
            role=Role.FELLOW,
            fellow_id=programme.lead_fellow_id,
        )
    )
    token = identity.create_token("lead")
    identity.close()
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=impact_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
    except httpx.TransportError:
        process.kill()
        raise
    yield Server(url, token, project_id, settings)
    process.terminate()
    process.wait(timeout=30)


def _post(server: Server, headers: dict[str, str], title: str) -> int:
    response = httpx.post(
        f"{server.url}/api/projects/{server.project_id}/milestones",
        json={"occurred_on": "2024-05-01", "title": title},
        headers={"Authorization": f"Bearer {server.token}", **headers},
        timeout=60,
    )
    return response.status_code


def test_parallel_commands_with_one_if_match_have_exactly_one_winner(server: Server) -> None:
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda n: _post(server, {"If-Match": '"1"'}, f"m{n}"), range(16)))
    print(f"{server.settings.engine}: statuses {sorted(statuses)}")
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 409, 412}
    tracker = create_tracker(server.settings)
    assert tracker.project(server.project_id).version == 2
    tracker.close()


def test_fifty_parallel_retries_with_one_key_record_one_event(server: Server) -> None:
    with ThreadPoolExecutor(10) as pool:
        statuses = list(
            pool.map(lambda _: _post(server, {"Idempotency-Key": "k"}, "once"), range(50))
        )
    assert statuses == [200] * 50
    tracker = create_tracker(server.settings)
    titles = [
        e.data["title"]
        for e in tracker.history(server.project_id)
        if e.event_type == "MilestoneLogged"
    ]
    tracker.close()
    assert titles == ["once"]
