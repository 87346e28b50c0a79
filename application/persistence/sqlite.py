"""The embedded event store: the library's SQLite recorder plus the tracker's side tables."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, BinaryIO
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteCursor,
    SQLiteDatastore,
)

from application.persistence.ids import parse_uuid
from application.persistence.recorder import (
    StoredOutcome,
    command_key,
    new_person_keys,
    shredded_person_ids,
)
from application.personal_data import PersonKey

# Earlier versions indexed every event's recorded time in a side table; the time is in each
# event's own state, so the table only cost two more B-tree writes per event. Dropped at set-up.
RETIRED_TIMES_TABLE = "impact_event_times"
COMMANDS_TABLE = "impact_commands"
KEYS_TABLE = "person_keys"
CHECKPOINT_ATTEMPTS = 20
WRITER_STATEMENT_CACHE = 32


def _sortable(when: datetime) -> str:
    """UTC with fixed-width microseconds, so string order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class TrackerSQLiteRecorder(SQLiteApplicationRecorder):
    """Writes keyed command outcomes and person keys with the events."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._writer: SQLiteConnection | None = None
        self._writer_lock = threading.Lock()
        self._turn_file: BinaryIO | None = None

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert through a writer connection of the recorder's own, one transaction at a time.

        SQLite lets one connection write at a time anyway; the library's pool, taken for every
        write, cost more than the insert itself, and its connections cache a single prepared
        statement (``cached_statements=True`` is a cache of one), so each write prepared its
        statements again. The transaction is the library's own (``BEGIN``, commit or roll
        back, its errors), so a duplicate version still raises ``IntegrityError``.
        """
        if self.datastore.pool.is_sqlite_memory_mode:
            return super().insert_events(stored_events, **kwargs)
        with (
            self._writer_lock,
            self._turn(),
            self._writer_connection().transaction(commit=True) as c,
        ):
            return self._insert_events(c, stored_events, **kwargs)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Take turns with the other processes writing this store.

        SQLite's own wait for its write lock polls (sleeping 1, 2, 5 ... 100 ms), so a process
        writing back to back took the lock again before a sleeping one woke, and several
        processes' writes came in long runs of one. Waiting on a file lock instead, the kernel
        wakes a waiting writer as soon as the lock is let go.
        """
        if self._turn_file is None:
            self._turn_file = open(f"{self.datastore.pool.db_name}-writers", "a+b")  # noqa: SIM115
        fcntl.flock(self._turn_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._turn_file, fcntl.LOCK_UN)

    def convert_originator_id(self, originator_id: str) -> UUID | str:
        """The stored id as a UUID, remembered: a stream's id comes back with each of its events.

        The library builds a new ``UUID`` for every event it reads, a visible share of reading
        the log (a rebuild reads each project's id about 90 times).
        """
        if self.datastore.originator_id_type == "uuid":
            return parse_uuid(originator_id)
        return originator_id

    def _writer_connection(self) -> SQLiteConnection:
        if self._writer is None:
            pool = self.datastore.pool
            conn = sqlite3.connect(
                pool.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                cached_statements=WRITER_STATEMENT_CACHE,
                timeout=pool.lock_timeout or 5,
            )
            conn.row_factory = sqlite3.Row
            self._writer = SQLiteConnection(conn, max_age=None)
        return self._writer

    def close_writer(self) -> None:
        """Close the writer connection (the tracker closes it with the store)."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._turn_file is not None:
                self._turn_file.close()
                self._turn_file = None

    def construct_create_table_statements(self) -> list[str]:
        """The library's events table, then command outcomes and person keys."""
        return [
            *super().construct_create_table_statements(),
            f"DROP TABLE IF EXISTS {RETIRED_TIMES_TABLE}",
            f"CREATE TABLE IF NOT EXISTS {COMMANDS_TABLE} ("
            "key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, entity_id TEXT) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} ("
            "person_id TEXT PRIMARY KEY, key BLOB NOT NULL, created_at TEXT NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        key = command_key(kwargs)
        if key is not None and stored_events:
            last = stored_events[-1]
            c.execute(
                f"INSERT INTO {COMMANDS_TABLE} VALUES (?, ?, ?, ?, ?)",
                (
                    key.key,
                    key.fingerprint,
                    UUID(str(last.originator_id)).hex,
                    last.originator_version,
                    key.entity_id.hex if key.entity_id else None,
                ),
            )
        keys, shredded = new_person_keys(kwargs), shredded_person_ids(kwargs)
        if keys or shredded:
            # Overwrite freed space with zeros (deleted keys, cells moved by page splits)
            # instead of leaving old bytes in the file; it stays on for this connection.
            c.execute("PRAGMA secure_delete=ON")
            self._insert_keys(c, keys)
            c.executemany(
                f"DELETE FROM {KEYS_TABLE} WHERE person_id = ?", [(p.hex,) for p in shredded]
            )
        return notification_ids

    @staticmethod
    def _insert_keys(c: SQLiteCursor, keys: Sequence[PersonKey]) -> None:
        c.executemany(
            f"INSERT INTO {KEYS_TABLE} VALUES (?, ?, ?)",
            [(k.person_id.hex, k.key, _sortable(k.created_at)) for k in keys],
        )

    def person_key(self, person_id: UUID) -> bytes | None:
        """The person's key, or None once it is deleted (or was never made)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT key FROM {KEYS_TABLE} WHERE person_id = ?", (person_id.hex,))
            row = c.fetchone()
            return bytes(row["key"]) if row else None

    def person_keys(self) -> list[PersonKey]:
        """Every key still held, for backups."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT person_id, key, created_at FROM {KEYS_TABLE} ORDER BY person_id")
            return [
                PersonKey(
                    UUID(r["person_id"]),
                    bytes(r["key"]),
                    datetime.fromisoformat(r["created_at"]).replace(tzinfo=UTC),
                )
                for r in c.fetchall()
            ]

    def restore_person_keys(self, keys: list[PersonKey]) -> None:
        """Insert keys from a backup."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
            self._insert_keys(c, keys)

    def purge_deleted_keys(self) -> bool:
        """Empty the write-ahead log, whose older frames may still hold deleted keys.

        ``secure_delete`` already zeroed the rows in the pages written since; a ``TRUNCATE``
        checkpoint copies those pages into the database file and cuts the log to zero bytes.
        It waits for readers to finish, so under load it may report busy: then retry.
        """
        if self.datastore.pool.is_sqlite_memory_mode:
            return True
        for _ in range(CHECKPOINT_ATTEMPTS):
            with self.datastore.get_connection(commit=True) as conn:
                cursor = conn.cursor()
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy = cursor.fetchone()[0]
            if not busy:
                return True
            time.sleep(0.05)
        return False

    def command_outcome(self, key: str) -> StoredOutcome | None:
        """The stored outcome of a keyed command, with its last event's notification id."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT k.fingerprint, k.originator_id, k.originator_version, k.entity_id, "
                f"e.rowid AS notification_id FROM {COMMANDS_TABLE} k "
                f"JOIN {self.events_table_name} e ON e.originator_id = k.originator_id "
                "AND e.originator_version = k.originator_version WHERE k.key = ?",
                (key,),
            )
            row = c.fetchone()
            if row is None:
                return None
            return StoredOutcome(
                key=key,
                fingerprint=row["fingerprint"],
                originator_id=UUID(row["originator_id"]),
                originator_version=row["originator_version"],
                entity_id=UUID(row["entity_id"]) if row["entity_id"] else None,
                notification_id=row["notification_id"],
            )

    def notification_ids(self, originator_id: UUID) -> dict[int, int]:
        """Each version of the aggregate mapped to its notification id."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, rowid AS notification_id "
                f"FROM {self.events_table_name} WHERE originator_id = ?",
                (originator_id.hex,),
            )
            return {r["originator_version"]: r["notification_id"] for r in c.fetchall()}
