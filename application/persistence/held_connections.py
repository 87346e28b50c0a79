"""A driver cursor for the per-request reads: on a SQLite file, from a connection each thread keeps.

Every API request looks its user up, and the busiest read (a timeline page) is one statement:
taking a connection from SQLAlchemy's pool and giving it back (checkout, reset-on-return
rollback, the pool's events) cost as much as such a statement. A SQLite connection is a file
handle and a page cache, cheap to keep, so each thread that reads keeps one, taken from the
engine (with the engine's ``connect`` pragmas) and detached from its pool. Each use gets a fresh
cursor and closes it, so no statement, and so no read snapshot, outlives the read.

PostgreSQL connections go through the pool as before: they are a server's resource, and the
pool checks them before use (``pool_pre_ping``). Disposing of the engine closes every kept
connection; a thread then takes a new one.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.pool import PoolProxiedConnection


class _Held:
    """The connections one engine's threads keep, and the lock that guards their list."""

    def __init__(self, engine: Engine) -> None:
        self.engine = weakref.ref(engine)  # the engine keeps this (its listener), not both ways
        self.local = threading.local()
        self.lock = threading.Lock()
        self.kept: list[PoolProxiedConnection] = []
        self.generation = 0

    def connection(self) -> Any:
        """The calling thread's driver connection, taken from the engine on first use."""
        mine: tuple[int, Any] | None = getattr(self.local, "connection", None)
        if mine is not None and mine[0] == self.generation:
            return mine[1]
        engine = self.engine()
        assert engine is not None, "read_cursor holds the engine while it reads"
        proxied = engine.raw_connection()
        proxied.detach()  # the pool forgets it: it is closed by ``release`` only
        with self.lock:
            self.kept.append(proxied)
            generation = self.generation
        self.local.connection = (generation, proxied.dbapi_connection)
        return proxied.dbapi_connection

    def release(self) -> None:
        """Close every kept connection; threads take new ones on their next read."""
        with self.lock:
            kept, self.kept = self.kept, []
            self.generation += 1
        for proxied in kept:
            proxied.close()


_HELD: weakref.WeakKeyDictionary[Engine, _Held] = weakref.WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def _keeps_connections(engine: Engine) -> bool:
    """A SQLite file: an in-memory database lives in the pool's one connection."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and database not in (None, "", ":memory:")


def _held(engine: Engine) -> _Held:
    found = _HELD.get(engine)
    if found is not None:
        return found
    with _HELD_LOCK:
        found = _HELD.get(engine)
        if found is None:
            found = _HELD[engine] = _Held(engine)
            event.listen(engine, "engine_disposed", lambda _engine: found.release())
    return found


@contextmanager
def read_cursor(engine: Engine) -> Iterator[Any]:
    """A driver cursor for a short read, closed afterwards.

    Reads only: a kept SQLite connection runs each statement in its own implicit transaction,
    and nothing here commits.
    """
    if not _keeps_connections(engine):
        with closing(engine.raw_connection()) as connection, closing(connection.cursor()) as cur:
            yield cur
        return
    with closing(_held(engine).connection().cursor()) as cursor:
        yield cursor


K = TypeVar("K")
V = TypeVar("V")


class ReadsUntilChanged(Generic[K, V]):
    """Answers read from a SQLite file, kept by each thread until anything changes the file.

    Every API request looks its bearer token's user up; between changes to the accounts (a
    token created or revoked, a sign-in, an account disabled) the answer is the same. SQLite
    counts, per connection, the commits other connections make (``PRAGMA data_version``, no
    table read): each thread keeps its answers beside the count its kept connection saw, and
    drops them all when the count moves. A change committed anywhere, by this process or
    another, is seen by the next read. Nothing is kept for a PostgreSQL or in-memory database,
    nor a missing answer (an unknown key), and at most ``limit`` answers per thread.
    """

    def __init__(self, engine: Engine, limit: int = 10_000) -> None:
        self.engine = engine
        self.limit = limit
        self.local = threading.local()
        self.keeps = _keeps_connections(engine)  # the engine's URL never changes

    def get(self, key: K, read: Callable[[Any], V | None]) -> V | None:
        """The answer for ``key``: kept, or ``read`` on a driver cursor (and kept if found)."""
        if not self.keeps:
            with read_cursor(self.engine) as cursor:
                return read(cursor)
        connection = _held(self.engine).connection()
        local = self.local
        with closing(connection.cursor()) as cursor:
            (version,) = cursor.execute("PRAGMA data_version").fetchone()
            if getattr(local, "connection", None) is not connection or local.version != version:
                local.connection, local.version, local.answers = connection, version, {}
            elif key in local.answers:
                found: V = local.answers[key]
                return found
            answer = read(cursor)
        if answer is not None and len(local.answers) < self.limit:
            local.answers[key] = answer
        return answer
