"""Export benchmark: ``impact export events`` on the national store, its rows/s and peak memory.

    python -m benchmarks.exports [--projects 10000] [--small 100] [--data var/bench]

The claim under test is that exports stream: a million-event export never holds the log in
memory. Each export runs in a fresh process (so its peak RSS is its own), as the CLI command
an evaluator runs (pseudonymised JSON lines to a file), on the national store and on a store a
hundred times smaller; streaming means their peaks are about the same, and both are close to
the peak of a process that only loads the command. Rows/s is set against the raw read limit
(``SELECT`` + JSON decode of the same stored events) measured in the same run, as
``benchmarks.read_models`` does, because the machine is shared and noisy.

The stores are those of ``benchmarks.read_models`` (generated once under ``var/bench/`` and
reused); their views are caught up before anything is timed, since the command catches them
up first and that is the rebuild's cost, measured there.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from application.bootstrap import create_tracker
from application.settings import Settings
from benchmarks.memory import peak_rss_mb
from benchmarks.read_models import ensure_store, raw_read
from read_models.bootstrap import create_read_side


def catch_up(data_dir: Path) -> None:
    """Bring the store's views up to date (untimed: the export command would do it first)."""
    settings = Settings(data_dir=data_dir, projection_page_size=5000)
    tracker = create_tracker(settings)
    read_side = create_read_side(settings, tracker)
    try:
        started = time.perf_counter()
        read_side.runner.catch_up()
        print(
            f"views of {data_dir} caught up in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )
    finally:
        read_side.close()
        tracker.close()


def export_in_fresh_process(data_dir: Path, output: Path | None) -> dict[str, float]:
    """Run ``export_events`` below in a new interpreter; without ``output``, only load it."""
    command = [sys.executable, "-m", "benchmarks.exports", "--export-only", "--data", str(data_dir)]
    if output is not None:
        command += ["--output", str(output)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(out.stdout.splitlines()[-1])
    return figures


def export_events(data_dir: Path, output: Path | None) -> dict[str, float]:
    """``impact export events --output FILE`` in this process; rows, seconds and peak RSS (MB).

    Without ``output`` nothing is exported: the peak of a process that loaded the command.
    """
    os.environ["IMPACT_DATA_DIR"] = str(data_dir)
    from interfaces.cli.main import app

    rows = 0
    started = time.perf_counter()
    if output is not None:
        app(["export", "events", "--output", str(output)], standalone_mode=False)
        with output.open("rb") as file:
            rows = sum(1 for _ in file)
    elapsed = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed if rows else 0.0,
        "bytes": output.stat().st_size if output is not None else 0,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    """Run the whole benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--data", type=Path, default=Path("var/bench"))
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        print(json.dumps(export_events(args.data, args.output)))
        return
    big = args.data / f"national-{args.projects}"
    small = args.data / f"national-{args.small}"
    big_events = ensure_store(big, args.projects)
    small_events = ensure_store(small, args.small)
    catch_up(big)
    catch_up(small)
    raw = raw_read(big)
    loaded = export_in_fresh_process(small, None)
    small_run = export_in_fresh_process(small, args.data / "events-small.jsonl")
    big_run = export_in_fresh_process(big, args.data / "events-national.jsonl")
    for path in (args.data / "events-small.jsonl", args.data / "events-national.jsonl"):
        path.unlink()

    def run(figures: dict[str, float]) -> str:
        return (
            f"{figures['rows_per_s']:,.0f} rows/s ({figures['rows']:,.0f} rows, "
            f"{figures['bytes'] / 2**20:,.0f} MB, {figures['seconds']:.0f}s)"
        )

    rows = [
        ("store", f"{big_events:,} events ({args.projects:,} projects)", ""),
        ("raw limit: SELECT + JSON decode", f"{raw:,.0f} events/s", ""),
        (
            "`impact export events` (pseudonymised JSON lines to a file), national store",
            run(big_run),
            f"ratio {big_run['rows_per_s'] / raw:.2f} of the raw limit",
        ),
        (
            f"the same, {small_events:,} events ({args.small} projects)",
            run(small_run),
            "",
        ),
        (
            "peak memory (max RSS): the command loaded, nothing exported",
            f"{loaded['peak_rss_mb']:.0f} MB",
            "",
        ),
        (
            f"peak memory (max RSS): export of {small_events:,} events",
            f"{small_run['peak_rss_mb']:.0f} MB",
            "",
        ),
        (
            f"peak memory (max RSS): export of {big_events:,} events",
            f"{big_run['peak_rss_mb']:.0f} MB",
            f"{big_run['peak_rss_mb'] / small_run['peak_rss_mb']:.2f}x the small export's for "
            f"{big_events / small_events:.0f}x the events (bounded: goal <= 1.25x)",
        ),
    ]
    print("| measure | figure | against |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
