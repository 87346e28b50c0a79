"""The measures view keeps astronomical flags and baselines, incrementally and on a rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from read_models.bootstrap import ReadSide, create_read_side
from read_models.queries.measures import measure_series, project_measures
from tests.conftest import FELLOW, Programme
from tests.read_models.dump import dump_views
from tests.read_models.test_views import piloted_with_measure


@pytest.fixture
def read_side(settings: Settings, tracker: ImpactTracker) -> Iterator[ReadSide]:
    side = create_read_side(settings, tracker)
    yield side
    side.close()


def test_flags_and_baselines_are_kept_in_order_and_rebuilt_the_same(
    tracker: ImpactTracker, programme: Programme, read_side: ReadSide
) -> None:
    project_id, measure_id = piloted_with_measure(tracker, programme)
    tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=measure_id,
            first_period=date(2024, 1, 1),
            pasted="5\n6\n40\n5\n7",
        ),
    )
    made = [m.measurement_id for m in tracker.project(project_id).measurements]
    on = date(2024, 6, 2)
    baseline = c.SetBaseline(occurred_on=on, measure_id=measure_id, points=3, reason="Agreed")
    tracker.set_baseline(FELLOW, project_id, baseline)
    for measurement_id, reason in ((made[2], "Ward shut"), (made[4], "Miscount")):
        flag = c.FlagAstronomical(occurred_on=on, measurement_id=measurement_id, reason=reason)
        tracker.flag_astronomical(FELLOW, project_id, flag)
    unflag = c.UnflagAstronomical(occurred_on=on, measurement_id=made[4])
    tracker.unflag_astronomical(FELLOW, project_id, unflag)
    tracker.clear_baseline(
        FELLOW, project_id, c.ClearBaseline(occurred_on=on, measure_id=measure_id)
    )
    longer = baseline.model_copy(update={"points": 4, "reason": "Longer"})
    tracker.set_baseline(FELLOW, project_id, longer)
    read_side.runner.catch_up()  # one page: the measure is defined in the page that sets it

    (measure,) = project_measures(read_side.engine, project_id)
    assert measure.baseline_points == 4
    series = measure_series(read_side.engine, measure_id)
    assert series is not None
    assert [(p.astronomical, p.astronomical_reason) for p in series.points] == [
        (False, None),
        (False, None),
        (True, "Ward shut"),
        (False, None),
        (False, None),
    ]
    incremental = dump_views(read_side.engine)
    read_side.runner.rebuild()
    assert dump_views(read_side.engine) == incremental
