"""Contention: 32 threads and 4 processes send commands to one project over real HTTP.

Each client reads the project, then logs a milestone with ``If-Match: "<version it read>"``,
again and again until the project reaches a target version. Optimistic concurrency must give
exactly one winner per version (the winners' versions run 2, 3 ... N with no gap and no
repeat, each one more than the version its client read); every other answer must be a refusal
(412 stale, or 409 when two passed the check and raced to the insert), never a 5xx and never a
request left unanswered; and the store must hold exactly the acknowledged milestones, each
once, at the version its acknowledgement named. The API runs as two `impact serve` processes,
so the race is also between processes on the server side.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import httpx2 as httpx
import pytest

from application.bootstrap import create_tracker
from application.settings import Settings
from tests.serving import ServedProject, served_project

THREADS = 32  # in the test process
PROCESSES = 4  # client processes ...
THREADS_PER_PROCESS = 4  # ... each with this many threads
FINAL_VERSION = 80  # clients stop once they read this version
pytestmark = pytest.mark.slow

# One command: the client, the title it logged, the version it sent as If-Match, the HTTP
# status, and (on success) the version the answer named.
Attempt = tuple[str, str, int, int, int | None]


Server = ServedProject


@pytest.fixture
def server(shared_settings: Settings) -> Iterator[Server]:
    with served_project(shared_settings, "--workers", "2") as served:
        yield served


def contend(url: str, token: str, project_id: str, client: str) -> list[Attempt]:
    """Read the project and log a milestone at the version read, until the final version."""
    attempts: list[Attempt] = []
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        while True:
            read = http.get(f"/api/projects/{project_id}")
            read.raise_for_status()
            seen = int(read.headers["ETag"].strip('"'))
            if seen >= FINAL_VERSION:
                return attempts
            title = f"{client}-{len(attempts)}"
            answer = http.post(
                f"/api/projects/{project_id}/milestones",
                json={"occurred_on": "2024-05-01", "title": title},
                headers={"If-Match": f'"{seen}"'},
            )
            version = int(answer.json()["version"]) if answer.status_code == 200 else None
            attempts.append((client, title, seen, answer.status_code, version))


def contend_from_a_process(
    url: str,
    token: str,
    project_id: str,
    name: str,
    *,
    start: Barrier,
    results: Queue[list[Attempt] | str],
) -> None:
    """Run ``THREADS_PER_PROCESS`` clients here once every client is ready; queue attempts."""
    try:
        start.wait(timeout=120)
        with ThreadPoolExecutor(THREADS_PER_PROCESS) as pool:
            found = pool.map(
                lambda n: contend(url, token, project_id, f"{name}t{n}"),
                range(THREADS_PER_PROCESS),
            )
            results.put([a for attempts in found for a in attempts])
    except Exception as e:
        results.put(f"{name}: {e!r}")
        raise


def test_one_if_match_winner_per_version_under_32_threads_and_4_processes(
    server: Server,
) -> None:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(PROCESSES + 1)
    queued: Queue[list[Attempt] | str] = spawn.Queue()
    processes = [
        spawn.Process(
            target=contend_from_a_process,
            args=(server.url, server.token, str(server.project_id), f"p{n}"),
            kwargs={"start": start, "results": queued},
        )
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=120)
        with ThreadPoolExecutor(THREADS) as pool:
            threads = pool.map(
                lambda n: contend(server.url, server.token, str(server.project_id), f"t{n}"),
                range(THREADS),
            )
            from_threads = [a for attempts in threads for a in attempts]
        from_processes = [queued.get(timeout=300) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    assert [r for r in from_processes if isinstance(r, str)] == []  # no client failed
    attempts = from_threads + [a for r in from_processes if isinstance(r, list) for a in r]

    statuses = Counter(status for _, _, _, status, _ in attempts)
    wins = [(title, seen, version) for _, title, seen, _, version in attempts if version]
    tracker = create_tracker(server.settings)
    history = tracker.history(server.project_id)
    tracker.close()
    stored = {e.version: e.data["title"] for e in history if e.event_type == "MilestoneLogged"}
    issuers = {client for client, *_ in attempts}
    won = sorted(version for _, _, version in wins)
    others = {status: n for status, n in statuses.items() if status not in {200, 409, 412}}
    print(
        f"contention ({server.settings.engine}): {THREADS} threads + {PROCESSES} processes x "
        f"{THREADS_PER_PROCESS} threads ({len(issuers)} clients sent commands), "
        f"{len(attempts)} commands with If-Match: {statuses[200]} acknowledged at "
        f"{len(set(won))} distinct versions {won[0] if won else '-'}..{won[-1] if won else '-'}, "
        f"{statuses[412]} refused 412, {statuses[409]} refused 409, other answers "
        f"{others or 'none'}; the store holds {len(stored)} milestones"
    )

    # Every answer is a win or a refusal: no 5xx, nothing else (a lost answer raised above).
    assert others == {}
    assert len(wins) == statuses[200]
    assert statuses[409] + statuses[412] > 0  # the clients really did contend
    # Both threads here and every client process sent commands.
    assert any(client.startswith("t") for client in issuers)
    assert {c.split("t")[0] for c in issuers if c.startswith("p")} == {
        f"p{n}" for n in range(PROCESSES)
    }
    # Exactly one winner per version: the versions won are 2..N, each once, each the next
    # after the version its client read.
    assert won == list(range(2, FINAL_VERSION + 1))
    assert all(version == seen + 1 for _, seen, version in wins)
    # The store holds exactly the acknowledged milestones, each once, where the answer said.
    assert stored == {version: title for title, _, version in wins}
    assert len(history) == FINAL_VERSION
