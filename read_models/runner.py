"""Keeps views current: reads the notification log in pages and applies them, exactly once.

Each page is decoded once and applied, in one transaction, to every view that is behind; each
view's position moves in that transaction with a compare-and-set, so a crash loses the whole
page (to be applied again) and a second worker on the same view (a deployment mistake) fails its
transaction instead of applying a page twice.

A rebuild keeps exactly that contract and differs only in cost: larger pages, one connection
with a larger SQLite page cache and rarer WAL checkpoints, and the views' secondary indexes
built once at the end instead of kept sorted through every insert. A rebuild killed part-way
leaves views without those indexes; the next ``set_up``, ``catch_up`` or ``follow`` creates
them (queries are correct without them, only slower).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select

from application.tracker import ImpactTracker
from read_models.envelope import Envelope, decode
from read_models.positions import metadata as positions_metadata
from read_models.positions import positions, schemas
from read_models.projection import Projection

log = logging.getLogger(__name__)


class StalePositionError(Exception):
    """Another worker moved the view's position first; this page was rolled back."""


class WaitTimeoutError(Exception):
    """A view did not reach the awaited notification id in time."""


@dataclass(frozen=True)
class ViewStatus:
    """A view's position against the head of the log."""

    view: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        """How many notifications the view is behind."""
        return max(self.head - self.position, 0)


class ProjectionRunner:
    """Applies the notification log to a set of projections, page by page."""

    def __init__(
        self,
        tracker: ImpactTracker,
        engine: Engine,
        projections: Sequence[Projection],
        *,
        page_size: int = 500,
        rebuild_page_size: int = 10_000,
    ) -> None:
        self.tracker = tracker
        self.engine = engine
        self.projections = {p.name: p for p in projections}
        self.page_size = page_size
        self.rebuild_page_size = rebuild_page_size
        # Called on every round of ``follow`` (periodic checkpoints): each decides for itself
        # whether it is due, cheaply, since a round can be every fraction of a second.
        self.ticks: list[Callable[[], object]] = []

    def set_up(self) -> None:
        """Create missing tables and positions; replay any view whose tables have changed."""
        positions_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            known = set(conn.execute(select(positions.c.view)).scalars())
            versions = {r.view: r.version for r in conn.execute(select(schemas))}
            for name, projection in self.projections.items():
                if name in known and versions.get(name) != projection.version:
                    log.warning(
                        "view %s changed shape (version %s -> %s): rebuilding it",
                        name,
                        versions.get(name),
                        projection.version,
                    )
                    projection.drop(conn)
                    conn.execute(
                        positions.update().where(positions.c.view == name).values(position=0)
                    )
                if name not in known:
                    conn.execute(positions.insert().values(view=name, position=0))
                if versions.get(name) != projection.version:
                    conn.execute(schemas.delete().where(schemas.c.view == name))
                    conn.execute(schemas.insert().values(view=name, version=projection.version))
        for projection in self.projections.values():
            projection.create(self.engine)

    def positions(self) -> dict[str, int]:
        """Each view's committed position."""
        with self.engine.connect() as conn:
            found = {r.view: int(r.position) for r in conn.execute(select(positions))}
        return {name: found.get(name, 0) for name in self.projections}

    def status(self) -> list[ViewStatus]:
        """Each view's position and lag behind the log's head."""
        head = self.tracker.head()
        return [ViewStatus(v, p, head) for v, p in self.positions().items()]

    def run_page(self, views: Iterable[str] | None = None) -> int:
        """Apply the next page to every view that is behind; return how many events were read."""
        with self.engine.connect() as conn:
            return self._run_page(conn, list(views or self.projections), self.page_size)

    def _run_page(self, conn: Connection, views: list[str], page_size: int) -> int:
        chosen = [self.projections[v] for v in views]
        with conn.begin():
            found = {r.view: int(r.position) for r in conn.execute(select(positions))}
        current = {p.name: found.get(p.name, 0) for p in chosen}
        start = min(current.values())
        notifications = self.tracker.recorder.select_notifications(start=start + 1, limit=page_size)
        if not notifications:
            return 0
        page = [decode(n) for n in notifications]
        last = page[-1].notification_id
        behind = [p for p in chosen if current[p.name] < last]
        # One transaction for the page: every view's rows and its position move together.
        with conn.begin():
            for projection in behind:
                self._apply(conn, projection, page, current[projection.name])
        return len(page)

    @staticmethod
    def _apply(
        conn: Connection, projection: Projection, page: list[Envelope], position: int
    ) -> None:
        # Claim the page first: the compare-and-set takes the view's position row (and, on
        # SQLite, the write lock), so a second worker stops here instead of writing rows.
        moved = conn.execute(
            positions.update()
            .where(positions.c.view == projection.name, positions.c.position == position)
            .values(position=page[-1].notification_id)
        )
        if moved.rowcount != 1:
            msg = f"view {projection.name} moved past {position} in another worker"
            raise StalePositionError(msg)
        wanted = projection.event_types
        events = [
            e
            for e in page
            if e.notification_id > position and (wanted is None or e.event_type in wanted)
        ]
        if events:
            projection.apply(conn, events)

    def catch_up(
        self, views: Iterable[str] | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Apply pages until the chosen views reach the head; return events read."""
        names = list(views or self.projections)
        with self.engine.connect() as conn:
            total = self._pages(conn, names, self.page_size, progress)
        self.ensure_indexes(names)
        return total

    def _pages(
        self,
        conn: Connection,
        names: list[str],
        page_size: int,
        progress: Callable[[int], None] | None,
    ) -> int:
        total = 0
        while read := self._run_page(conn, names, page_size):
            total += read
            if progress:
                progress(read)
        return total

    def ensure_indexes(self, views: Iterable[str] | None = None) -> None:
        """Create any secondary index a killed rebuild left out."""
        with self.engine.begin() as conn:
            for name in views or self.projections:
                self.projections[name].create_indexes(conn)

    def rebuild(
        self, views: Iterable[str] | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Drop the chosen views, then replay the whole log into them.

        Pages are still one transaction each with the views' positions (a killed rebuild
        resumes or restarts correctly); what changes is their size, the page cache, and the
        secondary indexes, which are created once the rows are in.
        """
        names = list(views or self.projections)
        page_size = max(self.page_size, self.rebuild_page_size)
        with self.engine.connect() as conn:
            with conn.begin():
                for name in names:
                    self.projections[name].recreate(conn, indexes=False)
                    conn.execute(
                        positions.update().where(positions.c.view == name).values(position=0)
                    )
            with _rebuild_pragmas(conn):
                total = self._pages(conn, names, page_size, progress)
                with conn.begin():
                    for name in names:
                        self.projections[name].create_indexes(conn)
        return total

    def follow(
        self,
        stop: threading.Event,
        poll_seconds: float = 0.2,
        views: Iterable[str] | None = None,
    ) -> None:
        """Keep the chosen views (default all) current until ``stop`` is set.

        A failed page is retried later. Choosing views lets a deployment run one worker per
        view, each reading the log at its own view's position.

        When it has caught up, it checks the views' indexes (a rebuild killed in another process
        may have left them out): at the first idle moment, then at most once a minute, not
        after every burst of pages (each check reads the database's whole index catalogue).
        Each round ends with the ``ticks`` (a failing one is logged and retried like a page).
        """
        names = list(views or self.projections)
        next_check = 0.0  # monotonic time of the next index check; 0: at the first idle moment
        while not stop.is_set():
            try:
                read = self.run_page(names)
                if not read and time.monotonic() >= next_check:
                    self.ensure_indexes(names)
                    next_check = time.monotonic() + _INDEX_CHECK_SECONDS
                for tick in self.ticks:
                    tick()
            except StalePositionError:
                log.info("another worker applied this page first; moving on")
                read = 0
            except Exception:
                log.exception("projection page failed; retrying")
                read = 0
                stop.wait(max(poll_seconds, 1.0))
            if not read:
                stop.wait(poll_seconds)

    def wait_for(
        self, notification_id: int, views: Iterable[str] | None = None, timeout: float = 5.0
    ) -> None:
        """Block until the chosen views have applied ``notification_id`` (read-your-writes)."""
        wait_until_applied(self.engine, notification_id, list(views or self.projections), timeout)


@contextmanager
def _rebuild_pragmas(conn: Connection) -> Iterator[None]:
    """On SQLite, give this connection a 128 MB page cache (no memory map) and rarer checkpoints.

    SQLite's default cache (2 MB) is far smaller than the views' key indexes at national scale,
    so every random-key insert would read its B-tree pages again; and checkpointing the WAL
    every 1,000 pages made each page's commit wait for the database file to be synced. Both
    are restored afterwards. Neither touches safety: the journal (WAL) and ``synchronous``
    stay as they are, so a killed or interrupted rebuild leaves the last committed page.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    checkpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    mapped = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{_REBUILD_CACHE_KIB}")
    conn.exec_driver_sql("PRAGMA mmap_size = 0")  # the cache instead: one copy of each page
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {_REBUILD_CHECKPOINT_PAGES}")
    conn.commit()
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache or -2000)}")
        conn.exec_driver_sql(f"PRAGMA mmap_size = {int(mapped or 0)}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {int(checkpoint or 1000)}")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        conn.commit()


_INDEX_CHECK_SECONDS = 60.0
_REBUILD_CACHE_KIB = 128 * 1024
_REBUILD_CHECKPOINT_PAGES = 20_000


def wait_until_applied(
    engine: Engine, notification_id: int, views: Sequence[str], timeout: float = 5.0
) -> None:
    """Poll the views' positions until each is at least ``notification_id``."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            found = {
                r.view: int(r.position)
                for r in conn.execute(select(positions).where(positions.c.view.in_(views)))
            }
        if all(found.get(v, 0) >= notification_id for v in views):
            return
        if time.monotonic() >= deadline:
            behind = {v: found.get(v, 0) for v in views if found.get(v, 0) < notification_id}
            msg = f"views not yet at notification {notification_id}: {behind}"
            raise WaitTimeoutError(msg)
        time.sleep(0.02)
