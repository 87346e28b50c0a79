"""The per-request user lookups (bearer token, session) on each engine's own driver.

``user_for_token`` and ``user_for_session`` run their compiled SQL on a driver
cursor and read the driver's values themselves: SQLite's hex UUIDs, JSON text and 0/1, and
psycopg's UUIDs, lists and booleans must both come back as the account ``get_user`` reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import update

from application.identity.service import (
    IdentityService,
    NewUser,
    create_identity_engine,
)
from application.identity.tables import sessions
from application.settings import Settings
from domain.values import Role

FELLOW_ID = uuid4()
ORGANISATIONS = [uuid4(), uuid4()]


@pytest.fixture
def identity(shared_settings: Settings) -> Iterator[IdentityService]:
    """An identity service with one sponsor (organisations) and one fellow (a fellow id)."""
    service = IdentityService(create_identity_engine(shared_settings))
    service.create_user(
        NewUser(
            user_id="sponsor-1",
            display_name="Sam Sponsor",
            role=Role.SPONSOR,
            organisation_ids=ORGANISATIONS,
        )
    )
    service.create_user(
        NewUser(user_id="fellow-1", display_name="Fay", role=Role.FELLOW, fellow_id=FELLOW_ID)
    )
    try:
        yield service
    finally:
        service.close()


def test_a_token_and_a_session_find_the_account_as_stored(identity: IdentityService) -> None:
    for user_id in ("sponsor-1", "fellow-1"):
        stored = identity.get_user(user_id)
        assert stored is not None
        assert identity.user_for_token(identity.create_token(user_id)) == stored
        assert identity.user_for_session(identity.start_session(user_id)) == stored
    found = identity.user_for_token(identity.create_token("sponsor-1"))
    assert found is not None
    assert found.organisation_ids == ORGANISATIONS
    assert identity.user_for_token("imp_never-issued") is None
    assert identity.user_for_session("never-started") is None


def test_a_revoked_token_finds_no_one(identity: IdentityService) -> None:
    token = identity.create_token("fellow-1")
    assert identity.user_for_token(token) is not None  # and kept, on SQLite
    identity.revoke_tokens("fellow-1")
    assert identity.user_for_token(token) is None


def test_a_session_is_found_until_it_expires(identity: IdentityService) -> None:
    session = identity.start_session("fellow-1")
    now = datetime.now(UTC).replace(tzinfo=None)
    for expires_at, found in ((now + timedelta(minutes=1), True), (now, False)):
        with identity.engine.begin() as conn:
            conn.execute(update(sessions).values(expires_at=expires_at))
        assert (identity.user_for_session(session) is not None) is found


def test_a_disabled_account_is_not_found_by_its_token_or_session(
    identity: IdentityService,
) -> None:
    token, session = identity.create_token("fellow-1"), identity.start_session("fellow-1")
    assert identity.user_for_token(token) is not None
    identity.anonymise_fellow_accounts(FELLOW_ID)
    assert identity.user_for_token(token) is None
    assert identity.user_for_session(session) is None


def test_a_token_revoked_through_another_engine_finds_no_one(
    identity: IdentityService, shared_settings: Settings
) -> None:
    """As the CLI revokes a token in its own process, while the API keeps its connections."""
    token = identity.create_token("fellow-1")
    assert identity.user_for_token(token) is not None
    elsewhere = IdentityService(create_identity_engine(shared_settings))
    try:
        elsewhere.revoke_tokens("fellow-1")
    finally:
        elsewhere.close()
    assert identity.user_for_token(token) is None
