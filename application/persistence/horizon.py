"""Waiting until PostgreSQL may really drop a deleted row, before ``VACUUM FULL`` rewrites it.

``VACUUM FULL`` copies into the new table file every row some transaction might still see,
deleted or not. That includes rows deleted after the oldest transaction still running anywhere
on the server (its own snapshot is bounded by it, whatever the database), after the snapshot of
any other session in this database, and after a replication slot's horizon. So a key deleted a
moment ago would be copied along unless we first wait for those to move past the deletion. The
wait is measured by a transaction id taken after the deletion committed: once nothing older
than it is running or held, the deleted row is dead to everyone and the rewrite leaves it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.05
XID_MODULUS = 2**32

NEW_XID = "SELECT pg_current_xact_id()::text"
# age(x) >= age(horizon) means x is as old as the horizon or older.
NOTHING_OLDER = """
SELECT pg_snapshot_xmin(pg_current_snapshot()) > %(horizon)s::xid8
   AND NOT EXISTS (
       SELECT 1 FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()
         AND backend_xmin IS NOT NULL AND age(backend_xmin) >= age(%(horizon32)s::xid))
   AND NOT EXISTS (
       SELECT 1 FROM pg_replication_slots
       WHERE xmin IS NOT NULL AND age(xmin) >= age(%(horizon32)s::xid))
"""

Query = Callable[[str, dict[str, str] | None], Sequence[Any]]


def wait_until_deleted_rows_are_dead(query: Query, *, seconds: float = WAIT_SECONDS) -> bool:
    """Wait (at most ``seconds``) until rows deleted before this call are invisible to all.

    ``query(sql, params)`` runs one statement outside a transaction and returns its one row.
    False if some transaction kept an older view all along: purge again later.
    """
    (horizon,) = query(NEW_XID, None)
    params = {"horizon": str(horizon), "horizon32": str(int(horizon) % XID_MODULUS)}
    deadline = time.monotonic() + seconds
    while True:
        (clear,) = query(NOTHING_OLDER, params)
        if clear:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
