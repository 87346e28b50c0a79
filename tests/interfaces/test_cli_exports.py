"""``impact export`` with filters, as a person runs it: the same answers as a replay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from application.bootstrap import create_tracker
from application.settings import Settings
from application.tracker import ImpactTracker
from read_models.queries.exports import ProjectScope
from tests.conftest import ADMIN, FELLOW, set_up_programme
from tests.interfaces.test_cli import impact
from tests.read_models import test_exports_oracle as replay
from tests.read_models.test_exports_oracle import DAY, Scenario, record_scenario


@dataclass(frozen=True)
class Recorded:
    """A data directory holding the scenario, and a tracker to replay it with."""

    path: Path
    tracker: ImpactTracker
    scenario: Scenario


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    path = tmp_path_factory.mktemp("cli-exports")
    tracker = create_tracker(Settings(data_dir=path / "var"))
    try:
        scenario = record_scenario(tracker, set_up_programme(tracker))
        yield Recorded(path, tracker, scenario)
    finally:
        tracker.close()


def export(recorded: Recorded, *args: str) -> str:
    result = impact(recorded.path, "export", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_scope_options_narrow_each_export_as_a_replay_does(recorded: Recorded) -> None:
    s, tracker = recorded.scenario, recorded.tracker
    in_b = ProjectScope(system_id=s.other_system_id)
    projects = replay.read_csv(export(recorded, "projects", "--system", str(s.other_system_id)))
    assert [r["project_id"] for r in projects] == [str(s.elsewhere)]
    council = ProjectScope(organisation_id=s.programme.council_id)
    transitions = export(
        recorded, "stage-transitions", "--organisation", str(s.programme.council_id)
    )
    assert replay.transition_keys(replay.read_csv(transitions)) == replay.stage_transitions(
        tracker, council
    )
    cohort = ProjectScope(cohort_id=s.programme.cohort_id)
    points = export(recorded, "measures", "--cohort", str(s.programme.cohort_id))
    assert replay.point_keys(replay.read_csv(points)) == replay.measure_points(tracker, cohort)
    events = replay.read_jsonl(export(recorded, "events", "--system", str(s.other_system_id)))
    assert replay.event_keys(events) == replay.events(tracker, in_b)
    organisations = export(recorded, "organisations", "--system", str(s.other_system_id))
    assert [r["name"] for r in replay.read_csv(organisations)] == ["Other Trust"]


def test_as_at_options_give_each_export_as_it_stood_on_either_axis(recorded: Recorded) -> None:
    s, tracker, everything = recorded.scenario, recorded.tracker, ProjectScope()
    moment = ("--as-at", s.cutoff.isoformat().replace("+00:00", "Z"), "--axis", "recorded")
    projects = replay.project_rows(replay.read_csv(export(recorded, "projects", *moment)))
    assert projects == replay.projects(tracker, everything, replay.recorded_at(s))
    assert str(s.late) not in projects
    transitions = replay.read_csv(export(recorded, "stage-transitions", *moment))
    assert replay.transition_keys(transitions) == replay.stage_transitions(
        tracker, everything, replay.recorded_at(s)
    )
    day = ("--as-at", DAY.isoformat(), "--axis", "effective")
    events = replay.read_jsonl(export(recorded, "events", *day, "--since", "2024-03-01"))
    expected = replay.events(tracker, everything, replay.effective_on(), date(2024, 3, 1))
    assert replay.event_keys(events) == expected
    points = replay.read_csv(export(recorded, "measures", *day))
    assert replay.point_keys(points) == replay.measure_points(
        tracker, everything, replay.effective_on()
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["projects", "--cohort", "cohort-1"], "bad filter --cohort: 'cohort-1' is not an id"),
        (["events", "--since", "2024-02-30"], "bad filter --since: '2024-02-30' is not a date"),
        (
            ["measures", "--since", "2024-05-01", "--until", "2024-04-01"],
            "bad filter --until: until (2024-04-01) is before since (2024-05-01).",
        ),
        (["projects", "--as-at", "2024-04-15"], "bad filter --axis: give --axis recorded"),
        (["stage-transitions", "--axis", "recorded"], "bad filter --axis: give --as-at too."),
        (
            ["events", "--as-at", "2024-04-15T10:00:00", "--axis", "recorded"],
            "bad filter --as-at: a moment needs a time zone",
        ),
        (
            ["organisations", "--system", "00000000-0000-0000-0000-000000000000"],
            "bad filter --system: There is no system with id 00000000-0000-0000-0000-000000000000.",
        ),
    ],
)
def test_bad_filters_are_refused_in_one_line_naming_the_option(
    recorded: Recorded, args: list[str], message: str
) -> None:
    result = impact(recorded.path, "export", *args)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert result.stdout == ""


def test_an_organisation_id_given_as_a_cohort_is_refused_naming_the_option(
    recorded: Recorded,
) -> None:
    trust = str(recorded.scenario.programme.trust_id)
    result = impact(recorded.path, "export", "events", "--cohort", trust)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        f"error: bad filter --cohort: There is no cohort with id {trust}.",
    )


def test_events_name_people_only_by_pseudonym_unless_real_ids_are_asked_for(
    recorded: Recorded,
) -> None:
    p = recorded.scenario.programme
    people = [str(p.lead_fellow_id), str(p.other_fellow_id), FELLOW.user_id, ADMIN.user_id]
    real = export(recorded, "events", "--real-ids")
    assert [person for person in people if person not in real] == []
    hidden = export(recorded, "events")
    assert [person for person in people if person in hidden] == []
    enrolled = [r for r in replay.read_jsonl(hidden) if r["event_type"] == "FellowEnrolled"]
    assert len(enrolled) >= 2
    assert all(r["stream_id"].startswith("person-") for r in enrolled)


@pytest.mark.parametrize("name", ["projects", "stage-transitions", "organisations", "measures"])
def test_a_parquet_export_holds_the_csv_rows_with_typed_cells(
    recorded: Recorded, name: str
) -> None:
    target = recorded.path / f"{name}.parquet"
    result = impact(recorded.path, "export", name, "--format", "parquet", "--output", str(target))
    assert result.returncode == 0, result.stderr
    rows = replay.assert_parquet_is_the_csv(target.read_bytes(), export(recorded, name))
    assert rows
    typed = {"projects": "proposed_on", "stage-transitions": "recorded_at", "measures": "value"}
    if name in typed:
        assert not isinstance(rows[0][typed[name]], str)
