"""Real processes for end-to-end tests: a free port, the environment, a served app.

Ports come from below the kernel's ephemeral range: a port picked from that range (binding
port 0) can be taken by any outgoing connection (a PostgreSQL client, say) before the server
binds it, and the server then dies with "address already in use" — seen once in CI.
A server that exits before it answers fails the test at once, with the tail of its log.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx2 as httpx

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain.values import Role
from tests.conftest import FELLOW, proposal, set_up_programme

CLI = [sys.executable, "-m", "interfaces.cli"]
_LOWEST_PORT = 20_000


def _ephemeral_start() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A loopback port nothing listens on, outside the range outgoing connections draw from."""
    top = max(_ephemeral_start(), _LOWEST_PORT + 1_000)
    for _ in range(200):
        port = random.randrange(_LOWEST_PORT, top)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    msg = f"no free port between {_LOWEST_PORT} and {top}"
    raise RuntimeError(msg)


def impact_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment without IMPACT_* settings, plus the given store's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_")}
    env |= {"IMPACT_DATA_DIR": str(settings.data_dir), "IMPACT_LOG_LEVEL": "warning", **extra}
    if settings.database_url:
        env["IMPACT_DATABASE_URL"] = settings.database_url
    return env


class ServerExitedError(RuntimeError):
    """The served process ended before it answered."""


@dataclass
class Server:
    """A running ``impact`` process, the URL it answers on and the file its output goes to."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the process printed."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_up(self, timeout: float = 120) -> None:
        """Poll ``/api/health`` until it answers; fail at once if the process has ended."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                if self.process.poll() is not None:
                    msg = f"exited with {self.process.returncode}:\n{self.log_tail()}"
                    raise ServerExitedError(msg) from None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Terminate the process (if it is still running) and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)


def start_server(env: Mapping[str, str], *args: str) -> Server:
    """Start ``impact serve ARGS --port P`` on a free port; its output goes to a log file."""
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="impact-serve-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [*CLI, "serve", *args, "--port", str(port)],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(f"http://127.0.0.1:{port}", process, Path(log.name))


@contextmanager
def serving(env: Mapping[str, str], *args: str) -> Iterator[Server]:
    """A served app, up and answering, for the ``with`` block; stopped after, however it ends."""
    server = start_server(env, *args)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)


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
    with serving(impact_env(settings), *serve_args) as server:
        yield ServedProject(server.url, token, project_id, settings)
