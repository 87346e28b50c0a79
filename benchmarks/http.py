"""HTTP benchmark: wrk on loopback against a served app on the national-scale store.

    python -m benchmarks.http [--data var/bench/national-10000] [--seconds 15]

Reports, in one run: requests/s, p50 and p99 for ``/api/health`` (the raw limit of the stack),
a project timeline and the portfolio, each at 8 connections; the timeline/health ratio (goal
>= 0.4, p99 <= 50 ms, 0 errors); and command throughput (record a measurement) with p99.
Needs Debian's ``wrk`` (``apt-get install wrk``); the store comes from ``benchmarks.read_models``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx2 as httpx

from application.bootstrap import create_tracker
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from domain.commands import DefineMeasure
from domain.values import Actor, ImprovementDirection, Role

LUA_HEADERS = 'wrk.headers["Authorization"] = "Bearer {token}"\n'


def _port() -> int:
    """A free port below the ephemeral range (an outgoing connection can't take it first)."""
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    msg = "no free port between 20000 and 32000"
    raise RuntimeError(msg)


def _cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by a process and every process below it.

    The machine is shared, so wall-clock rates move with the neighbours' load; the server's
    CPU per request is the steadier figure to set the endpoints against each other.
    """
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    return sum(used.get(pid, 0.0) for pid in tree)


def wrk(url: str, token: str, seconds: int, connections: int = 8) -> dict[str, float]:
    """Run wrk with latency stats; parse requests/s, p50, p99 and errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA_HEADERS.format(token=token))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)

    def ms(label: str) -> float:
        found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
        assert found, out
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        out,
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    assert rps, out
    assert done, out
    return {
        "rps": float(rps.group(1)),
        "requests": float(done.group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(int(g) for g in socket_errors.groups()) if socket_errors else 0),
    }


def command_throughput(
    url: str, writers: list[tuple[str, UUID, UUID]], count: int
) -> dict[str, float]:
    """Record ``count`` measurements: one thread per writer, each on its own project."""
    latencies: list[float] = []
    statuses: list[int] = []

    def write(writer: tuple[str, UUID, UUID]) -> None:
        token, project, measure = writer
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for k in range(count // len(writers)):
                started = time.perf_counter()
                response = client.post(
                    f"{url}/api/projects/{project}/measurements",
                    json={
                        "occurred_on": "2026-10-01",
                        "measure_id": str(measure),
                        "period": date(1990 + k // 12, k % 12 + 1, 1).isoformat(),
                        "value": k % 100,
                    },
                )
                latencies.append((time.perf_counter() - started) * 1000)
                statuses.append(response.status_code)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(writers)) as pool:
        list(pool.map(write, writers))
    elapsed = time.perf_counter() - started
    latencies.sort()
    errors = [s for s in statuses if s not in {200, 201}]
    if errors:
        print(f"command errors by status: {sorted(set(errors))}", file=sys.stderr)
    return {
        "rps": len(statuses) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": len(errors),
    }


@contextmanager
def _served(data: Path, workers: int) -> Iterator[tuple[str, int]]:
    """Serve the store (with a projection worker when there are several API processes).

    Yields the base URL and the API process's pid once the views are current; stops the
    processes afterwards.
    """
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_")}
    env |= {"IMPACT_DATA_DIR": str(data), "IMPACT_LOG_LEVEL": "warning"}
    cli = [sys.executable, "-m", "interfaces.cli"]
    processes = [
        subprocess.Popen([*cli, "serve", "--port", str(port), "--workers", str(workers)], env=env)
    ]
    if workers > 1:
        processes.append(subprocess.Popen([*cli, "project", "--follow"], env=env))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/api/ready", timeout=2).json()["views"][0]["lag"] == 0:
                    break
            except (httpx.TransportError, KeyError, IndexError):
                pass
            time.sleep(0.5)
        yield url, processes[0].pid
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    """Serve the national store and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("var/bench/national-10000"))
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="API processes to serve with.")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    settings = Settings(data_dir=args.data)
    tracker = create_tracker(settings)
    identity = IdentityService(create_identity_engine(settings))
    writers: list[tuple[str, UUID, UUID]] = []
    candidates = (tracker.project(p) for p, _ in tracker.proposed_projects(limit=100))
    open_projects = [v for v in candidates if v.status == "active" and v.measures][:9]
    # The timeline read is of a project no command below writes to: the writers' projects grow
    # by a share of the commands on every run, and with them the timeline's count.
    view, open_projects = open_projects[-1], open_projects[:-1]
    for view_written in open_projects:
        project_id = view_written.project_id
        user_id = f"bench-{view_written.lead_fellow_id.hex[:12]}"
        if identity.get_user(user_id) is None:
            identity.create_user(
                NewUser(
                    user_id=user_id,
                    display_name="Bench",
                    role=Role.FELLOW,
                    fellow_id=view_written.lead_fellow_id,
                )
            )
        # A fresh measure each run, so the periods recorded below are never taken already.
        measure = tracker.define_measure(
            Actor(user_id=user_id, role=Role.FELLOW),
            project_id,
            DefineMeasure(
                occurred_on=date(2026, 10, 1),
                name=f"Bench {time.time_ns()}",
                unit="n",
                direction=ImprovementDirection.UP,
            ),
        ).entity_id
        assert measure is not None
        writers.append((identity.create_token(user_id, "benchmark"), project_id, measure))
    token = writers[0][0]  # a fellow's: fellows read every project
    project = view.project_id
    title = view.title
    tracker.close()
    identity.close()

    with _served(args.data, args.workers) as (url, api_pid):

        def measured(path: str) -> dict[str, float]:
            before = _cpu_seconds(api_pid)
            figures = wrk(f"{url}{path}", token, args.seconds)
            figures["cpu_ms"] = (_cpu_seconds(api_pid) - before) * 1000 / figures["requests"]
            return figures

        health = measured("/api/health")
        timeline = measured(f"/api/projects/{project}/timeline")
        portfolio = measured("/api/portfolio")
        commands = command_throughput(url, writers, args.commands)
    print(
        f"Store: {args.data}; {args.workers} API process(es); timeline of '{title}' "
        f"({len(view.measurements)} measurements)"
    )
    print(
        "| endpoint (8 connections) | requests/s | p50 ms | p99 ms | errors "
        "| server CPU ms/request | against |"
    )
    print("|---|---|---|---|---|---|---|")
    rows: list[tuple[str, dict[str, float], str]] = [
        ("GET /api/health (raw limit)", health, ""),
        (
            "GET /api/projects/{id}/timeline",
            timeline,
            f"ratio {timeline['rps'] / health['rps']:.2f} of health "
            f"(CPU: {health['cpu_ms'] / timeline['cpu_ms']:.2f}; goal >= 0.4, p99 <= 50 ms)",
        ),
        ("GET /api/portfolio", portfolio, f"ratio {portfolio['rps'] / health['rps']:.2f}"),
        ("POST record measurement (8 threads)", commands, ""),
    ]
    for name, figures, against in rows:
        cpu = f"{figures['cpu_ms']:.2f}" if "cpu_ms" in figures else ""
        print(
            f"| {name} | {figures['rps']:,.0f} | {figures['p50']:.1f} | {figures['p99']:.1f} "
            f"| {int(figures['errors'])} | {cpu} | {against} |"
        )


if __name__ == "__main__":
    main()
