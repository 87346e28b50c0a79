"""Many threads and several processes writing to one project: nothing acknowledged is lost.

Every acknowledged write must be in the store exactly once, and each version must have exactly
one winner.  Runs on SQLite and PostgreSQL (processes need a shared store; in-memory runs threads).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

from application.bootstrap import create_tracker
from application.settings import Settings
from tests.application.writers import Acks, log_milestones, log_milestones_with
from tests.conftest import FELLOW, proposal, set_up_programme

THREADS = 6
PROCESSES = 2
WRITES_EACH = 8


@pytest.mark.slow
@pytest.mark.parametrize("optimistic", [True, False], ids=["if-match", "blind"])
def test_concurrent_writers_lose_no_acknowledged_write(
    settings: Settings, optimistic: bool
) -> None:
    setup = create_tracker(settings)
    project_id = setup.propose_project(FELLOW, proposal(set_up_programme(setup))).aggregate_id
    start_version = setup.project(project_id).version
    # The store exists now; writers starting together must not race to create it.
    shared: dict[str, Any] = settings.model_dump(mode="json") | {"create_schema": False}
    processes = 0 if settings.engine == "memory" else PROCESSES

    futures: list[Future[Acks]] = []
    with (
        ThreadPoolExecutor(THREADS) as threads,
        ProcessPoolExecutor(
            processes or 1, mp_context=multiprocessing.get_context("spawn")
        ) as procs,
    ):
        if settings.engine == "memory":
            # An in-memory store lives in this process only: threads share the one tracker's store.
            def in_memory(writer: str) -> Acks:
                return log_milestones_with(
                    setup, project_id, writer, WRITES_EACH, optimistic=optimistic
                )

            futures += [threads.submit(in_memory, f"t{n}") for n in range(THREADS)]
        else:
            futures += [
                threads.submit(
                    log_milestones,
                    shared,
                    str(project_id),
                    f"t{n}",
                    WRITES_EACH,
                    optimistic=optimistic,
                )
                for n in range(THREADS)
            ]
            futures += [
                procs.submit(
                    log_milestones,
                    shared,
                    str(project_id),
                    f"p{n}",
                    WRITES_EACH,
                    optimistic=optimistic,
                )
                for n in range(processes)
            ]
        results = [f.result(timeout=300) for f in futures]

    acknowledged = [ack for acks, _ in results for ack in acks]
    conflicts = sum(n for _, n in results)
    stored = {
        e.version: e.data["title"]
        for e in setup.history(project_id)
        if e.event_type == "MilestoneLogged"
    }
    writers = THREADS + processes
    print(f"{settings.engine}: {len(acknowledged)} acknowledged, {conflicts} conflicts refused")
    assert len(acknowledged) == writers * WRITES_EACH
    assert len({version for _, version in acknowledged}) == len(acknowledged), "one winner each"
    assert stored == {version: title for title, version in acknowledged}
    assert setup.project(project_id).version == start_version + len(acknowledged)
    setup.close()
