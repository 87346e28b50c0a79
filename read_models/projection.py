"""The projection base: a view that applies a page of events inside the runner's transaction.

A projection never commits: the runner opens one transaction per page, calls ``apply`` and then
moves the view's position, so rows and position land together or not at all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, ClassVar

from sqlalchemy import Column, Connection, Engine, MetaData, Table, bindparam, tuple_, update

from read_models.envelope import Envelope

Row = dict[str, Any]
_CHUNK = 500


def utc_naive(moment: datetime) -> datetime:
    """Recorded times are stored as naive UTC, the same on SQLite and PostgreSQL."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Projection(ABC):
    """One view: its tables, the event types it reads, and how a page changes its rows."""

    name: ClassVar[str]
    metadata: ClassVar[MetaData]
    event_types: ClassVar[frozenset[str] | None]  # None: every event
    version: ClassVar[int] = 1  # bump when the tables change: the view is then rebuilt

    def create(self, engine: Engine) -> None:
        """Create the view's tables if missing."""
        self.metadata.create_all(engine)

    def drop(self, conn: Connection) -> None:
        """Drop the view's tables (a rebuild replays them from the log)."""
        self.metadata.drop_all(conn)

    def recreate(self, conn: Connection) -> None:
        """Drop and create the view's tables inside the caller's transaction."""
        self.metadata.drop_all(conn)
        self.metadata.create_all(conn)

    @abstractmethod
    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Apply one page of events (already filtered to ``event_types``), without committing."""


class RowCache:
    """The rows of one table that a page touches, loaded once and written back once.

    Pages change the same rows many times (a project's counters, a measurement's value);
    keeping them in memory and writing each once per page is what makes rebuilds fast.
    """

    def __init__(self, conn: Connection, table: Table, *keys: str) -> None:
        self.conn = conn
        self.table = table
        self.keys = keys
        self.rows: dict[tuple[Any, ...], Row] = {}
        self.stored: set[tuple[Any, ...]] = set()
        self.dirty: set[tuple[Any, ...]] = set()

    def key_of(self, row: Row) -> tuple[Any, ...]:
        """The row's primary key."""
        return tuple(row[k] for k in self.keys)

    def load(self, keys: Iterable[tuple[Any, ...]]) -> None:
        """Fetch the stored rows for these keys (those not already in memory)."""
        wanted = [k for k in set(keys) if k not in self.rows]
        columns = [self.table.c[k] for k in self.keys]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            where = (
                columns[0].in_([k[0] for k in chunk])
                if len(columns) == 1
                else tuple_(*columns).in_(chunk)
            )
            for found in self.conn.execute(self.table.select().where(where)).mappings():
                row = dict(found)
                key = self.key_of(row)
                self.rows[key] = row
                self.stored.add(key)

    def get(self, *key: Any) -> Row | None:
        """A loaded or added row, to read and change (then ``touch`` it)."""
        return self.rows.get(tuple(key))

    def add(self, row: Row) -> Row:
        """A new row, written at ``flush``."""
        key = self.key_of(row)
        self.rows[key] = row
        self.dirty.add(key)
        return row

    def touch(self, row: Row) -> None:
        """Mark a changed row for writing."""
        self.dirty.add(self.key_of(row))

    def flush(self) -> None:
        """Write every changed row: replace stored ones, insert new ones."""
        replaced = [k for k in self.dirty if k in self.stored]
        columns = [self.table.c[k] for k in self.keys]
        for start in range(0, len(replaced), _CHUNK):
            chunk = replaced[start : start + _CHUNK]
            where = (
                columns[0].in_([k[0] for k in chunk])
                if len(columns) == 1
                else tuple_(*columns).in_(chunk)
            )
            self.conn.execute(self.table.delete().where(where))
        insert_rows(self.conn, self.table, [self.rows[k] for k in self.dirty])
        self.stored |= self.dirty
        self.dirty.clear()


def insert_rows(conn: Connection, table: Table, rows: list[Row]) -> None:
    """Insert many rows; on SQLite straight through the driver's ``executemany``.

    SQLite gets the same conversions SQLAlchemy applies (its bind processors) without its
    per-row parameter machinery, a large share of a rebuild's time.
    """
    if not rows:
        return
    dialect = conn.dialect
    if dialect.name != "sqlite":  # psycopg adapts values itself (and batches executemany)
        conn.execute(table.insert(), rows)
        return
    columns = list(table.columns)
    processors = [c.type.bind_processor(dialect) for c in columns]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    preparer = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.format_column(c) for c in columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    get = itemgetter(*[c.name for c in columns])
    convert = [(i, p) for i, p in enumerate(processors) if p is not None]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = list(get(row))
        for i, process in convert:
            if values[i] is not None:
                values[i] = process(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


def update_rows(conn: Connection, key: Column[Any], rows: list[Row], *fields: str) -> None:
    """Set ``fields`` on the rows whose ``key`` column equals each row's ``"key"`` value."""
    if rows:
        conn.execute(
            update(key.table)
            .where(key == bindparam("key"))
            .values({f: bindparam(f) for f in fields}),
            rows,
        )
