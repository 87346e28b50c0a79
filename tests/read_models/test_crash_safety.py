"""A projection worker killed with SIGKILL mid-page, again and again, loses and repeats nothing.

Real processes (`impact project --follow` and `impact rebuild`), real ``kill -9``; afterwards
the views must equal a clean rebuild and every view must sit exactly at the head of the log.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.settings import Settings
from read_models.bootstrap import create_read_side
from read_models.database import create_views_engine
from read_models.runner import ProjectionRunner
from read_models.views import all_projections
from tests.application.writers import log_milestones
from tests.conftest import FELLOW, proposal, set_up_programme
from tests.read_models.dump import dump_views

KILLS = 12
pytestmark = pytest.mark.slow


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_")}
    env |= {
        "IMPACT_DATA_DIR": str(settings.data_dir),
        "IMPACT_PROJECTION_PAGE_SIZE": "5",
        "IMPACT_PROJECTION_POLL_SECONDS": "0.05",
        "IMPACT_CREATE_SCHEMA": "false",
    }
    if settings.database_url:
        env["IMPACT_DATABASE_URL"] = settings.database_url
    return env


def _start(settings: Settings, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_repeatedly(settings: Settings, rng: random.Random, *args: str) -> int:
    """Start the command, SIGKILL it soon after it commits a page, KILLS times.

    Returns how many kills left the views short of the head (so the next run had to resume).
    """
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    head = tracker.head()
    mid_way = 0
    for _ in range(KILLS):
        before = read_side.runner.positions()
        worker = _start(settings, *args)
        deadline = time.monotonic() + 30
        while read_side.runner.positions() == before and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        if min(read_side.runner.positions().values()) < head:
            mid_way += 1
    read_side.close()
    tracker.close()
    return mid_way


def _assert_equals_clean_rebuild(settings: Settings, tmp_path: Path) -> None:
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    clean_engine = create_views_engine(Settings(data_dir=tmp_path / "clean"))
    clean = ProjectionRunner(tracker, clean_engine, all_projections(), page_size=10_000)
    clean.set_up()
    clean.rebuild()
    head = tracker.head()
    assert read_side.runner.positions() == dict.fromkeys(read_side.runner.projections, head)
    assert dump_views(read_side.engine) == dump_views(clean_engine)
    clean_engine.dispose()
    read_side.close()
    tracker.close()


@pytest.fixture
def loaded(shared_settings: Settings) -> Settings:
    settings = shared_settings
    tracker = create_tracker(settings)
    load_demo(tracker)
    load_demo(tracker)
    create_read_side(settings, tracker).close()  # tables exist before workers race to them
    tracker.close()
    return settings


def test_a_worker_killed_while_following_resumes_exactly(loaded: Settings, tmp_path: Path) -> None:
    mid_way = _kill_repeatedly(loaded, random.Random(7), "project", "--follow")
    print(f"{loaded.engine}: {mid_way} of {KILLS} kills landed before the views were current")
    assert mid_way > 0
    _assert_equals_clean_rebuild(loaded, tmp_path)


def test_a_rebuild_killed_part_way_is_finished_by_the_next_run(
    loaded: Settings, tmp_path: Path
) -> None:
    tracker = create_tracker(loaded)
    read_side = create_read_side(loaded, tracker)
    read_side.runner.catch_up()
    read_side.close()
    tracker.close()
    mid_way = _kill_repeatedly(loaded, random.Random(11), "rebuild")
    print(f"{loaded.engine}: {mid_way} of {KILLS} rebuilds killed part-way")
    assert mid_way > 0
    _assert_equals_clean_rebuild(loaded, tmp_path)


def test_a_worker_follows_two_writer_processes(shared_settings: Settings, tmp_path: Path) -> None:
    settings = shared_settings
    tracker = create_tracker(settings)
    project_id = tracker.propose_project(FELLOW, proposal(set_up_programme(tracker))).aggregate_id
    create_read_side(settings, tracker).close()
    worker = _start(settings, "project", "--follow")
    shared: dict[str, Any] = settings.model_dump(mode="json") | {"create_schema": False}
    try:
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            writers = [
                pool.submit(log_milestones, shared, str(project_id), f"w{n}", 40, optimistic=False)
                for n in range(2)
            ]
            acknowledged = [ack for w in writers for ack in w.result(timeout=300)[0]]
        read_side = create_read_side(settings, tracker)
        read_side.runner.wait_for(tracker.head(), timeout=60)
        read_side.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert len(acknowledged) == 80
    _assert_equals_clean_rebuild(settings, tmp_path)
