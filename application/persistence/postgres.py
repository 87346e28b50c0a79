"""The event store at scale: the library's PostgreSQL recorder plus the tracker's side tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from application.persistence.recorder import StoredOutcome, command_key, timestamp_rows


class TrackerPostgresRecorder(PostgresApplicationRecorder):
    """Writes the recorded-time index and keyed command outcomes with the events."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        prefix = events_table_name.removesuffix("_events")
        schema = Identifier(self.datastore.schema)
        self.times_table = Identifier(f"{prefix}_event_times")
        self.commands_table = Identifier(f"{prefix}_commands")
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
        return notification_ids

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
