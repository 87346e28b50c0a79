"""Export downloads with filters: the same answers as a replay, bad input a 422 naming the field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

import pytest

from application.settings import Settings
from read_models.queries.exports import ProjectScope
from tests.interfaces.api.world import World, served
from tests.read_models import test_exports_oracle as replay
from tests.read_models.test_exports_oracle import DAY, Scenario, record_scenario

EXPORTS = [
    "events.jsonl",
    "stage_transitions.csv",
    "projects.csv",
    "organisations.csv",
    "measures_long.csv",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Scenario]]:
    data = Path(tmp_path_factory.mktemp("exports"))
    with served(Settings(data_dir=data, projection_poll_seconds=0.05)) as w:
        yield w, record_scenario(w.tracker, w.programme)


def download(
    world: World, name: str, query: Mapping[str, object] | None = None, who: str = "evaluator"
) -> str:
    answer = world.client.get(
        f"/api/exports/{name}",
        params={"wait": "true", **{k: str(v) for k, v in (query or {}).items()}},
        headers=world.headers(who),
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def test_each_scope_parameter_narrows_every_download_as_a_replay_does(
    world: tuple[World, Scenario],
) -> None:
    w, s = world
    tracker = w.tracker
    for query in (
        {"cohort_id": s.other_cohort_id},
        {"system_id": w.programme.system_id},
        {"organisation_id": w.programme.council_id},
        {"system_id": w.programme.system_id, "organisation_id": s.other_trust_id},
    ):
        scope = ProjectScope.model_validate(query)
        events = replay.read_jsonl(download(w, "events.jsonl", query))
        assert replay.event_keys(events) == replay.events(tracker, scope), query
        transitions = replay.read_csv(download(w, "stage_transitions.csv", query))
        assert replay.transition_keys(transitions) == replay.stage_transitions(tracker, scope)
        projects = replay.read_csv(download(w, "projects.csv", query))
        assert replay.project_rows(projects) == replay.projects(tracker, scope), query
        points = replay.read_csv(download(w, "measures_long.csv", query))
        assert replay.point_keys(points) == replay.measure_points(tracker, scope), query
    only_b = replay.read_csv(download(w, "projects.csv", {"system_id": s.other_system_id}))
    assert [r["project_id"] for r in only_b] == [str(s.elsewhere)]


def test_as_at_parameters_give_each_download_as_it_stood_on_either_axis(
    world: tuple[World, Scenario],
) -> None:
    w, s = world
    tracker, everything = w.tracker, ProjectScope()
    for as_at, query in (
        (replay.recorded_at(s), {"axis": "recorded", "at": s.cutoff.isoformat()}),
        (replay.effective_on(DAY), {"axis": "effective", "at": DAY.isoformat()}),
    ):
        # As an admin: the replay names fellows' own streams by their real ids.
        events = replay.read_jsonl(download(w, "events.jsonl", query, "admin"))
        assert replay.event_keys(events) == replay.events(tracker, everything, as_at)
        transitions = replay.read_csv(download(w, "stage_transitions.csv", query))
        assert replay.transition_keys(transitions) == replay.stage_transitions(
            tracker, everything, as_at
        )
        projects = replay.project_rows(replay.read_csv(download(w, "projects.csv", query)))
        assert projects == replay.projects(tracker, everything, as_at)
        points = replay.read_csv(download(w, "measures_long.csv", query))
        assert replay.point_keys(points) == replay.measure_points(tracker, everything, as_at)
        assert str(s.measured) in projects
        assert projects[str(s.measured)]["adopted_on"] == ""
    recorded = replay.read_csv(
        download(w, "projects.csv", {"axis": "recorded", "at": s.cutoff.isoformat()})
    )
    assert str(s.late) not in {r["project_id"] for r in recorded}


def test_an_effective_range_narrows_events_transitions_and_measure_periods(
    world: tuple[World, Scenario],
) -> None:
    w, _ = world
    tracker, everything = w.tracker, ProjectScope()
    since, until = date(2024, 3, 1), date(2024, 4, 30)
    query = {"since": since.isoformat(), "until": until.isoformat()}
    events = replay.read_jsonl(download(w, "events.jsonl", query))
    assert replay.event_keys(events) == replay.events(tracker, everything, None, since, until)
    assert events
    transitions = replay.read_csv(download(w, "stage_transitions.csv", query))
    assert replay.transition_keys(transitions) == replay.stage_transitions(
        tracker, everything, None, since, until
    )
    points = replay.read_csv(download(w, "measures_long.csv", query))
    assert {(r["date"], r["value"]) for r in points} == {
        ("2024-03-01", "20.0"),
        ("2024-04-01", "35.0"),
    }


def test_organisations_download_narrows_to_one_system(world: tuple[World, Scenario]) -> None:
    w, s = world
    rows = replay.read_csv(download(w, "organisations.csv", {"system_id": s.other_system_id}))
    assert [(r["name"], r["system_id"]) for r in rows] == [("Other Trust", str(s.other_system_id))]
    assert len(replay.read_csv(download(w, "organisations.csv"))) == 3


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("projects.csv", {"cohort_id": "cohort-1"}, "cohort_id"),
        ("events.jsonl", {"organisation_id": "42"}, "organisation_id"),
        ("stage_transitions.csv", {"since": "2024-02-30"}, "since"),
        ("measures_long.csv", {"since": "2024-05-01", "until": "2024-04-01"}, "until"),
        ("events.jsonl", {"axis": "effective"}, "at"),
        ("projects.csv", {"at": "2024-04-15"}, "axis"),
        ("projects.csv", {"axis": "sideways", "at": "2024-04-15"}, "axis"),
        ("stage_transitions.csv", {"axis": "recorded", "at": "15/04/2024"}, "at"),
        ("organisations.csv", {"system_id": "nope"}, "system_id"),
    ],
)
def test_malformed_filters_are_a_422_naming_the_field(
    world: tuple[World, Scenario], name: str, query: dict[str, str], field: str
) -> None:
    w, _ = world
    answer = w.client.get(f"/api/exports/{name}", params=query, headers=w.headers("evaluator"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


@pytest.mark.parametrize("name", ["projects.csv", "events.jsonl", "measures_long.csv"])
def test_an_id_that_names_nothing_is_a_422_naming_the_field(
    world: tuple[World, Scenario], name: str
) -> None:
    w, s = world
    for field, wrong in (
        ("cohort_id", s.other_system_id),
        ("system_id", s.other_cohort_id),
        ("organisation_id", s.other_cohort_id),
    ):
        answer = w.client.get(
            f"/api/exports/{name}", params={field: str(wrong)}, headers=w.headers("evaluator")
        )
        assert (answer.status_code, answer.json()["error"]) == (422, "unknown_reference")
        assert answer.json()["field"] == field
        assert str(wrong) in answer.json()["detail"]
    unknown_system = {"system_id": str(s.other_trust_id)}
    answer = w.client.get(
        "/api/exports/organisations.csv", params=unknown_system, headers=w.headers("evaluator")
    )
    assert (answer.status_code, answer.json()["field"]) == (422, "system_id")


@pytest.mark.parametrize("name", EXPORTS)
def test_filters_change_nothing_about_who_may_download(
    world: tuple[World, Scenario], name: str
) -> None:
    w, s = world
    query = {"system_id": str(s.other_system_id)}
    for who, status in (("member", 403), ("sponsor", 403), (None, 401), ("admin", 200)):
        answer = w.client.get(f"/api/exports/{name}", params=query, headers=w.headers(who))
        assert answer.status_code == status, (who, answer.text)
    bad_filter = {"cohort_id": "not-an-id"}
    if name != "organisations.csv":  # refused before the filters are read or looked up
        for wrong in (bad_filter, {"cohort_id": str(s.other_system_id)}):
            answer = w.client.get(f"/api/exports/{name}", params=wrong, headers=w.headers("member"))
            assert answer.status_code == 403, answer.text


def test_admins_get_real_ids_and_evaluators_pseudonyms_with_filters_too(
    world: tuple[World, Scenario],
) -> None:
    w, s = world
    query = {"cohort_id": str(s.other_cohort_id)}
    evaluator = replay.read_jsonl(download(w, "events.jsonl", query))
    admin = replay.read_jsonl(download(w, "events.jsonl", query, "admin"))
    assert replay.event_keys(evaluator) == replay.event_keys(admin)
    assert {r["actor"] for r in admin} == {"fellow-1"}
    assert all(r["actor"].startswith("person-") for r in evaluator)


def test_the_openapi_document_lists_each_downloads_filters(world: tuple[World, Scenario]) -> None:
    w, _ = world
    paths = w.client.get("/openapi.json").json()["paths"]
    scope = {"cohort_id", "system_id", "organisation_id"}
    expected = {
        "events.jsonl": scope | {"since", "until", "axis", "at"},
        "stage_transitions.csv": scope | {"since", "until", "axis", "at"},
        "projects.csv": scope | {"axis", "at"},
        "organisations.csv": {"system_id"},
        "measures_long.csv": scope | {"since", "until", "axis", "at"},
    }
    for name, parameters in expected.items():
        documented = paths[f"/api/exports/{name}"]["get"]["parameters"]
        assert {p["name"] for p in documented} == parameters | {"wait"}, name
        assert all(p.get("description") for p in documented), name
