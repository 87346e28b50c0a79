"""The ``impact`` command as a person runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def impact(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPACT_")}
    env |= {"IMPACT_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("cli")
    result = impact(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "Loaded 40 projects, 180 fellows, 25 organisations in 5 cohorts" in result.stdout
    return tmp_path


def test_demo_refuses_a_store_that_is_not_empty(loaded: Path) -> None:
    result = impact(loaded, "demo")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: The store is not empty; use --force to add the demo programme anyway."
    )


def test_demo_if_empty_succeeds_without_loading_twice(loaded: Path) -> None:
    result = impact(loaded, "demo", "--if-empty")
    assert result.returncode == 0
    assert "demo not loaded" in result.stdout


def test_history_prints_every_event_of_a_project(loaded: Path) -> None:
    listing = impact(loaded, "projects")
    project_id = listing.stdout.split("│")[1].strip()
    table = impact(loaded, "history", project_id)
    assert table.returncode == 0, table.stderr
    assert "ProjectProposed" in table.stdout
    assert "MeasurementCorrected" in table.stdout
    lines = impact(loaded, "history", project_id, "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["event_type"] == "ProjectProposed"
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))


def test_history_of_an_unknown_or_malformed_id_is_one_clear_line(loaded: Path) -> None:
    unknown = impact(loaded, "history", "00000000-0000-0000-0000-000000000000")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "error: There is no project with id 00000000-0000-0000-0000-000000000000.",
    )
    malformed = impact(loaded, "history", "42")
    assert (malformed.returncode, malformed.stderr.strip()) == (
        1,
        "error: '42' is not a project id (a UUID).",
    )


def test_a_bad_setting_is_reported_in_one_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("IMPACT_DATABASE_URL=mysql://nope/x\n")
    result = impact(tmp_path, "projects")
    assert result.returncode == 1
    assert result.stderr.startswith("error: setting IMPACT_DATABASE_URL:")


def test_measures_export_in_mdc_long_format(loaded: Path) -> None:
    import csv

    target = loaded / "measures.csv"
    result = impact(loaded, "export", "measures", "--output", str(target))
    assert result.returncode == 0, result.stderr
    with target.open() as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == [
        "metric_id",
        "metric_name",
        "unit",
        "improvement_direction",
        "target",
        "baseline_points",
        "group_type",
        "group_id",
        "group_name",
        "date",
        "value",
        "phase",
        "recalculate_limits",
        "ghost",
        "astronomical",
        "annotation",
    ]
    by_metric: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_metric.setdefault(row["metric_id"], []).append(row)
    # One measure per demo project; the five "piloted" ones have no values yet. The demo marks
    # no recalculation points, so, like the charts, the export starts no second phase.
    assert len(by_metric) == 35
    marks = [sum(r["recalculate_limits"] == "True" for r in rs) for rs in by_metric.values()]
    assert set(marks) == {0}
    assert any("Pilot started" in r["annotation"] for r in rows)


def test_verify_and_a_project_proof_from_the_command_line(loaded: Path) -> None:
    made = impact(loaded, "checkpoint")
    assert made.returncode == 0, made.stderr
    intact = impact(loaded, "verify")
    assert intact.returncode == 0, intact.stderr
    assert "The log is intact." in intact.stdout
    listing = impact(loaded, "projects")
    project_id = listing.stdout.split("│")[1].strip()
    from application.settings import Settings
    from read_models.database import create_views_engine
    from read_models.integrity.checkpoints import list_checkpoints

    engine = create_views_engine(Settings(data_dir=loaded / "var"))
    saved = list_checkpoints(engine)[-1]
    engine.dispose()
    file = loaded / "checkpoint.json"
    file.write_text(saved.model_dump_json())
    proved = impact(loaded, "verify", "--checkpoint", str(file), "--project", project_id)
    assert proved.returncode == 0, proved.stderr
    assert proved.stdout.startswith("Verified:")
    half = impact(loaded, "verify", "--project", project_id)
    assert (half.returncode, half.stderr.strip()) == (
        1,
        "error: Give both --checkpoint FILE and --project ID.",
    )


def test_evaluator_exports_from_the_command_line(loaded: Path) -> None:
    events = impact(loaded, "export", "events", "--since", "2025-01-01")
    assert events.returncode == 0, events.stderr
    rows = [json.loads(line) for line in events.stdout.splitlines()]
    assert rows
    assert all(r["occurred_on"] >= "2025-01-01" for r in rows)
    assert all(r["actor"].startswith("person-") for r in rows)
    transitions = impact(loaded, "export", "stage-transitions")
    lines = transitions.stdout.splitlines()
    assert lines[0] == "project_id,from_stage,to_stage,effective_date,recorded_at"
    assert sum(",proposed,piloted," in line for line in lines) == 35
    bad = impact(loaded, "export", "events", "--until", "yesterday")
    assert (bad.returncode, bad.stderr.startswith("error: bad filter")) == (1, True)
