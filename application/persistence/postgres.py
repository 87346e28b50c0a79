"""The event store at scale: the library's PostgreSQL recorder plus the tracker's side tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.errors import LockNotAvailable
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from application.persistence.horizon import wait_until_deleted_rows_are_dead
from application.persistence.recorder import (
    StoredOutcome,
    command_key,
    new_person_keys,
    shredded_person_ids,
)
from application.personal_data import PersonKey

KEYS_TABLE = "person_keys"


class TrackerPostgresRecorder(PostgresApplicationRecorder):
    """Writes keyed command outcomes and person keys with the events."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        prefix = events_table_name.removesuffix("_events")
        schema = Identifier(self.datastore.schema)
        self.commands_table = Identifier(f"{prefix}_commands")
        self.keys_table = Identifier(KEYS_TABLE)
        self.events_table = Identifier(self.events_table_name)
        self.sql_create_statements += [
            # Earlier versions indexed each event's recorded time in a side table; the time is
            # in the event's own state, so the table only cost writes. Dropped by the upgrade.
            SQL("DROP TABLE IF EXISTS {s}.{t}").format(
                s=schema, t=Identifier(f"{prefix}_event_times")
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.{t} (key text PRIMARY KEY, "
                "fingerprint text NOT NULL, originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, entity_id uuid)"
            ).format(s=schema, t=self.commands_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.{t} (person_id uuid PRIMARY KEY, "
                "key bytea NOT NULL, created_at timestamptz NOT NULL)"
            ).format(s=schema, t=self.keys_table),
        ]
        self.schema = schema
        # A simple query (no parameters), so its three statements travel together.
        self._lock_and_notify = SQL("; ").join(
            [*self.lock_table_statements, SQL("NOTIFY {0}").format(Identifier(self.channel_name))]
        )
        # Data-modifying CTEs all run, in this one statement, under the lock taken before it.
        # The columns travel as arrays: the driver adapts those much faster than an array of
        # the library's composite type (a third of a pasted column's insert).
        self._insert_statement = SQL(
            "WITH new AS (INSERT INTO {s}.{e} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::{id}[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id) "
            "SELECT notification_id FROM new ORDER BY notification_id"
        ).format(s=schema, e=self.events_table, id=SQL(self.datastore.originator_id_type))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events and their side rows in one transaction, in four round trips.

        The same statements as the library's recorder (a lock timeout, the table lock that
        keeps notification ids in commit order, the notification, the insert returning the
        ids), sent as: ``BEGIN``; the lock and notification as one simple query; the events
        as one statement; ``COMMIT``.  The library's pipeline took more, and each exchange
        costs a round trip.  A duplicate version or idempotency key raises ``IntegrityError``
        through the datastore's error mapping, and nothing of the transaction remains.
        """
        if not stored_events or self.datastore.enable_db_functions:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        params = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._lock_and_notify)
            curs.execute(self._insert_statement, params, prepare=True)
            notification_ids = [row["notification_id"] for row in curs.fetchall()]
            self._write_side_rows(curs, stored_events, kwargs)
        if len(notification_ids) != len(stored_events):
            msg = f"Got {len(notification_ids)} notification ids for {len(stored_events)} events"
            raise ProgrammingError(msg)
        return notification_ids

    def _write_side_rows(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]
    ) -> None:
        """The keyed command's outcome and person keys, when the command has them."""
        key = command_key(kwargs)
        if key is not None:
            last = stored_events[-1]
            curs.execute(
                SQL("INSERT INTO {s}.{t} VALUES (%s, %s, %s, %s, %s)").format(
                    s=self.schema, t=self.commands_table
                ),
                (
                    key.key,
                    key.fingerprint,
                    last.originator_id,
                    last.originator_version,
                    key.entity_id,
                ),
            )
        keys = new_person_keys(kwargs)
        if keys:
            curs.executemany(self._insert_key_statement(), _key_rows(keys))
        shredded = shredded_person_ids(kwargs)
        if shredded:
            curs.execute(
                SQL("DELETE FROM {s}.{t} WHERE person_id = ANY(%s)").format(
                    s=self.schema, t=self.keys_table
                ),
                (shredded,),
            )

    def _insert_key_statement(self) -> Composed:
        return SQL("INSERT INTO {s}.{t} VALUES (%s, %s, %s)").format(
            s=self.schema, t=self.keys_table
        )

    def person_key(self, person_id: UUID) -> bytes | None:
        """The person's key, or None once it is deleted (or was never made)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT key FROM {s}.{t} WHERE person_id = %s").format(
                    s=self.schema, t=self.keys_table
                ),
                (person_id,),
            )
            row = curs.fetchone()
            return bytes(row["key"]) if row else None

    def person_keys(self) -> list[PersonKey]:
        """Every key still held, for backups."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT person_id, key, created_at FROM {s}.{t} ORDER BY person_id").format(
                    s=self.schema, t=self.keys_table
                )
            )
            return [
                PersonKey(r["person_id"], bytes(r["key"]), r["created_at"]) for r in curs.fetchall()
            ]

    def restore_person_keys(self, keys: list[PersonKey]) -> None:
        """Insert keys from a backup."""
        with self.datastore.transaction(commit=True) as curs:
            curs.executemany(self._insert_key_statement(), _key_rows(keys))

    def purge_deleted_keys(self) -> bool:
        """Rewrite the key table so no dead tuple still holds a deleted key.

        A plain ``VACUUM`` only marks a dead tuple's space as free, leaving its bytes in the
        page until something overwrites them; ``VACUUM FULL`` copies the live rows into a new
        file and drops the old one, once no transaction could still see the deleted row
        (``horizon``). The table is small (one row per person), so its brief exclusive lock
        is cheap. It must run outside a transaction (the pool's connections are in autocommit
        mode). False if an old transaction or a lock held on too long: purge again later.
        """
        timeout = SQL("SET lock_timeout = '{0}s'").format(self.datastore.lock_timeout or 5)
        with self.datastore.get_connection() as conn:

            def query(sql: str, params: dict[str, str] | None) -> list[Any]:
                row = conn.execute(sql, params).fetchone()
                return list(row.values()) if row else []

            if not wait_until_deleted_rows_are_dead(query):
                return False
            conn.execute(timeout)
            try:
                conn.execute(SQL("VACUUM FULL {s}.{t}").format(s=self.schema, t=self.keys_table))
            except LockNotAvailable:
                return False
            finally:
                conn.execute("RESET lock_timeout")
        return True

    def command_outcome(self, key: str) -> StoredOutcome | None:
        """The stored outcome of a keyed command, with its last event's notification id."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT k.fingerprint, k.originator_id, k.originator_version, k.entity_id, "
                    "e.notification_id FROM {s}.{k} k JOIN {s}.{e} e "
                    "ON e.originator_id = k.originator_id "
                    "AND e.originator_version = k.originator_version WHERE k.key = %s"
                ).format(s=self.schema, k=self.commands_table, e=self.events_table),
                (key,),
            )
            row = curs.fetchone()
            if row is None:
                return None
            return StoredOutcome(
                key=key,
                fingerprint=row["fingerprint"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                entity_id=row["entity_id"],
                notification_id=row["notification_id"],
            )

    def notification_ids(self, originator_id: UUID) -> dict[int, int]:
        """Each version of the aggregate mapped to its notification id."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT originator_version, notification_id FROM {s}.{e} "
                    "WHERE originator_id = %s"
                ).format(s=self.schema, e=self.events_table),
                (originator_id,),
            )
            return {r["originator_version"]: r["notification_id"] for r in curs.fetchall()}


def _key_rows(keys: Sequence[PersonKey]) -> list[tuple[UUID, bytes, datetime]]:
    return [(k.person_id, k.key, k.created_at) for k in keys]
