"""Kept connections for per-request reads: one per thread on a SQLite file, never a stale view.

A kept connection must see what other connections commit after it was taken (a token revoked
by the CLI, a view the projection worker wrote), must not hold a read snapshot between reads
(a checkpoint would wait on it), and must be closed when the engine is disposed of. Answers
kept between reads (``ReadsUntilChanged``) must be dropped as soon as anything changes the file.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from application.persistence.held_connections import ReadsUntilChanged, read_cursor


def _connection_of(engine: Any) -> Any:
    with read_cursor(engine) as cursor:
        cursor.execute("SELECT 1")
        return cursor.connection


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    found = create_engine(f"sqlite:///{tmp_path / 'views.sqlite'}")
    with found.begin() as conn:
        conn.execute(text("PRAGMA journal_mode=WAL"))
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield found
    found.dispose()


def test_each_thread_keeps_one_connection_of_its_own(engine: Any) -> None:
    mine = _connection_of(engine)
    assert _connection_of(engine) is mine
    theirs: list[Any] = []
    thread = threading.Thread(target=lambda: theirs.append(_connection_of(engine)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_a_kept_connection_sees_later_commits_and_holds_no_snapshot(
    engine: Any, tmp_path: Path
) -> None:
    with read_cursor(engine) as cursor:
        assert cursor.execute("SELECT count(*) FROM t").fetchone() == (0,)
    other = sqlite3.connect(tmp_path / "views.sqlite")
    with other:
        other.execute("INSERT INTO t VALUES (1), (2)")
    with read_cursor(engine) as cursor:
        assert cursor.execute("SELECT count(*) FROM t").fetchone() == (2,)
    with read_cursor(engine) as cursor:
        assert cursor.execute("SELECT n FROM t ORDER BY n").fetchone() == (1,)  # one of two
    with other:
        other.execute("INSERT INTO t VALUES (3)")
    # A full checkpoint waits for every reader: it completes only if the kept one holds nothing.
    busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    other.close()


def test_disposing_of_the_engine_closes_the_kept_connections(engine: Any) -> None:
    kept = _connection_of(engine)
    engine.dispose()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        kept.execute("SELECT 1")
    assert _connection_of(engine) is not kept


def test_an_in_memory_database_is_read_through_its_pool() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (7)"))
    with read_cursor(engine) as cursor:
        assert cursor.execute("SELECT n FROM t").fetchall() == [(7,)]
    engine.dispose()


class _CountedReads:
    """A read of ``t``'s row count, counting how often it really ran."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, cursor: Any) -> int | None:
        self.runs += 1
        (count,) = cursor.execute("SELECT count(*) FROM t").fetchone()
        return int(count) or None


def test_kept_answers_last_until_any_connection_changes_the_file(
    engine: Any, tmp_path: Path
) -> None:
    reads, read = ReadsUntilChanged[str, int](engine), _CountedReads()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert reads.get("rows", read) == 1
    assert reads.get("rows", read) == 1
    assert read.runs == 1
    other = sqlite3.connect(tmp_path / "views.sqlite")  # another process, as far as SQLite knows
    with other:
        other.execute("INSERT INTO t VALUES (2)")
    other.close()
    assert reads.get("rows", read) == 2
    with engine.begin() as conn:  # this process, through the engine's pool
        conn.execute(text("DELETE FROM t"))
    assert reads.get("rows", read) is None
    assert reads.get("rows", read) is None
    assert read.runs == 4  # a missing answer is never kept


def test_each_thread_keeps_its_own_answers_up_to_the_limit(engine: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    reads, read = ReadsUntilChanged[str, int](engine, limit=1), _CountedReads()
    reads.get("a", read)
    reads.get("b", read)  # over the limit: read, not kept
    reads.get("a", read)
    reads.get("b", read)
    assert read.runs == 3
    thread = threading.Thread(target=lambda: reads.get("a", read))
    thread.start()
    thread.join()
    assert read.runs == 4


def test_nothing_is_kept_for_an_in_memory_database() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (7)"))
    reads, read = ReadsUntilChanged[str, int](engine), _CountedReads()
    assert reads.get("rows", read) == reads.get("rows", read) == 1
    assert read.runs == 2
    engine.dispose()
