"""Settings choose the event store by one URL, and refuse nonsense clearly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from application.settings import Settings


@pytest.fixture(autouse=True)
def _no_impact_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("IMPACT_")]:
        monkeypatch.delenv(name)


def test_the_default_is_sqlite_under_the_data_directory() -> None:
    settings = Settings(_env_file=None)
    assert settings.engine == "sqlite"
    assert settings.sqlite_path == Path("var") / "events.sqlite"
    assert settings.event_store_env()["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"


def test_a_postgresql_url_switches_the_event_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPACT_DATABASE_URL", "postgresql://app:s%40cret@db.internal:6543/impact")
    env = Settings(_env_file=None).event_store_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal",
        "6543",
        "impact",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("app", "s@cret")


def test_an_unknown_database_scheme_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="database_url must start with"):
        Settings(database_url="mysql://x/y")


def test_creating_settings_touches_no_disk(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path / "not-yet")
    assert not (tmp_path / "not-yet").exists()
