"""Several API processes and one projection worker: every acknowledged command once in each view.

`impact db upgrade` creates the schema once; `impact serve --workers 2` runs two API processes
(no views followed in them); `impact project --follow` keeps the views. Commands are sent over
real HTTP; afterwards every acknowledged milestone is in the timeline view exactly once and the
views equal a clean rebuild.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx2 as httpx
import pytest
from sqlalchemy import select

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain.values import Role
from read_models.bootstrap import create_read_side
from read_models.database import create_views_engine
from read_models.runner import ProjectionRunner
from read_models.views import all_projections
from read_models.views.timeline import entries
from tests.conftest import FELLOW, proposal, set_up_programme
from tests.read_models.dump import dump_views
from tests.serving import CLI, impact_env, serving

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Deployment:
    """The running processes and what the test needs to talk to them."""

    url: str
    token: str
    api: subprocess.Popen[bytes]
    project_id: UUID
    settings: Settings


@pytest.fixture
def deployment(shared_settings: Settings) -> Iterator[Deployment]:
    settings = shared_settings
    env = impact_env(settings, IMPACT_PROJECTION_POLL_SECONDS="0.05")
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    tracker = create_tracker(settings.model_copy(update={"create_schema": False}))
    project_id = tracker.propose_project(FELLOW, proposal(set_up_programme(tracker))).aggregate_id
    identity = IdentityService(create_identity_engine(settings), create_schema=False)
    lead = tracker.project(project_id).lead_fellow_id
    identity.create_user(
        NewUser(user_id="lead", display_name="Lead", role=Role.FELLOW, fellow_id=lead)
    )
    token = identity.create_token("lead")
    identity.close()
    tracker.close()
    worker = subprocess.Popen(
        [*CLI, "project", "--follow"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with serving(env, "--workers", "2") as api:
            yield Deployment(api.url, token, api.process, project_id, settings)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_two_api_processes_and_a_worker_record_each_command_once_in_every_view(
    deployment: Deployment, tmp_path: Path
) -> None:
    url, token, project_id, settings = (
        deployment.url,
        deployment.token,
        deployment.project_id,
        deployment.settings,
    )
    assert len(_children(deployment.api.pid)) >= 2  # uvicorn's worker processes

    def send(n: int) -> str | None:
        for _ in range(50):
            response = httpx.post(
                f"{url}/api/projects/{project_id}/milestones",
                json={"occurred_on": "2024-05-01", "title": f"m{n}"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            if response.status_code == 200:
                return f"m{n}"
            assert response.status_code == 409, response.text
        return None

    with ThreadPoolExecutor(8) as pool:
        acknowledged = [t for t in pool.map(send, range(60)) if t]
    assert len(acknowledged) == 60

    tracker = create_tracker(settings.model_copy(update={"create_schema": False}))
    read_side = create_read_side(settings.model_copy(update={"create_schema": False}), tracker)
    read_side.runner.wait_for(tracker.head(), timeout=60)
    with read_side.engine.connect() as conn:
        titles = list(
            conn.execute(
                select(entries.c.data).where(entries.c.event_type == "MilestoneLogged")
            ).scalars()
        )
    assert sorted(t["title"] for t in titles) == sorted(acknowledged)

    clean_engine = create_views_engine(Settings(data_dir=tmp_path / "clean"))
    clean = ProjectionRunner(tracker, clean_engine, all_projections(), page_size=10_000)
    clean.set_up()
    clean.rebuild()
    assert dump_views(read_side.engine) == dump_views(clean_engine)
    clean_engine.dispose()
    read_side.close()
    tracker.close()
