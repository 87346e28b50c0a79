"""The projection base: a view that applies a page of events inside the runner's transaction.

A projection never commits: the runner opens one transaction per page, calls ``apply`` and then
moves the view's position, so rows and position land together or not at all.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Float,
    Index,
    MetaData,
    Table,
    Uuid,
    bindparam,
    inspect,
    tuple_,
    update,
)

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
        """Create the view's tables and indexes if missing (a killed rebuild leaves no indexes)."""
        self.metadata.create_all(engine)
        with engine.begin() as conn:
            self.create_indexes(conn)

    def drop(self, conn: Connection) -> None:
        """Drop the view's tables (a rebuild replays them from the log)."""
        self.metadata.drop_all(conn)

    def recreate(self, conn: Connection, *, indexes: bool = True) -> None:
        """Drop and create the view's tables inside the caller's transaction.

        Without ``indexes`` the tables get only their keys: a rebuild fills them first and
        builds the secondary indexes once at the end (``create_indexes``), which is much cheaper
        than keeping every index sorted through hundreds of thousands of inserts.
        """
        self.metadata.drop_all(conn)
        self.metadata.create_all(conn)
        if not indexes:
            for index in self.indexes():
                index.drop(conn)

    def indexes(self) -> list[Index]:
        """The view's secondary indexes (keys and unique constraints are not among them)."""
        return [index for table in self.metadata.sorted_tables for index in table.indexes]

    def create_indexes(self, conn: Connection) -> None:
        """Create whichever secondary indexes are missing."""
        tables = {t.name for t in self.metadata.sorted_tables}
        found = {
            index["name"]
            for (_, table), listed in inspect(conn).get_multi_indexes().items()
            if table in tables
            for index in listed
        }
        for index in self.indexes():
            if index.name not in found:
                index.create(conn)

    @abstractmethod
    def apply(self, conn: Connection, events: Sequence[Envelope]) -> None:
        """Apply one page of events (already filtered to ``event_types``), without committing."""


class RowCache:
    """The rows of one table that a page touches, loaded once and written back once.

    Pages change the same rows many times (a project's counters, a measurement's value);
    keeping them in memory and writing each once per page is what makes rebuilds fast. A row's
    key is its key column's value (a tuple of them for a composite key).
    """

    def __init__(self, conn: Connection, table: Table, *keys: str) -> None:
        self.conn = conn
        self.table = table
        self.keys = keys
        self.key_of: Callable[[Row], Any] = itemgetter(*keys)
        self.rows: dict[Any, Row] = {}
        self.stored: set[Any] = set()
        self.dirty: set[Any] = set()

    def _where(self, chunk: list[Any]) -> ColumnElement[bool]:
        columns = [self.table.c[k] for k in self.keys]
        if len(columns) == 1:
            return columns[0].in_(chunk)
        return tuple_(*columns).in_(chunk)

    def load(self, keys: Iterable[Any]) -> None:
        """Fetch the stored rows for these keys (those not already in memory)."""
        wanted = [k for k in set(keys) if k not in self.rows]
        for start in range(0, len(wanted), _CHUNK):
            where = self._where(wanted[start : start + _CHUNK])
            for found in self.conn.execute(self.table.select().where(where)).mappings():
                row = dict(found)
                key = self.key_of(row)
                self.rows[key] = row
                self.stored.add(key)

    def get(self, key: Any) -> Row | None:
        """A loaded or added row, to read and change (then ``touch`` it)."""
        return self.rows.get(key)

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
        for start in range(0, len(replaced), _CHUNK):
            self.conn.execute(
                self.table.delete().where(self._where(replaced[start : start + _CHUNK]))
            )
        insert_rows(self.conn, self.table, [self.rows[k] for k in self.dirty])
        self.stored |= self.dirty
        self.dirty.clear()


@dataclass(frozen=True)
class _InsertPlan:
    """A table's bulk insert for one dialect: the statement and a row-to-tuple converter."""

    sql: str
    convert: Callable[[Row], tuple[Any, ...]]


_plans: dict[tuple[str, Table], _InsertPlan] = {}

# Conversions SQLAlchemy's own bind processors make for SQLite, written as expressions on ``v``
# so the converter does them inline (checked against SQLAlchemy's in the tests).
_SQLITE_INLINE: dict[type[Any], str] = {
    Uuid: "'%032x' % v.int",  # what ``UUID.hex`` returns, without its property call
    Date: "v.isoformat()",
    DateTime: "v.isoformat(' ', 'microseconds')",
    Float: "float(v)",
    Boolean: "int(v)",
}


def _plan(dialect: Dialect, table: Table) -> _InsertPlan:
    """Build (once per table and dialect) the statement and converter ``insert_rows`` uses.

    The converter is generated source: one tuple expression per row, with each column's
    conversion inline, is several times faster than a loop over per-column processors, and
    conversion was the largest part of a rebuild's time.
    """
    key = (dialect.name, table)
    if key in _plans:
        return _plans[key]
    preparer = dialect.identifier_preparer
    columns = list(table.columns)
    listed = ", ".join(preparer.format_column(c) for c in columns)
    target = f"{preparer.format_table(table)} ({listed})"
    if dialect.name == "sqlite":
        sql = f"INSERT INTO {target} VALUES ({', '.join('?' * len(columns))})"
    else:
        sql = f"COPY {target} FROM STDIN"
    scope: dict[str, Any] = {}
    parts = []
    for i, column in enumerate(columns):
        value = f"row[{column.name!r}]"
        if dialect.name == "sqlite":
            inline = next(
                (e for t, e in _SQLITE_INLINE.items() if isinstance(column.type, t)), None
            )
            process = None if inline else column.type.bind_processor(dialect)
        else:  # psycopg's COPY adapts Python values itself; JSON is sent as its text
            inline = "_json(v)" if isinstance(column.type, JSON) else None
            process = None
        if inline:
            parts.append(f"(None if (v := {value}) is None else {inline})")
        elif process is not None:
            scope[f"p{i}"] = process
            parts.append(f"p{i}({value})")
        else:
            parts.append(value)
    scope["_json"] = json.dumps
    source = f"def convert(row):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, f"<insert {table.name}>", "exec"), scope)
    _plans[key] = _InsertPlan(sql, scope["convert"])
    return _plans[key]


def insert_rows(conn: Connection, table: Table, rows: list[Row]) -> None:
    """Insert many rows straight through the driver: ``executemany`` on SQLite, COPY on PostgreSQL.

    Values get the conversions SQLAlchemy would apply, but once per row in one expression
    instead of through its per-row parameter machinery (a large share of a rebuild's time).
    """
    if not rows:
        return
    if conn.dialect.name not in ("sqlite", "postgresql"):
        conn.execute(table.insert(), rows)
        return
    plan = _plan(conn.dialect, table)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(plan.sql, list(map(plan.convert, rows)))
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(plan.sql) as copy:
        for row in rows:
            copy.write_row(plan.convert(row))


def update_rows(conn: Connection, key: Column[Any], rows: list[Row], *fields: str) -> None:
    """Set ``fields`` on the rows whose ``key`` column equals each row's ``"key"`` value."""
    if rows:
        conn.execute(
            update(key.table)
            .where(key == bindparam("key"))
            .values({f: bindparam(f) for f in fields}),
            rows,
        )
