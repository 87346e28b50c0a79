"""Throwaway PostgreSQL databases for tests: created per test, dropped afterwards.

``IMPACT_TEST_POSTGRES_URL`` names a server and a database to connect to for administration
(default: the machine's local server).  When it can't be reached the PostgreSQL variants skip
with the reason, except under ``IMPACT_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get(
    "IMPACT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRED = os.environ.get("IMPACT_REQUIRE_POSTGRES") == "1"


def _reachable() -> str | None:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as e:
        return f"PostgreSQL at {ADMIN_URL} is unreachable ({str(e).strip().splitlines()[0]})"


@contextmanager
def throwaway_database() -> Iterator[str]:
    """Create an empty database, yield its URL, then drop it."""
    problem = _reachable()
    if problem:
        if REQUIRED:
            pytest.fail(problem + " and IMPACT_REQUIRE_POSTGRES=1")
        pytest.skip(problem + "; set IMPACT_TEST_POSTGRES_URL to run these tests")
    name = f"impact_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(ADMIN_URL)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
