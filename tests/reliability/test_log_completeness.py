"""Log completeness under concurrency: a projection tailing concurrent writers misses nothing.

The bug class that bit Marten and Axon: notification ids are allocated when a transaction
inserts, but transactions commit in another order, so a reader tailing the log sees id 11
committed while id 10 is still in flight, moves its position past 10 and never applies it.
Here four writer processes append at least 10,000 events through ``ImpactTracker`` (on their
own projects, so they never conflict) while one projection runner follows the log with small
pages. Afterwards every notification in the store must have been applied exactly once: the
integrity view (every event) and the timeline view (every project event) hold exactly the
store's notifications, each once, and all the views equal a clean rebuild.

What keeps it true on PostgreSQL is the event store's EXCLUSIVE lock on the events table for
each insert, which makes id order commit order (SQLite's single writer does the same). With
that lock removed from the writers, the runner skipped one or two notifications per run and
this test failed in each of 5 runs tried. It is an alarm, not a proof (whether the race shows
depends on timing), so it uses many small transactions, small aggregates and small pages:
with fewer, larger transactions it caught the missing lock far less often.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from application.bootstrap import create_tracker
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import Frequency, ImprovementDirection
from read_models.bootstrap import create_read_side
from read_models.database import create_views_engine
from read_models.runner import ProjectionRunner
from read_models.views import all_projections
from read_models.views.integrity import leaves
from read_models.views.timeline import entries
from tests.conftest import FELLOW, Programme, proposal, set_up_programme
from tests.read_models.dump import dump_views

WRITERS = 4
APPENDS_EACH = 2_500
PROJECTS_EACH = 100  # small aggregates keep each command cheap; round-robin keeps them interleaved
PASTE_EVERY = 6  # every sixth command pastes several values: one transaction, several ids
PASTED_VALUES = 4
PAGE_SIZE = 50  # small pages: the runner reads the log's tail often, while it is being written
pytestmark = pytest.mark.slow

Notification = tuple[int, UUID, int]  # notification id, originator id, originator version


def append_events(settings: dict[str, Any], programme: Programme, writer: int) -> dict[str, int]:
    """Propose projects and write to them until ``APPENDS_EACH`` events are stored.

    Runs in its own process. Returns each project's last acknowledged version: as the writer
    is the only one writing to its projects, the versions add up to the events it appended.
    """
    tracker = create_tracker(Settings(**settings))
    try:
        versions: dict[UUID, int] = {}
        measures: dict[UUID, tuple[UUID, date]] = {}
        for n in range(PROJECTS_EACH):
            made = tracker.propose_project(
                FELLOW, proposal(programme, title=f"Writer {writer} project {n}")
            )
            defined = tracker.define_measure(
                FELLOW,
                made.aggregate_id,
                c.DefineMeasure(
                    occurred_on=date(2024, 3, 1),
                    name="Discharges before noon",
                    unit="% of discharges",
                    direction=ImprovementDirection.UP,
                    frequency=Frequency.DAILY,
                ),
            )
            assert defined.entity_id is not None
            versions[made.aggregate_id] = defined.version
            measures[made.aggregate_id] = (defined.entity_id, date(2020, 1, 1))
        projects = list(versions)
        step = 0
        while (appended := sum(versions.values())) < APPENDS_EACH:
            project_id = projects[step % len(projects)]
            step += 1
            if step % PASTE_EVERY == 0 and APPENDS_EACH - appended >= PASTED_VALUES:
                measure_id, first = measures[project_id]
                result = tracker.paste_measurements(
                    FELLOW,
                    project_id,
                    c.PasteMeasurements(
                        occurred_on=date(2024, 6, 1),
                        measure_id=measure_id,
                        first_period=first,
                        pasted="\n".join(str(50 + v) for v in range(PASTED_VALUES)),
                    ),
                )
                measures[project_id] = (measure_id, first + timedelta(days=PASTED_VALUES))
            else:
                result = tracker.log_milestone(
                    FELLOW,
                    project_id,
                    c.LogMilestone(occurred_on=date(2024, 6, 1), title=f"w{writer}-{step}"),
                )
            versions[project_id] = result.version
        return {str(p): v for p, v in versions.items()}
    finally:
        tracker.close()


def _stored_notifications(tracker: ImpactTracker) -> list[Notification]:
    """Every notification in the store, in log order."""
    found: list[Notification] = []
    while page := tracker.recorder.select_notifications(
        start=found[-1][0] + 1 if found else 1, limit=5_000
    ):
        found += [(n.id, UUID(str(n.originator_id)), n.originator_version) for n in page]
    return found


def _interleavings(stored: list[Notification], writer_of: dict[UUID, int]) -> int:
    """How often, in log order, one writer's event follows another writer's."""
    writers = [writer_of[o] for _, o, _ in stored if o in writer_of]
    return sum(a != b for a, b in pairwise(writers))


def test_a_projection_following_concurrent_writers_applies_every_notification_once(
    shared_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = shared_settings
    tracker = create_tracker(settings)
    programme = set_up_programme(tracker)
    setup_head = tracker.head()
    tailing = settings.model_copy(
        update={"projection_page_size": PAGE_SIZE, "projection_poll_seconds": 0.01}
    )
    read_side = create_read_side(tailing, tracker)
    read_side.start_following()
    # The store exists now; writers starting together must not race to create it.
    shared: dict[str, Any] = settings.model_dump(mode="json") | {"create_schema": False}

    positions_seen: set[int] = set()
    try:
        with ProcessPoolExecutor(WRITERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            writers = [pool.submit(append_events, shared, programme, n) for n in range(WRITERS)]
            while wait(writers, timeout=0.1, return_when=FIRST_EXCEPTION).not_done:
                positions_seen.add(min(read_side.runner.positions().values()))
            results = [w.result() for w in writers]
        head = tracker.head()
        read_side.runner.wait_for(head, timeout=120)
    finally:
        read_side.stop_following()

    acknowledged = {UUID(p): v for r in results for p, v in r.items()}
    writer_of = {UUID(p): n for n, r in enumerate(results) for p in r}
    appends = sum(acknowledged.values())
    stored = _stored_notifications(tracker)
    with read_side.engine.connect() as conn:
        integrity = [
            (int(r.notification_id), r.originator_id, int(r.version))
            for r in conn.execute(
                select(leaves.c.notification_id, leaves.c.originator_id, leaves.c.version).order_by(
                    leaves.c.notification_id
                )
            )
        ]
        timeline = [
            (int(r.notification_id), r.project_id, int(r.version))
            for r in conn.execute(
                select(entries.c.notification_id, entries.c.project_id, entries.c.version).order_by(
                    entries.c.notification_id
                )
            )
        ]
    project_events = [s for s in stored if s[1] in acknowledged]
    missing = len(set(stored) - set(integrity)) + len(set(project_events) - set(timeline))
    mid_run = {p for p in positions_seen if setup_head < p < head}
    interleavings = _interleavings(stored, writer_of)
    print(
        f"log completeness ({settings.engine}): {appends:,} appends by {WRITERS} processes, "
        f"{len(stored):,} notifications; integrity view {len(integrity):,} rows, timeline "
        f"{len(timeline):,} of {len(project_events):,}, {missing} missed; runner seen at "
        f"{len(mid_run)} positions mid-run; writers interleaved {interleavings:,} times"
    )

    # The writers appended what they were asked to, and the store holds exactly that.
    assert appends == WRITERS * APPENDS_EACH
    assert [n for n, _, _ in stored] == sorted({n for n, _, _ in stored})
    assert len(stored) == setup_head + appends
    assert Counter((o, v) for _, o, v in stored if o in acknowledged) == Counter(
        (p, v) for p, last in acknowledged.items() for v in range(1, last + 1)
    )
    # The writers really ran together, and the runner really tailed them.
    assert interleavings > appends // 100  # one writer after another: WRITERS - 1
    assert mid_run
    # No page failed (a page applied twice would fail on a primary key, then be retried).
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors if r.name.startswith("read_models")] == []
    # Every notification applied exactly once: none missed, none twice.
    assert read_side.runner.positions() == dict.fromkeys(read_side.runner.projections, head)
    assert integrity == stored
    assert timeline == project_events

    # And everything the runner derived from them equals a clean replay of the whole log.
    clean_engine = create_views_engine(Settings(data_dir=tmp_path / "clean"))
    clean = ProjectionRunner(tracker, clean_engine, all_projections(), page_size=10_000)
    clean.set_up()
    clean.rebuild()
    assert dump_views(read_side.engine) == dump_views(clean_engine)
    print(
        f"log completeness ({settings.engine}): {appends:,} appends by {WRITERS} processes, "
        f"{len(stored):,} notifications, projection applied each exactly once"
    )
    clean_engine.dispose()
    read_side.close()
    tracker.close()
