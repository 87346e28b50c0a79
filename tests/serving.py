"""Real processes for end-to-end tests: a free port, the environment, waiting for the API."""

from __future__ import annotations

import os
import socket
import sys
import time

import httpx2 as httpx

from application.settings import Settings

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
