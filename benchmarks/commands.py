"""Command throughput through the application against the raw write limit of the same engine.

    python -m benchmarks.commands [--commands 2000] [--batch 240] [--batches 20]
                                  [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

For each engine (SQLite, and PostgreSQL when reachable), in one run:
- single commands: ``record_measurement`` one at a time through ``ImpactTracker`` (load the
  project, check the rules, store the event and its notification, one
  transaction) against a plain single-row ``INSERT`` + ``COMMIT`` of the same stored bytes into a
  table of the same shape — commands/s and the ratio (goal >= 0.5), with p50/p99 latency;
- the bulk path: ``paste_measurements`` of ``--batch`` values in one command against one
  multi-row ``INSERT`` of as many rows in one transaction — values (rows) per second and the
  ratio.  A paste is one ``MeasurementsPasted`` event holding every value, so the app side
  stores one row where the raw side stores one per value: the goal is the fellow's act against
  the cheapest way a database could take the same values.
The machine is shared and noisy, so only ratios measured in the same run are claimed, and the
two sides take turns (blocks of 100 single commands, then 100 raw inserts; one paste, then one
raw batch) so that a change of load during the run falls on both.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import psycopg
from psycopg import sql

from application.bootstrap import create_tracker
from application.settings import Settings
from application.tracker import ImpactTracker
from benchmarks.national import generate
from domain import commands as c
from domain.values import Actor, ImprovementDirection, Role, Stage

FELLOW = Actor(user_id="bench-fellow", role=Role.FELLOW)


@dataclass(frozen=True)
class Sizes:
    """How much each path does: store size, single commands, bulk batches."""

    projects: int
    commands: int
    batch: int
    batches: int


@dataclass
class Rate:
    """Operations per second, and per-operation latency."""

    per_second: float
    p50_ms: float
    p99_ms: float


def _rate(latencies: list[float], operations_each: int = 1) -> Rate:
    total = sum(latencies)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return Rate(len(latencies) * operations_each / total, cuts[49] * 1000, cuts[98] * 1000)


def _months_back(count: int) -> list[date]:
    today = date.today()
    index = today.year * 12 + today.month - 2  # last month
    return [date((index - n) // 12, (index - n) % 12 + 1, 1) for n in range(count)]


def _open_projects(tracker: ImpactTracker, wanted: int) -> list[UUID]:
    found = []
    for project_id, _title in tracker.proposed_projects():
        project = tracker.project(project_id)
        if project.status.value == "active" and project.stage is not Stage.PROPOSED:
            found.append(project_id)
        if len(found) == wanted:
            return found
    msg = "the generated store has too few open projects"
    raise RuntimeError(msg)


def _new_measure(tracker: ImpactTracker, project_id: UUID, name: str) -> UUID:
    result = tracker.define_measure(
        FELLOW,
        project_id,
        c.DefineMeasure(
            occurred_on=date.today(),
            name=name,
            unit="per month",
            direction=ImprovementDirection.DOWN,
        ),
    )
    assert result.entity_id is not None
    return result.entity_id


Row = tuple[str, int, str, bytes]
Write = Callable[[list[Row]], None]
BLOCK = 100  # single commands timed in turn with as many raw inserts


def _rows(count: int, topic: str, state: bytes) -> Iterator[Row]:
    stream = str(uuid.uuid4())
    for version in range(1, count + 1):
        yield (stream, version, topic, state)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def single_runs(
    tracker: ImpactTracker, write: Write, sample: tuple[str, bytes], commands: int
) -> tuple[Rate, Rate]:
    """Single commands against single-row ``INSERT`` + ``COMMIT``, in alternating blocks.

    ``record_measurement`` one at a time, over 20 projects' new measures, then as many raw
    single-row transactions, ``BLOCK`` of each in turn.

    Alternating blocks means a change in the shared machine's load falls on both sides
    alike, so the ratio measures the application rather than when each side happened to run.
    """
    projects = _open_projects(tracker, 20)
    measures = [(p, _new_measure(tracker, p, "Bench single")) for p in projects]
    months = _months_back(commands // len(measures) + 1)
    raw_rows = _rows(commands, *sample)
    app: list[float] = []
    raw: list[float] = []
    for block in range(0, commands, BLOCK):
        numbers = range(block, min(block + BLOCK, commands))
        for n in numbers:
            project_id, measure_id = measures[n % len(measures)]
            command = c.RecordMeasurement(
                occurred_on=date.today(),
                measure_id=measure_id,
                period=months[n // len(measures)],
                value=float(n % 50),
            )
            app.append(_timed(partial(tracker.record_measurement, FELLOW, project_id, command)))
        for _ in numbers:
            raw.append(_timed(partial(write, [next(raw_rows)])))
    return _rate(app), _rate(raw)


def bulk_runs(
    tracker: ImpactTracker, write: Write, sample: tuple[str, bytes], batch: int, batches: int
) -> tuple[Rate, Rate]:
    """Pasted columns against multi-row inserts, taking turns (values/s on both sides).

    Each ``paste_measurements`` of ``batch`` values is followed by one multi-row ``INSERT`` of
    as many rows in one transaction.
    """
    projects = _open_projects(tracker, batches)
    first = _months_back(batch)[-1]
    pasted = "\n".join(str(40 + n % 7) for n in range(batch))
    app: list[float] = []
    raw: list[float] = []
    for project_id in projects:
        measure_id = _new_measure(tracker, project_id, "Bench bulk")
        command = c.PasteMeasurements(
            occurred_on=date.today(), measure_id=measure_id, first_period=first, pasted=pasted
        )
        app.append(_timed(partial(tracker.paste_measurements, FELLOW, project_id, command)))
        raw.append(_timed(partial(write, list(_rows(batch, *sample)))))
    return _rate(app, batch), _rate(raw, batch)


def _runs(
    tracker: ImpactTracker, write: Write, sample: tuple[str, bytes], sizes: Sizes
) -> dict[str, Rate]:
    results = {}
    results["app single"], results["raw single"] = single_runs(
        tracker, write, sample, sizes.commands
    )
    results["app bulk"], results["raw bulk"] = bulk_runs(
        tracker, write, sample, sizes.batch, sizes.batches
    )
    return {k: results[k] for k in ("app single", "app bulk", "raw single", "raw bulk")}


def _served(tracker: ImpactTracker) -> ImpactTracker:
    """The tracker with the start-up objects frozen, as a serving process has them.

    ``interfaces.http.asgi.serving_app`` collects and freezes (``gc.freeze``) what start-up
    built, so that a full collection never walks the modules, schemas and routes again.  Without
    it here, one full collection (tens of ms, set off by a paste's hundreds of new objects) fell
    inside one of the 20 timed pastes or not, by chance, and moved the bulk ratio by a third.
    The generated store, made after this, stays in the collector's sight, as a served store's
    cached projects do.
    """
    gc.collect()
    gc.freeze()
    return tracker


def run_sqlite(folder: Path, sizes: Sizes) -> dict[str, Rate]:
    """Both paths on a SQLite store, and the raw limit on a table in the same database file."""
    settings = Settings(data_dir=folder)
    tracker = _served(create_tracker(settings))
    conn = sqlite3.connect(folder / "events.sqlite", isolation_level=None)
    try:
        generate(tracker, sizes.projects)
        conn.execute("PRAGMA journal_mode=WAL")
        (ddl,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name='stored_events'"
        ).fetchone()
        conn.execute(ddl.replace("stored_events", "raw_events", 1))
        row = conn.execute(
            "SELECT topic, state FROM stored_events WHERE topic LIKE '%MeasurementRecorded' LIMIT 1"
        ).fetchone()

        def write(rows: list[Row]) -> None:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")

        return _runs(tracker, write, (row[0], row[1]), sizes)
    finally:
        conn.close()
        tracker.close()


@contextmanager
def _throwaway(admin_url: str) -> Iterator[str]:
    name = f"impact_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_postgres(admin_url: str, folder: Path, sizes: Sizes) -> dict[str, Rate]:
    """Both paths on PostgreSQL, and the raw limit on a table LIKE stored_events."""
    with _throwaway(admin_url) as url:
        settings = Settings(database_url=url, data_dir=folder)
        tracker = _served(create_tracker(settings))
        try:
            generate(tracker, sizes.projects)
            with psycopg.connect(url, autocommit=True) as conn:
                found = conn.execute(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE column_name = 'originator_version' AND table_name LIKE '%%_events' "
                    "AND table_schema = 'public'"
                ).fetchone()
                assert found is not None, "no events table"
                table = sql.Identifier(found[0])
                conn.execute(
                    sql.SQL("CREATE TABLE raw_events (LIKE {} INCLUDING ALL)").format(table)
                )
                sample = conn.execute(
                    sql.SQL(
                        "SELECT topic, state FROM {} "
                        "WHERE topic LIKE '%%MeasurementRecorded' LIMIT 1"
                    ).format(table)
                ).fetchone()
                assert sample is not None
                topic, state = sample

                def write(rows: list[Row]) -> None:
                    with conn.transaction(), conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO raw_events "
                            "(originator_id, originator_version, topic, state) "
                            "VALUES (%s, %s, %s, %s)",
                            rows,
                        )

                return _runs(tracker, write, (topic, bytes(state)), sizes)
        finally:
            tracker.close()


def report(engine: str, results: dict[str, Rate], batch: int) -> None:
    """One table per engine, with the ratios the issue asks for."""
    print(f"\n{engine}")
    print(f"{'path':<12} {'per second':>12} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate in results.items():
        unit = "values" if "bulk" in name else "commands"
        print(
            f"{name:<12} {rate.per_second:>12,.0f} {rate.p50_ms:>8.2f} {rate.p99_ms:>8.2f}  {unit}"
        )
    single = results["app single"].per_second / results["raw single"].per_second
    bulk = results["app bulk"].per_second / results["raw bulk"].per_second
    print(f"ratio single command / raw INSERT+COMMIT: {single:.2f} (goal >= 0.5)")
    print(f"ratio bulk ({batch} values) / raw multi-row INSERT: {bulk:.2f} (goal >= 0.5)")


def main() -> None:
    """Run both engines and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--projects", type=int, default=100, help="projects in the store first")
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=240)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    sizes = Sizes(args.projects, args.commands, args.batch, args.batches)
    with tempfile.TemporaryDirectory(prefix="impact-bench-") as folder:
        sqlite_results = run_sqlite(Path(folder) / "sqlite", sizes)
        report("SQLite (WAL, synchronous=FULL)", sqlite_results, args.batch)
        try:
            with psycopg.connect(args.postgres, connect_timeout=3):
                pass
        except psycopg.OperationalError as e:
            print(f"\nPostgreSQL skipped: {e}")
            return
        pg_results = run_postgres(args.postgres, Path(folder) / "pg", sizes)
        report("PostgreSQL", pg_results, args.batch)


if __name__ == "__main__":
    main()
