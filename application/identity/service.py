"""Accounts, passwords (argon2 via pwdlib), API tokens and sessions.

Secrets handed to people (API tokens, session ids) are random and stored only as SHA-256
hashes; passwords only as argon2 hashes. Nothing here logs a secret.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from pwdlib import PasswordHash
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Engine, create_engine, event, select, update

from application.identity.tables import metadata, sessions, tokens, users
from application.settings import Settings
from domain.values import Actor, Role

UserIdText = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
]
SESSION_DAYS = 14


class User(BaseModel):
    """An account: who it is, what role it acts in, and what it is linked to."""

    user_id: str
    display_name: str
    role: Role
    fellow_id: UUID | None = None
    organisation_ids: list[UUID] = Field(default_factory=list)
    disabled: bool = False

    @property
    def actor(self) -> Actor:
        """How events refer to this user: id and role, never the name."""
        return Actor(user_id=self.user_id, role=self.role)


class NewUser(BaseModel):
    """What an admin gives to create an account."""

    user_id: UserIdText
    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ]
    role: Role
    password: Annotated[str, StringConstraints(min_length=10, max_length=200)] | None = None
    fellow_id: UUID | None = None
    organisation_ids: list[UUID] = Field(default_factory=list)


class IdentityError(Exception):
    """An identity operation refused (duplicate user, unknown user, weak input)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_identity_engine(settings: Settings) -> Engine:
    """The identity database: ``identity.sqlite`` in the data dir, or the PostgreSQL database."""
    if settings.engine == "postgresql":
        assert settings.database_url is not None
        return create_engine(
            "postgresql+psycopg://" + settings.database_url.split("://", 1)[1], pool_pre_ping=True
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{settings.data_dir / 'identity.sqlite'}", connect_args={"timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


class IdentityService:
    """Create and check accounts, tokens and sessions."""

    def __init__(self, engine: Engine, *, create_schema: bool = True) -> None:
        self.engine = engine
        self.hasher = PasswordHash.recommended()
        if create_schema:
            metadata.create_all(engine)
        # A hash to verify against when the user doesn't exist, so timing doesn't tell.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- users ---------------------------------------------------------------------------

    def create_user(self, new: NewUser) -> User:
        """Create an account; refuses an id already taken."""
        if self.get_user(new.user_id) is not None:
            msg = f"There is already a user {new.user_id}."
            raise IdentityError(msg)
        with self.engine.begin() as conn:
            conn.execute(
                users.insert().values(
                    user_id=new.user_id,
                    display_name=new.display_name,
                    role=new.role.value,
                    fellow_id=new.fellow_id,
                    organisation_ids=[str(o) for o in new.organisation_ids],
                    password_hash=self.hasher.hash(new.password) if new.password else None,
                    disabled=False,
                    created_at=_now(),
                )
            )
        user = self.get_user(new.user_id)
        assert user is not None
        return user

    def get_user(self, user_id: str) -> User | None:
        """An account by id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.user_id == user_id)).mappings().first()
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        """Every account, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.user_id)).mappings().all()
        return [_user(r) for r in rows]

    def count_users(self) -> int:
        """How many accounts exist."""
        return len(self.list_users())

    def check_password(self, user_id: str, password: str) -> User | None:
        """The user if the password is theirs (and the account is enabled), else None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.user_id == user_id)).mappings().first()
        if row is None or row["password_hash"] is None:
            self.hasher.verify(password, self._decoy)
            return None
        if not self.hasher.verify(password, row["password_hash"]) or row["disabled"]:
            return None
        return _user(row)

    # -- API tokens ----------------------------------------------------------------------

    def create_token(self, user_id: str, name: str = "api") -> str:
        """A new bearer token for the user, returned once (only its hash is kept)."""
        if self.get_user(user_id) is None:
            msg = f"There is no user {user_id}."
            raise IdentityError(msg)
        token = "imp_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                tokens.insert().values(
                    token_hash=_digest(token),
                    user_id=user_id,
                    name=name,
                    created_at=_now(),
                    revoked_at=None,
                )
            )
        return token

    def revoke_tokens(self, user_id: str) -> int:
        """Revoke every live token of the user; returns how many."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(tokens)
                .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
        return done.rowcount

    def user_for_token(self, token: str) -> User | None:
        """The enabled user a live token belongs to."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(users)
                    .join(tokens, tokens.c.user_id == users.c.user_id)
                    .where(
                        tokens.c.token_hash == _digest(token),
                        tokens.c.revoked_at.is_(None),
                        users.c.disabled.is_(False),
                    )
                )
                .mappings()
                .first()
            )
        return _user(row) if row else None

    # -- sessions ------------------------------------------------------------------------

    def start_session(self, user_id: str) -> str:
        """A new session id for the user (a fresh one at every sign-in)."""
        session = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    session_hash=_digest(session),
                    user_id=user_id,
                    created_at=_now(),
                    expires_at=_now() + timedelta(days=SESSION_DAYS),
                )
            )
        return session

    def user_for_session(self, session: str) -> User | None:
        """The enabled user of a live session."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(users)
                    .join(sessions, sessions.c.user_id == users.c.user_id)
                    .where(
                        sessions.c.session_hash == _digest(session),
                        sessions.c.expires_at > _now(),
                        users.c.disabled.is_(False),
                    )
                )
                .mappings()
                .first()
            )
        return _user(row) if row else None

    def end_session(self, session: str) -> None:
        """Invalidate a session (sign-out)."""
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.session_hash == _digest(session)))


def _user(row: object) -> User:
    data = dict(row)  # type: ignore[call-overload]
    return User(
        user_id=data["user_id"],
        display_name=data["display_name"],
        role=Role(data["role"]),
        fellow_id=data["fellow_id"],
        organisation_ids=[UUID(o) for o in data["organisation_ids"]],
        disabled=data["disabled"],
    )
