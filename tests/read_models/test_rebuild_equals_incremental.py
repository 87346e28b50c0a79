"""Views built incrementally, in small random pages, equal views rebuilt from scratch."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.bootstrap import create_tracker
from application.settings import Settings
from read_models.database import create_views_engine
from read_models.runner import ProjectionRunner
from read_models.views import all_projections
from tests.read_models.dump import dump_views
from tests.read_models.histories import Step, histories, record_history

counter = itertools.count()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    history=histories,
    page_sizes=st.lists(st.integers(1, 7), min_size=1, max_size=8),
    split=st.integers(0, 100),
)
def test_incremental_pages_equal_a_rebuild(
    tmp_path: Path, history: list[Step], page_sizes: list[int], split: int
) -> None:
    run = tmp_path / str(next(counter))
    tracker = create_tracker(Settings(database_url="memory://", data_dir=run))
    record_history(tracker, history[: len(history) * split // 100])

    incremental_engine = create_views_engine(Settings(data_dir=run / "incremental"))
    runner = ProjectionRunner(tracker, incremental_engine, all_projections())
    runner.set_up()
    sizes = itertools.cycle(page_sizes)
    # Apply what exists in random small pages, record the rest, then apply again.
    for _ in range(3):
        runner.page_size = next(sizes)
        runner.run_page()
    record_history(tracker, history[len(history) * split // 100 :])
    while True:
        runner.page_size = next(sizes)
        if not runner.run_page():
            break

    rebuilt_engine = create_views_engine(Settings(data_dir=run / "rebuilt"))
    rebuilt = ProjectionRunner(tracker, rebuilt_engine, all_projections(), page_size=10_000)
    rebuilt.set_up()
    rebuilt.rebuild()

    assert (
        runner.positions()
        == rebuilt.positions()
        == dict.fromkeys(runner.projections, tracker.head())
    )
    assert dump_views(incremental_engine) == dump_views(rebuilt_engine)
    incremental_engine.dispose()
    rebuilt_engine.dispose()
    tracker.close()
