"""A recalculation point is a period: it is removed by naming any day of that period.

Marking compares periods (``domain.periods``): a mark on 4 March blocks another anywhere in
March.  Removing must agree, or a mark stored at 4 March could be named "the March mark" to
mark but not to remove.  The event records the mark as stored, so every view removes it.
"""

from __future__ import annotations

from datetime import date

import pytest

from domain import commands as c
from domain import errors
from domain import project_events as ev
from domain.values import Frequency
from tests.unit.test_project_rules import FELLOW, measure_at, piloted


@pytest.mark.parametrize(
    ("frequency", "marked", "named", "elsewhere"),
    [
        (Frequency.MONTHLY, date(2024, 3, 4), date(2024, 3, 1), date(2024, 4, 1)),
        (Frequency.WEEKLY, date(2024, 3, 6), date(2024, 3, 4), date(2024, 3, 11)),
        (Frequency.QUARTERLY, date(2024, 5, 2), date(2024, 4, 1), date(2024, 7, 1)),
    ],
)
def test_a_recalculation_point_is_removed_by_any_day_of_its_period(
    frequency: Frequency, marked: date, named: date, elsewhere: date
) -> None:
    project = piloted()
    measure_id = measure_at(project, frequency)
    project.mark_recalculation(
        c.MarkRecalculation(
            occurred_on=date(2024, 8, 1), measure_id=measure_id, from_period=marked, reason="Why"
        ),
        FELLOW,
    )
    project.collect_events()
    remove = c.RemoveRecalculation(
        occurred_on=date(2024, 8, 2), measure_id=measure_id, from_period=elsewhere
    )
    with pytest.raises(errors.ChartSettingError, match="not recalculated") as refused:
        project.remove_recalculation(remove, FELLOW)
    assert refused.value.field == "from_period"
    project.remove_recalculation(remove.model_copy(update={"from_period": named}), FELLOW)
    (removed,) = project.collect_events()
    assert isinstance(removed, ev.RecalculationRemoved)
    assert removed.from_period == marked  # the mark as stored, which the views hold
    assert not project.measures[measure_id].recalculate_from
