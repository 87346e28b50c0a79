"""Read-model benchmark: rebuild throughput against the raw read limit, as-at latency, memory.

    python -m benchmarks.read_models [--projects 10000] [--small 100] [--data var/bench]

Everything is compared within one run (ratios), because the machine is shared and noisy:
- rebuild events/s of all views vs a plain SELECT + JSON decode of the same stored events;
- as-at portfolio latency (p50, p99) on a 1M-event store vs a 10k-event store of the same shape;
- peak memory (max RSS) of the rebuild, measured in a fresh process;
- the storage floor: how fast SQLite can write the rebuilt views' rows and indexes at all, with
  no decoding and no view logic, so the rebuild ratio can be read against what is possible.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import cast

from application.bootstrap import create_tracker
from application.persistence.mapper import PydanticMapper
from application.settings import Settings
from benchmarks.memory import peak_rss_mb
from benchmarks.national import generate
from read_models.bootstrap import create_read_side
from read_models.queries.common import AsAt, Axis
from read_models.queries.portfolio import portfolio
from read_models.views import VIEW_NAMES


def ensure_store(data_dir: Path, projects: int, *, stages_only: bool = False) -> int:
    """Generate the store once (kept between runs); return its event count."""
    settings = Settings(data_dir=data_dir)
    tracker = create_tracker(settings)
    try:
        if tracker.head() == 0:
            started = time.perf_counter()
            generate(tracker, projects, stages_only=stages_only)
            print(
                f"generated {tracker.head():,} events in {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
        return tracker.head()
    finally:
        tracker.close()


def raw_read(data_dir: Path) -> float:
    """Events/s of the raw limit: SELECT every stored event in order and decode its JSON."""
    conn = sqlite3.connect(data_dir / "events.sqlite")
    started = time.perf_counter()
    count = 0
    for (state,) in conn.execute("SELECT state FROM stored_events ORDER BY rowid"):
        json.loads(state)
        count += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def rebuild_in_fresh_process(data_dir: Path) -> dict[str, float]:
    """Run ``rebuild`` below in a new interpreter, so its peak memory is the rebuild's own."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.read_models", "--rebuild-only", "--data", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(out.stdout)
    return figures


def rebuild(data_dir: Path) -> dict[str, float]:
    """Rebuild every view; report events/s and peak RSS in MB."""
    settings = Settings(data_dir=data_dir, projection_page_size=5000)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    started = time.perf_counter()
    events = read_side.runner.rebuild()
    elapsed = time.perf_counter() - started
    read_side.close()
    tracker.close()
    peak_mb = peak_rss_mb()
    return {
        "events": events,
        "page_size": max(read_side.runner.page_size, read_side.runner.rebuild_page_size),
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "peak_rss_mb": peak_mb,
    }


def storage_floor(data_dir: Path, *, journal: bool) -> float:
    """Events/s at which SQLite alone writes the rebuilt views: the ceiling of any rebuild.

    Copies every table of the rebuilt ``views.sqlite`` into a fresh file, in one transaction
    of ``INSERT INTO ... SELECT`` (rows in key order: the cheapest B-tree build there is), then
    builds the secondary indexes; nothing is decoded and no view logic runs. With ``journal``
    the new file is kept as the views are (WAL, ``synchronous=NORMAL``); without it there is
    no journal and no sync at all, a lower bound no in-place rebuild may use. The source is read
    once beforehand, so the figure is the writing, not the reading of the copy.
    """
    source = data_dir / "views.sqlite"
    with tempfile.TemporaryDirectory(dir=data_dir) as scratch:
        conn = sqlite3.connect(Path(scratch) / "floor.sqlite", isolation_level=None)
        try:
            pragmas = (
                ("journal_mode=WAL", "synchronous=NORMAL")
                if journal
                else (
                    "journal_mode=OFF",
                    "synchronous=OFF",
                )
            )
            for pragma in (*pragmas, "cache_size=-131072"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("ATTACH ? AS built", (str(source),))
            tables = conn.execute(
                "SELECT name, sql FROM built.sqlite_master WHERE type = 'table'"
            ).fetchall()
            indexes = [
                sql
                for (sql,) in conn.execute(
                    "SELECT sql FROM built.sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                )
            ]
            for name, sql in tables:
                conn.execute(sql)
                conn.execute(f'SELECT count(*) FROM built."{name}"').fetchone()
            started = time.perf_counter()
            conn.execute("BEGIN")
            for name, _ in tables:
                conn.execute(f'INSERT INTO main."{name}" SELECT * FROM built."{name}"')
            for sql in indexes:
                conn.execute(sql)
            conn.execute("COMMIT")
            elapsed = time.perf_counter() - started
            (events,) = conn.execute("SELECT count(*) FROM built.integrity_leaves").fetchone()
        finally:
            conn.close()
    return float(events) / elapsed


def as_at_latency(data_dir: Path, samples: int, seed: int = 3) -> dict[str, float]:
    """p50 and p99 (ms) of portfolio as-at queries at random dates, both axes alternating."""
    settings = Settings(data_dir=data_dir)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    read_side.runner.catch_up()
    rng = random.Random(seed)
    # Moments after the store's last event, so every store answers with its whole portfolio
    # however long ago it was generated (a moment before a store's events answers nothing).
    (last,) = tracker.recorder.select_notifications(start=tracker.head(), limit=1)
    ended = cast(PydanticMapper, tracker.mapper).recorded_at(last)
    timings = []
    for n in range(samples):
        if n % 2:
            as_at = AsAt(
                axis=Axis.EFFECTIVE, moment=date(2016, 1, 1) + timedelta(days=rng.randint(0, 3900))
            )
        else:
            as_at = AsAt(axis=Axis.RECORDED, moment=ended + timedelta(seconds=rng.randint(0, 600)))
        started = time.perf_counter()
        portfolio(read_side.engine, as_at)
        timings.append((time.perf_counter() - started) * 1000)
    read_side.close()
    tracker.close()
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
    }


def _without_ids(answer: object) -> object:
    """A portfolio answer with generated ids left out and lists in a fixed order."""
    if isinstance(answer, dict):
        return tuple(sorted((k, _without_ids(v)) for k, v in answer.items() if k != "key"))
    if isinstance(answer, list):
        return tuple(sorted((_without_ids(v) for v in answer), key=repr))
    return answer


def same_answers(first: Path, second: Path, days: list[date]) -> bool:
    """Whether two stores' portfolios are the same (ids aside) on each day and now."""

    def answers(data_dir: Path) -> list[object]:
        settings = Settings(data_dir=data_dir)
        tracker = create_tracker(settings)
        read_side = create_read_side(settings, tracker)
        try:
            read_side.runner.catch_up()
            moments = [AsAt(axis=Axis.EFFECTIVE, moment=day) for day in days]
            return [
                _without_ids(portfolio(read_side.engine, at).model_dump(mode="json"))
                for at in [*moments, None]
            ]
        finally:
            read_side.close()
            tracker.close()

    return answers(first) == answers(second)


def _serial(first: float, second: float) -> float:
    """The rate of doing two things one after the other, each at its own rate (events/s)."""
    return 1 / (1 / first + 1 / second)


def main() -> None:
    """Run the whole benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--data", type=Path, default=Path("var/bench"))
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--rebuild-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_only:
        print(json.dumps(rebuild(args.data)))
        return
    big = args.data / f"national-{args.projects}"
    small = args.data / f"national-{args.small}"
    same = args.data / f"national-{args.projects}-stages"
    big_events = ensure_store(big, args.projects)
    small_events = ensure_store(small, args.small)
    same_events = ensure_store(same, args.projects, stages_only=True)
    raw = raw_read(big)
    rebuilt = rebuild_in_fresh_process(big)
    floor = storage_floor(big, journal=True)
    bare_floor = storage_floor(big, journal=False)
    big_latency = as_at_latency(big, args.samples)
    small_latency = as_at_latency(small, args.samples)
    same_latency = as_at_latency(same, args.samples)
    days = [date(2016 + n, 1 + (5 * n) % 12, 1) for n in range(11)]
    identical = same_answers(big, same, days)

    def latency(figures: dict[str, float]) -> str:
        return f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"

    def ratio(figures: dict[str, float], base: dict[str, float]) -> str:
        return (
            f"p50 {figures['p50_ms'] / base['p50_ms']:.1f}x, "
            f"p99 {figures['p99_ms'] / base['p99_ms']:.1f}x"
        )

    rows = [
        ("store", f"{big_events:,} events ({args.projects:,} projects)", ""),
        ("raw limit: SELECT + JSON decode", f"{raw:,.0f} events/s", ""),
        (
            f"rebuild of all {len(VIEW_NAMES)} views (pages of {rebuilt['page_size']:,.0f} events)",
            f"{rebuilt['events_per_s']:,.0f} events/s ({rebuilt['seconds']:.0f}s)",
            f"ratio {rebuilt['events_per_s'] / raw:.2f} (goal >= 0.35)",
        ),
        (
            "storage floor: SQLite writing the rebuilt views' rows and indexes, nothing "
            "decoded, no view logic (WAL, as the views are kept)",
            f"{floor:,.0f} events/s",
            f"ratio {floor / raw:.2f}: the most a rebuild writing these views could reach, "
            f"were reading and all view logic free; {_serial(raw, floor) / raw:.2f} with "
            "the raw read before it",
        ),
        (
            "storage floor with no journal and no sync (unsafe in place: a lower bound)",
            f"{bare_floor:,.0f} events/s",
            f"ratio {bare_floor / raw:.2f}; {_serial(raw, bare_floor) / raw:.2f} with the "
            "raw read before it",
        ),
        ("rebuild peak memory (max RSS)", f"{rebuilt['peak_rss_mb']:.0f} MB", "goal < 500 MB"),
        (
            f"as-at portfolio, {same_events:,} events: the same portfolio at every date "
            "(only the events that move a stage)",
            latency(same_latency),
            f"answers equal to the national store's on {len(days)} dates and now: "
            f"{'yes' if identical else 'NO'}",
        ),
        (
            f"as-at portfolio, {small_events:,} events ({args.small} projects)",
            latency(small_latency),
            "",
        ),
        (
            f"as-at portfolio, {big_events:,} events ({args.projects:,} projects)",
            latency(big_latency),
            f"vs the same portfolio from a {big_events / same_events:.0f}x shorter log: "
            f"{ratio(big_latency, same_latency)} "
            f"(goal within 2x); vs {args.small} projects: {ratio(big_latency, small_latency)}",
        ),
    ]
    print("| measure | figure | against |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
