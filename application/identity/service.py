"""Accounts, passwords (argon2 via pwdlib), API tokens and sessions.

Secrets handed to people (API tokens, session ids) are random and stored only as SHA-256
hashes; passwords only as argon2 hashes. Nothing here logs a secret.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from pwdlib import PasswordHash
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Engine, Select, bindparam, create_engine, event, select, update
from sqlalchemy.exc import OperationalError

from application.identity.tables import metadata, sessions, tokens, users
from application.persistence.held_connections import ReadsUntilChanged, read_cursor
from application.persistence.horizon import wait_until_deleted_rows_are_dead
from application.settings import Settings
from domain.values import Actor, Role

ERASED_DISPLAY_NAME = "Erased person"
PURGE_ATTEMPTS = 20
_USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
UserIdText = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=f"^{_USER_ID.pattern}$")
]
SESSION_DAYS = 14


class User(BaseModel):
    """An account: who it is, what role it acts in, and what it is linked to.

    Frozen: a token's user is kept between requests (``IdentityService.user_for_token``).
    """

    model_config = ConfigDict(frozen=True)

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


@dataclass(frozen=True)
class AnonymisedAccounts:
    """The accounts an erasure anonymised, and whether the old rows were purged from disk."""

    user_ids: list[str]
    purged: bool


class IdentityError(Exception):
    """An identity operation refused (duplicate user, unknown user, weak input)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Every API request looks its user up: built once, these skip building the query per request,
# and select only what a ``User`` holds.
_USER_COLUMNS = (
    users.c.user_id,
    users.c.display_name,
    users.c.role,
    users.c.fellow_id,
    users.c.organisation_ids,
    users.c.disabled,
)
_TOKEN_USER = (
    select(*_USER_COLUMNS)
    .join(tokens, tokens.c.user_id == users.c.user_id)
    .where(
        tokens.c.token_hash == bindparam("digest"),
        tokens.c.revoked_at.is_(None),
        users.c.disabled.is_(False),
    )
)
_SESSION_USER = (
    select(*_USER_COLUMNS)
    .join(sessions, sessions.c.user_id == users.c.user_id)
    .where(
        sessions.c.session_hash == bindparam("digest"),
        sessions.c.expires_at > bindparam("now"),
        users.c.disabled.is_(False),
    )
)


class _Lookup:
    """A per-request query, compiled once for the engine's driver and run on its own cursor.

    Through SQLAlchemy's execution and result layers the user lookup cost several times the
    query itself, on every API request; here a driver cursor runs the compiled
    SQL with the parameters as the column types bind them (on SQLite, a connection the thread
    keeps: ``application.persistence.held_connections``), and the row comes back as the
    driver reads it (``_user_from_driver`` takes either driver's values).
    """

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.engine = engine
        self.sql = str(compiled)
        self.positions = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
            if processor is not None:
                self.processors[name] = processor

    def first(self, **values: Any) -> tuple[Any, ...] | None:
        """The first row for these parameter values, or None."""
        with read_cursor(self.engine) as cursor:
            return self.first_on(cursor, **values)

    def first_on(self, cursor: Any, **values: Any) -> tuple[Any, ...] | None:
        """The first row for these parameter values, on the caller's driver cursor."""
        bound = {
            name: self.processors[name](value) if name in self.processors else value
            for name, value in values.items()
        }
        params = bound if self.positions is None else tuple(bound[n] for n in self.positions)
        cursor.execute(self.sql, params)
        row = cursor.fetchone()
        return None if row is None else tuple(row)


def _user_from_driver(row: tuple[Any, ...]) -> User:
    """A user from ``_USER_COLUMNS`` as either driver reads them.

    SQLite gives a UUID's hex digits, JSON as text and booleans as 0 or 1; psycopg gives
    UUIDs, decoded JSON and booleans. The model's validation takes both.
    """
    user_id, display_name, role, fellow_id, organisations, disabled = row
    if isinstance(organisations, str):
        organisations = json.loads(organisations)
    return User(
        user_id=user_id,
        display_name=display_name,
        role=Role(role),
        fellow_id=fellow_id,
        organisation_ids=organisations,
        disabled=bool(disabled),
    )


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
        # Overwrite freed space with zeros, so an erased person's old display name doesn't
        # linger in the file's free space after their account is anonymised.
        cursor.execute("PRAGMA secure_delete=ON")
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
        self._token_user = _Lookup(engine, _TOKEN_USER)
        self._token_users: ReadsUntilChanged[str, User] = ReadsUntilChanged(engine)
        self._session_user = _Lookup(engine, _SESSION_USER)

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

    def anonymise_fellow_accounts(self, fellow_id: UUID) -> AnonymisedAccounts:
        """Anonymise the accounts of an erased fellow.

        Each keeps its user id (events name actors by it) but its display name becomes
        ``ERASED_DISPLAY_NAME``, it is disabled and loses its password; its API tokens and
        sessions are deleted, not just revoked. Then the database is purged of the old rows
        (see ``_purge``). Safe to repeat.
        """
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(select(users.c.user_id).where(users.c.fellow_id == fellow_id))
                .scalars()
                .all()
            )
            if ids:
                conn.execute(
                    update(users)
                    .where(users.c.user_id.in_(ids))
                    .values(display_name=ERASED_DISPLAY_NAME, disabled=True, password_hash=None)
                )
                conn.execute(tokens.delete().where(tokens.c.user_id.in_(ids)))
                conn.execute(sessions.delete().where(sessions.c.user_id.in_(ids)))
        return AnonymisedAccounts(user_ids=ids, purged=self._purge())

    def _purge(self) -> bool:
        """Leave no copy of changed or deleted rows in the database files; False: retry later.

        SQLite (``secure_delete`` on every connection) zeroes the old rows in the pages it
        rewrites; a ``TRUNCATE`` checkpoint then empties the write-ahead log, whose older
        frames still hold them (it needs a moment without readers). PostgreSQL rewrites the
        accounts table (``VACUUM FULL``, outside a transaction) once no transaction could
        still see the old row, so no dead tuple keeps the old name; it waits a few seconds at
        most for that and for its lock.
        """
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if self.engine.dialect.name == "sqlite":
                for _ in range(PURGE_ATTEMPTS):
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
                    if not busy:
                        return True
                    time.sleep(0.05)
                return False

            def query(sql: str, params: dict[str, str] | None) -> tuple[Any, ...]:
                result = conn.exec_driver_sql(sql, params) if params else conn.exec_driver_sql(sql)
                return tuple(result.one())

            if not wait_until_deleted_rows_are_dead(query):
                return False
            conn.exec_driver_sql("SET lock_timeout = '5s'")
            try:
                conn.exec_driver_sql(f"VACUUM FULL {users.name}")
            except OperationalError:
                return False
            finally:
                conn.exec_driver_sql("RESET lock_timeout")
            return True

    def count_users(self) -> int:
        """How many accounts exist."""
        return len(self.list_users())

    def check_password(self, user_id: str, password: str) -> User | None:
        """The user if the password is theirs (and the account is enabled), else None.

        A user id no account could have (one with a NUL, which PostgreSQL would refuse to even
        look up) is answered like an unknown one, after the same decoy hash.
        """
        if not _USER_ID.fullmatch(user_id):
            self.hasher.verify(password, self._decoy)
            return None
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
        """The enabled user a live token belongs to.

        On SQLite the answer is kept until the accounts database next changes (any token,
        session or account written, by any process), so a revocation holds from the next
        request on.
        """
        digest = _digest(token)

        def read(cursor: Any) -> User | None:
            row = self._token_user.first_on(cursor, digest=digest)
            return _user_from_driver(row) if row else None

        return self._token_users.get(digest, read)

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
        row = self._session_user.first(digest=_digest(session), now=_now())
        return _user_from_driver(row) if row else None

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
