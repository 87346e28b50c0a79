"""Export downloads at the edges of the calendar: an answer or a 422, never a server error.

An as-at point on the recorded axis becomes a UTC cut-off; the last representable day (its
end is the last representable moment) and moments whose UTC time falls outside the calendar
once broke that conversion, and every as-at export with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from application.settings import Settings
from read_models.queries.common import AsAt, Axis
from tests.interfaces.api.world import World, served

EDGES = [
    ("recorded", "9999-12-31"),
    ("recorded", "9999-12-31T23:00:00-14:00"),
    ("recorded", "0001-01-01T00:00:00+14:00"),
    ("recorded", "0001-01-01"),
    ("effective", "9999-12-31"),
    ("effective", "0001-01-01"),
]
EXPORTS = [
    "events.jsonl",
    "stage_transitions.csv",
    "projects.parquet",
    "measures_long.csv",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(Settings(data_dir=Path(tmp_path_factory.mktemp("edges")))) as w:
        w.new_project()
        yield w


def test_the_cut_off_of_the_calendars_edges_is_its_first_or_last_moment() -> None:
    last = AsAt(axis=Axis.RECORDED, moment=date.max)
    assert last.cutoff == datetime.max
    late = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))
    assert AsAt(axis=Axis.RECORDED, moment=late).cutoff == datetime.max
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    assert AsAt(axis=Axis.RECORDED, moment=early).cutoff == datetime.min
    assert AsAt(axis=Axis.RECORDED, moment=date(2024, 3, 31)).cutoff == datetime(
        2024, 3, 31, 23, 59, 59, 999999
    )


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize(("axis", "at"), EDGES)
def test_an_as_at_export_at_the_calendars_edges_is_answered(
    world: World, name: str, axis: str, at: str
) -> None:
    answer = world.client.get(
        f"/api/exports/{name}",
        params={"axis": axis, "at": at, "wait": "true"},
        headers=world.headers("evaluator"),
    )
    assert answer.status_code == 200, answer.text
    everything = at.startswith("9999")
    if name == "events.jsonl":
        assert bool(answer.text) is everything
