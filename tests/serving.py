"""Real processes for end-to-end tests: a free port, the environment, waiting for the API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import httpx2 as httpx

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain.values import Role
from tests.conftest import FELLOW, proposal, set_up_programme

CLI = [sys.executable, "-m", "interfaces.cli"]


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def impact_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment without IMPACT_* settings, plus the given store's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_")}
    env |= {"IMPACT_DATA_DIR": str(settings.data_dir), "IMPACT_LOG_LEVEL": "warning", **extra}
    if settings.database_url:
        env["IMPACT_DATABASE_URL"] = settings.database_url
    return env


def wait_until_up(url: str, timeout: float = 60) -> None:
    """Poll ``/api/health`` until the server answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class ServedProject:
    """A served app (``impact serve``), one proposed project and its lead fellow's token."""

    url: str
    token: str
    project_id: UUID
    settings: Settings


@contextmanager
def served_project(settings: Settings, *serve_args: str) -> Iterator[ServedProject]:
    """Propose a project, give its lead fellow an API token, serve the app; stop it after."""
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
        [*CLI, "serve", *serve_args, "--port", str(port)],
        env=impact_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        yield ServedProject(url, token, project_id, settings)
    finally:
        process.terminate()
        process.wait(timeout=30)
