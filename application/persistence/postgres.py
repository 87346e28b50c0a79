"""The event store at scale: the library's PostgreSQL recorder plus the tracker's side tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
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
    timestamp_rows,
)
from application.personal_data import PersonKey

KEYS_TABLE = "person_keys"


class TrackerPostgresRecorder(PostgresApplicationRecorder):
    """Writes the recorded-time index and keyed command outcomes with the events."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        prefix = events_table_name.removesuffix("_events")
        schema = Identifier(self.datastore.schema)
        self.times_table = Identifier(f"{prefix}_event_times")
        self.commands_table = Identifier(f"{prefix}_commands")
        self.keys_table = Identifier(KEYS_TABLE)
        self.events_table = Identifier(self.events_table_name)
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.{t} (originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, recorded_at timestamptz NOT NULL, "
                "PRIMARY KEY (originator_id, originator_version))"
            ).format(s=schema, t=self.times_table),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {s}.{t} (originator_id, recorded_at)").format(
                i=Identifier(f"{prefix}_event_times_by_time"), s=schema, t=self.times_table
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

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """After the events (and under their table lock), write the side rows.

        The nested pipeline block syncs before returning, so a duplicate idempotency key is
        raised here, inside the library's error handling, as an ``IntegrityError``.
        """
        notification_ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        with curs.connection.pipeline():
            rows = timestamp_rows(kwargs)
            if rows:
                curs.executemany(
                    SQL("INSERT INTO {s}.{t} VALUES (%s, %s, %s)").format(
                        s=self.schema, t=self.times_table
                    ),
                    rows,
                )
            key = command_key(kwargs)
            if key is not None and stored_events:
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
        return notification_ids

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

    def version_at(self, originator_id: UUID, recorded_at: datetime) -> int | None:
        """The last version recorded at or before ``recorded_at``."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT MAX(originator_version) AS v FROM {s}.{t} "
                    "WHERE originator_id = %s AND recorded_at <= %s"
                ).format(s=self.schema, t=self.times_table),
                (originator_id, recorded_at),
            )
            row = curs.fetchone()
            return int(row["v"]) if row and row["v"] is not None else None

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
