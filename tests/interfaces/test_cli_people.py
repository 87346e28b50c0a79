"""``impact people show|erase``: erasing from the command line asks first and says what it did."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain import commands as c
from domain.values import Role
from interfaces.cli.main import app
from tests.conftest import ADMIN, START, set_up_programme

NAME = "Zebedee Quintrell-Apricot"
EMAIL = "zebedee.quintrell-apricot@example.org"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def fellow_id(data_dir: Path) -> Iterator[UUID]:
    settings = Settings(data_dir=data_dir)
    tracker = create_tracker(settings)
    identity = IdentityService(create_identity_engine(settings))
    try:
        programme = set_up_programme(tracker)
        found = tracker.enrol_fellow(
            ADMIN,
            c.EnrolFellow(
                occurred_on=START,
                cohort_id=programme.cohort_id,
                organisation_id=programme.trust_id,
                role_title="Discharge coordinator",
                name=NAME,
                email=EMAIL,
            ),
        ).aggregate_id
        identity.create_user(
            NewUser(user_id="zq", display_name=NAME, role=Role.FELLOW, fellow_id=found)
        )
        identity.create_user(NewUser(user_id="boss", display_name="Boss", role=Role.ADMIN))
        yield found
    finally:
        identity.close()
        tracker.close()


def impact(data_dir: Path, *args: str, answer: str | None = None) -> tuple[int, str]:
    """Run the CLI in-process; (exit code, everything it printed)."""
    result = CliRunner().invoke(
        app,
        list(args),
        input=answer,
        env={"IMPACT_DATA_DIR": str(data_dir), "COLUMNS": "200"},
    )
    return result.exit_code, result.output


def test_erase_asks_first_and_erases_nothing_without_a_yes(data_dir: Path, fellow_id: UUID) -> None:
    code, output = impact(data_dir, "people", "erase", str(fellow_id), answer="n\n")

    assert code == 1
    assert f"Erase the personal details of fellow {fellow_id}" in output
    assert "Nothing erased: not confirmed." in output
    code, shown = impact(data_dir, "people", "show", str(fellow_id))
    assert code == 0
    assert NAME in shown
    assert EMAIL in shown


def test_erase_after_confirmation_says_what_it_did_and_show_reads_erased(
    data_dir: Path, fellow_id: UUID
) -> None:
    code, output = impact(data_dir, "people", "erase", str(fellow_id), "--by", "boss", answer="y\n")

    assert code == 0, output
    assert "destroyed their key, so their name and email can never be read again" in output
    assert 'Anonymised 1 account(s) (zq): renamed "Erased person", disabled' in output
    code, shown = impact(data_dir, "people", "show", str(fellow_id))
    assert code == 0
    assert "[erased]" in shown
    assert NAME not in shown
    code, listed = impact(data_dir, "users", "list")
    assert code == 0
    assert "Erased person" in listed
    assert NAME not in listed
    code, again = impact(data_dir, "people", "erase", str(fellow_id))
    assert code == 0
    assert "was already erased on" in again


def test_erase_with_yes_does_not_ask(data_dir: Path, fellow_id: UUID) -> None:
    code, output = impact(
        data_dir, "people", "erase", str(fellow_id), "--yes", "--reason", "enrolled_in_error"
    )
    assert code == 0, output
    assert "Erase the personal details" not in output
    assert "reason: enrolled_in_error" in output


def test_erase_by_someone_not_an_admin_is_refused(data_dir: Path, fellow_id: UUID) -> None:
    result = CliRunner().invoke(
        app,
        ["people", "erase", str(fellow_id), "--yes", "--by", "zq"],
        env={"IMPACT_DATA_DIR": str(data_dir)},
    )
    assert result.exit_code != 0
    assert "--by must name an enabled admin account" in str(result.exception)
    _, shown = impact(data_dir, "people", "show", str(fellow_id))
    assert NAME in shown


def test_db_upgrade_creates_the_key_table(data_dir: Path) -> None:
    code, output = impact(data_dir, "db", "upgrade")
    assert code == 0, output
    with closing(sqlite3.connect(data_dir / "events.sqlite")) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(person_keys)")]
    assert columns == ["person_id", "key", "created_at"]
