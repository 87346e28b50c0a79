"""The MDC long-format export says exactly what the charts draw, measure by measure.

The demo programme is loaded, a few chart settings are recorded on some of its measures (a
ghosted point, a recalculation point, an astronomical point, a baseline), and then, for every
measure, the export's rows are compared with ``measure_chart`` (what ``GET
/api/measures/{id}/chart`` answers): the same points and values, ghost and astronomical flags,
phases and recalculation marks, baseline, and the chart's milestones on the point whose own
period they fall in. Now, and as the programme stood at an earlier date.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.settings import Settings
from application.tracker import ImpactTracker
from domain import commands as c
from domain.periods import period_index
from read_models.bootstrap import ReadSide, create_read_side
from read_models.queries.charts import measure_chart
from read_models.queries.common import AsAt, Axis
from read_models.queries.exports import measures_long
from tests.conftest import FELLOW
from tests.postgres import throwaway_database

CHANGED_ON = date(2026, 11, 1)  # after the demo's last value was recorded


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ImpactTracker, ReadSide]]:
    data_dir = Path(tmp_path_factory.mktemp("mdc"))
    if request.param == "sqlite":
        yield from _loaded(Settings(data_dir=data_dir))
    else:
        with throwaway_database() as url:
            yield from _loaded(Settings(database_url=url, data_dir=data_dir))


def _loaded(settings: Settings) -> Iterator[tuple[ImpactTracker, ReadSide]]:
    tracker = create_tracker(settings)
    try:
        summary = load_demo(tracker)
        _mark_some_charts(tracker, summary.projects)
        side = create_read_side(settings, tracker)
        try:
            side.runner.catch_up()
            yield tracker, side
        finally:
            side.close()
    finally:
        tracker.close()


def _mark_some_charts(tracker: ImpactTracker, projects: list[UUID]) -> None:
    """Settings of every kind, on measures long enough for an XmR chart and on short ones."""
    with_values = [p for p in projects if len(tracker.project(p).measurements) > 2]
    for n, project_id in enumerate(with_values[:4]):
        project = tracker.project(project_id)
        measure_id = project.measures[0].measure_id
        current = [m for m in project.measurements if not m.retracted]
        tracker.ghost_measurement(
            FELLOW,
            project_id,
            c.GhostMeasurement(
                occurred_on=CHANGED_ON,
                measurement_id=current[1].measurement_id,
                reason="Data outage",
            ),
        )
        tracker.flag_astronomical(
            FELLOW,
            project_id,
            c.FlagAstronomical(
                occurred_on=CHANGED_ON,
                measurement_id=current[-1].measurement_id,
                reason="Ward closed",
            ),
        )
        if n % 2 == 0:
            tracker.mark_recalculation(
                FELLOW,
                project_id,
                c.MarkRecalculation(
                    occurred_on=CHANGED_ON,
                    measure_id=measure_id,
                    from_period=current[len(current) // 2].period.replace(day=17),
                    reason="New pathway",
                ),
            )
        if n < 2:
            tracker.set_baseline(
                FELLOW,
                project_id,
                c.SetBaseline(
                    occurred_on=CHANGED_ON, measure_id=measure_id, points=6, reason="Agreed"
                ),
            )


@pytest.mark.parametrize(
    "as_at",
    [None, AsAt(axis=Axis.EFFECTIVE, moment=date(2025, 3, 31))],
    ids=["now", "as at March 2025"],
)
def test_every_measures_rows_are_its_chart(
    demo: tuple[ImpactTracker, ReadSide], as_at: AsAt | None
) -> None:
    _, side = demo
    rows = list(measures_long(side.engine, as_at=as_at))
    by_metric: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_metric.setdefault(str(row["metric_id"]), []).append(row)
    assert len(by_metric) >= 30
    kinds = set()
    for metric_id, exported in by_metric.items():
        found = measure_chart(side.engine, UUID(metric_id), as_at)
        assert found is not None
        chart = found.chart
        kinds.add(chart.kind)
        frequency = found.measure.frequency
        assert [r["date"] for r in exported] == [p.period.isoformat() for p in chart.points]
        assert [r["value"] for r in exported] == [p.value for p in chart.points]
        assert [r["ghost"] for r in exported] == [p.ghost for p in chart.points]
        assert [r["astronomical"] for r in exported] == [p.astronomical for p in chart.points]
        assert [r["phase"] for r in exported] == [
            "" if p.phase is None else p.phase + 1 for p in chart.points
        ]
        starts = {phase.start for phase in chart.phases[1:]}
        recalculated = {k for k, r in enumerate(exported) if r["recalculate_limits"]}
        assert starts <= recalculated, metric_id
        if chart.kind.value == "xmr":
            assert recalculated == starts, metric_id
        assert {r["baseline_points"] for r in exported} == {found.baseline_points or ""}
        for row, point in zip(exported, chart.points, strict=True):
            own = period_index(point.period, frequency)
            labels = [a.label for a in found.annotations if period_index(a.on, frequency) == own]
            assert row["annotation"] == "; ".join(labels)
    marked = [r for r in rows if r["ghost"] or r["astronomical"] or r["recalculate_limits"]]
    if as_at is None:
        assert {"xmr", "run"} <= {k.value for k in kinds}
        assert any(r["ghost"] for r in marked)
        assert any(r["astronomical"] for r in marked)
        assert any(r["recalculate_limits"] for r in marked)
        assert any(r["baseline_points"] == 6 for r in rows)
        assert any("Pilot started" in str(r["annotation"]) for r in rows)
    else:  # the settings were recorded later: none of them is in effect then
        assert not marked
        assert all(r["baseline_points"] == "" for r in rows)
