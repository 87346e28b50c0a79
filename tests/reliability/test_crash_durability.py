"""Crash durability: the API process is SIGKILLed under a write load, 20 times.

Every command that got a 2xx answer must be in the store afterwards (0 acknowledged writes
lost), each exactly once; nothing half-written (every stream's versions run 1, 2, 3... and
every event loads); and the views, caught up, equal a clean rebuild of the store.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain.values import Role
from read_models.bootstrap import create_read_side
from read_models.database import create_views_engine
from read_models.integrity.verify import verify
from read_models.runner import ProjectionRunner
from read_models.views import all_projections
from tests.conftest import FELLOW, proposal, set_up_programme
from tests.read_models.dump import dump_views
from tests.serving import impact_env, start_server

CYCLES = 20
pytestmark = pytest.mark.slow


def test_no_acknowledged_write_is_lost_when_the_api_is_killed(
    shared_settings: Settings, tmp_path: Path
) -> None:
    settings = shared_settings
    tracker = create_tracker(settings)
    project_id = tracker.propose_project(FELLOW, proposal(set_up_programme(tracker))).aggregate_id
    lead = tracker.project(project_id).lead_fellow_id
    tracker.close()
    identity = IdentityService(create_identity_engine(settings))
    identity.create_user(
        NewUser(user_id="lead", display_name="Lead", role=Role.FELLOW, fellow_id=lead)
    )
    token = identity.create_token("lead")
    identity.close()
    env = impact_env(settings)

    rng = random.Random(5)
    acknowledged: list[str] = []
    attempts = 0
    for cycle in range(CYCLES):
        server = start_server(env)
        url = server.url
        try:
            server.wait_until_up()
        except BaseException:
            server.stop()
            raise
        stop = threading.Event()

        def write(cycle: int = cycle, url: str = url, stop: threading.Event = stop) -> None:
            nonlocal attempts
            n = 0
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
                while not stop.is_set():
                    title = f"c{cycle}-{n}"
                    n += 1
                    attempts += 1
                    try:
                        response = c.post(
                            f"{url}/api/projects/{project_id}/milestones",
                            json={"occurred_on": "2024-05-01", "title": title},
                        )
                    except httpx.TransportError:
                        return  # the server died mid-request: unacknowledged
                    if response.status_code == 200:
                        acknowledged.append(title)

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(rng.uniform(0.3, 1.0))
        server.process.send_signal(signal.SIGKILL)
        server.stop()
        server.log.unlink()
        stop.set()
        writer.join(timeout=30)

    tracker = create_tracker(settings)
    stored = [
        e.data["title"] for e in tracker.history(project_id) if e.event_type == "MilestoneLogged"
    ]
    print(
        f"{settings.engine}: {CYCLES} kills, {attempts} attempts, {len(acknowledged)} "
        f"acknowledged, {len(stored)} stored, "
        f"{len(set(acknowledged) - set(stored))} acknowledged writes lost"
    )
    assert len(acknowledged) > CYCLES
    assert set(acknowledged) <= set(stored)  # 0 acknowledged writes lost
    assert len(stored) == len(set(stored))  # none recorded twice

    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    # Versions contiguous, all load (no checkpoint is signed here: no key to trust).
    assert verify(tracker, read_side.engine, frozenset()).problems == []
    clean_engine = create_views_engine(Settings(data_dir=tmp_path / "clean"))
    clean = ProjectionRunner(tracker, clean_engine, all_projections(), page_size=10_000)
    clean.set_up()
    clean.rebuild()
    assert dump_views(read_side.engine) == dump_views(clean_engine)
    clean_engine.dispose()
    read_side.close()
    tracker.close()
