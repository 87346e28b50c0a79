"""Concurrency and idempotency through real HTTP, against a served `impact serve` process."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest

from application.bootstrap import create_tracker
from application.settings import Settings
from tests.serving import ServedProject, served_project

pytestmark = pytest.mark.slow


Server = ServedProject


@pytest.fixture
def server(shared_settings: Settings) -> Iterator[Server]:
    with served_project(shared_settings) as served:
        yield served


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
