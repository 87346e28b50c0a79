"""Making Data Count SPC: limits, the four rules, run charts, icons and refused input.

Expected numbers are worked by hand in the comments; MR-bar is the mean of the moving ranges
|x_i - x_(i-1)|, the process limits lie 2.66 MR-bar from the mean, the 2-sigma lines two thirds
of that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.spc import (
    AssuranceIcon,
    ChartKind,
    Classification,
    DuplicatePeriodError,
    FrequencyError,
    NonFiniteValueError,
    PeriodGapError,
    PeriodOrderError,
    ProcessLimits,
    Rule,
    Side,
    SPCChart,
    SPCInputError,
    SPCPoint,
    SPCSettings,
    ValueOutOfRangeError,
    VariationIcon,
    spc_chart,
)
from domain.values import ImprovementDirection

UP = ImprovementDirection.UP
DOWN = ImprovementDirection.DOWN
NEITHER = ImprovementDirection.NEITHER

# 15 points: mean = (7*5 + 7*7 + 6) / 15 = 90 / 15 = 6.
# Moving ranges: thirteen of 2 and a last |6 - 7| = 1, so MR-bar = 27 / 14.
# 2.66 * 27 / 14 = 71.82 / 14 = 5.13: limits 6 ± 5.13 = 11.13 and 0.87,
# 2-sigma lines 6 ± 3.42 = 9.42 and 2.58, 1-sigma lines 6 ± 1.71 = 7.71 and 4.29.
BASE = [5.0, 7.0] * 7 + [6.0]
# BASE then 20: mean = 110 / 16 = 6.875; MR-bar = (27 + 14) / 15 = 41 / 15;
# upper limit = 6.875 + 2.66 * 41 / 15 = 6.875 + 7.2707 = 14.1457 < 20.
HIGH_OUTLIER = [*BASE, 20.0]
# BASE then -8: mean = 82 / 16 = 5.125; MR-bar = 41 / 15; lower limit = 5.125 - 7.2707 = -2.1457.
LOW_OUTLIER = [*BASE, -8.0]


def month(n: int) -> date:
    """The n-th month from January 2024."""
    year, index = divmod(n, 12)
    return date(2024 + year, index + 1, 1)


def points(
    values: Sequence[float],
    *,
    ghost: Iterable[int] = (),
    recalculate: Iterable[int] = (),
    astronomical: Iterable[int] = (),
) -> list[SPCPoint]:
    ghosts, recalcs, astros = set(ghost), set(recalculate), set(astronomical)
    return [
        SPCPoint(
            period=month(i),
            value=value,
            ghost=i in ghosts,
            ghost_reason="data error" if i in ghosts else None,
            recalculate=i in recalcs,
            astronomical=i in astros,
        )
        for i, value in enumerate(values)
    ]


def chart(
    values: Sequence[float] | Sequence[SPCPoint],
    *,
    direction: ImprovementDirection = UP,
    target: float | None = None,
    **chosen: int,
) -> SPCChart:
    """Chart monthly values (or ready-made points) with the given settings."""
    given_points = [
        v if isinstance(v, SPCPoint) else SPCPoint(period=month(i), value=v)
        for i, v in enumerate(values)
    ]
    return spc_chart(
        given_points, direction=direction, target=target, settings=SPCSettings(**chosen)
    )


def flagged(result: SPCChart, rule: Rule) -> dict[int, Side]:
    """Index -> side of every point that triggered the rule (one side per point here)."""
    return {
        i: signal.side
        for i, point in enumerate(result.points)
        for signal in point.signals
        if signal.rule is rule
    }


def limits_of(result: SPCChart, phase: int = 0) -> ProcessLimits:
    found = result.phases[phase].limits
    assert found is not None
    return found


def all_signals(result: SPCChart) -> list[tuple[int, Rule, Side]]:
    return [(i, s.rule, s.side) for i, p in enumerate(result.points) for s in p.signals]


# Limits


def test_a_fifteen_point_series_has_the_hand_worked_mean_mr_bar_and_limits() -> None:
    result = chart(BASE)

    limits = limits_of(result)
    assert result.kind is ChartKind.XMR
    assert result.reason is None
    assert limits.mean == pytest.approx(6.0)
    assert limits.mr_bar == pytest.approx(27 / 14)
    assert limits.upper_process_limit == pytest.approx(11.13)
    assert limits.lower_process_limit == pytest.approx(0.87)
    assert limits.upper_two_sigma == pytest.approx(9.42)
    assert limits.lower_two_sigma == pytest.approx(2.58)
    assert limits.upper_one_sigma == pytest.approx(7.71)
    assert limits.lower_one_sigma == pytest.approx(4.29)
    assert result.phases[0].calculation_points == 15
    assert (result.phases[0].start, result.phases[0].end) == (0, 14)


def test_a_series_of_ordinary_variation_has_no_signal_and_shows_common_cause() -> None:
    result = chart(BASE)

    assert all_signals(result) == []
    assert result.variation_icon is VariationIcon.COMMON_CAUSE


# Rule 1: outside the process limits


def test_a_point_above_the_upper_limit_is_special_cause() -> None:
    result = chart(HIGH_OUTLIER)

    assert limits_of(result).upper_process_limit == pytest.approx(6.875 + 2.66 * 41 / 15)
    assert all_signals(result) == [(15, Rule.OUTSIDE_LIMITS, Side.HIGH)]


def test_a_point_below_the_lower_limit_is_special_cause_even_when_negative() -> None:
    result = chart(LOW_OUTLIER)

    assert limits_of(result).lower_process_limit == pytest.approx(5.125 - 2.66 * 41 / 15)
    assert all_signals(result) == [(15, Rule.OUTSIDE_LIMITS, Side.LOW)]


def test_a_point_inside_the_limits_is_not_outside_them() -> None:
    # 7 is the largest value of BASE and well inside 11.13.
    assert flagged(chart(BASE), Rule.OUTSIDE_LIMITS) == {}


# Rule 2: shift


def test_seven_points_above_the_mean_are_a_shift_and_every_one_is_flagged() -> None:
    # Sum = 0 + 7 * 2 = 14, mean 0.933: index 7 (-1) is below, indices 8-14 (2) above.
    # MR-bar = (7 * 2 + 3) / 14 = 1.214; upper 2-sigma 0.933 + 2.153 = 3.087 > 2: only the shift.
    result = chart([1.0, -1.0] * 4 + [2.0] * 7)

    assert limits_of(result).mean == pytest.approx(14 / 15)
    assert all_signals(result) == [(i, Rule.SHIFT, Side.HIGH) for i in range(8, 15)]


def test_six_points_on_one_side_are_not_a_shift_by_default_but_are_at_length_six() -> None:
    # Sum = -1 + 6 * 2 = 11, mean 0.733: index 8 (-1) is below, then six 2s above.
    values = [-1.0, 1.0] * 4 + [-1.0] + [2.0] * 6

    assert flagged(chart(values), Rule.SHIFT) == {}
    assert flagged(chart(values, shift_length=6), Rule.SHIFT) == dict.fromkeys(
        range(9, 15), Side.HIGH
    )


def test_a_point_exactly_on_the_mean_breaks_a_shift() -> None:
    # Sum = (-2 + 1) * 3 - 4 + 7 * 1 + 0 = 0, so the mean is exactly 0 and index 10 sits on it:
    # three 1s, the 0, four 1s: no run of seven.
    on_the_mean = [-2.0, 1.0, -2.0, 1.0, -2.0, 1.0, -4.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    # Make it 0.5 instead: the mean is 0.5 / 15 = 0.033, so indices 7-14 are eight above it.
    above_the_mean = [*on_the_mean[:10], 0.5, *on_the_mean[11:]]

    assert limits_of(chart(on_the_mean)).mean == 0.0
    assert flagged(chart(on_the_mean), Rule.SHIFT) == {}
    assert flagged(chart(above_the_mean), Rule.SHIFT) == dict.fromkeys(range(7, 15), Side.HIGH)


def test_seven_points_below_the_mean_are_a_low_shift() -> None:
    result = chart([-1.0, 1.0] * 4 + [-2.0] * 7)

    assert flagged(result, Rule.SHIFT) == dict.fromkeys(range(8, 15), Side.LOW)


# Rule 3: trend


def test_seven_rising_points_are_a_trend_across_both_sides_of_the_mean() -> None:
    # Mean = (4 * 5 + 4 * 3 + 28) / 15 = 60 / 15 = 4: 1, 2, 3 below, 4 on, 5, 6, 7 above.
    # MR-bar = (7 * 2 + 2 + 6 * 1) / 14 = 22 / 14; upper 2-sigma 4 + 2.787 = 6.787, so 7 is the
    # only point beyond it (no two-of-three) and 8.18 is the upper limit.
    result = chart([5.0, 3.0] * 4 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])

    assert limits_of(result).mean == pytest.approx(4.0)
    assert all_signals(result) == [(i, Rule.TREND, Side.HIGH) for i in range(8, 15)]


def test_seven_falling_points_are_a_low_trend() -> None:
    result = chart([7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0] + [3.0, 5.0] * 4)

    assert all_signals(result) == [(i, Rule.TREND, Side.LOW) for i in range(7)]


def test_six_rising_points_are_not_a_trend_by_default_but_are_at_length_six() -> None:
    # 5 then 2 falls, so the rise is 2, 3, 4, 5, 6, 7 at indices 9-14.
    values = [5.0, 3.0] * 4 + [5.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]

    assert all_signals(chart(values)) == []
    assert flagged(chart(values, trend_length=6), Rule.TREND) == dict.fromkeys(
        range(9, 15), Side.HIGH
    )


def test_an_equal_neighbour_breaks_a_trend() -> None:
    # 1, 2, 3 then 3, 4, 5, 6: two rises of three and four points.
    result = chart([5.0, 3.0] * 4 + [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0])

    assert flagged(result, Rule.TREND) == {}


def test_a_turning_point_belongs_to_both_the_rise_and_the_fall() -> None:
    rise_and_fall = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0] + [4.0] * 2
    peak = chart(rise_and_fall).points[6]

    assert [(s.rule, s.side) for s in peak.signals if s.rule is Rule.TREND] == [
        (Rule.TREND, Side.HIGH),
        (Rule.TREND, Side.LOW),
    ]


# Rule 4: two of three beyond a 2-sigma line


def test_two_of_three_points_beyond_the_upper_two_sigma_line_are_flagged() -> None:
    # Mean = (6 * 10 + 70) / 15 = 26 / 3 = 8.667; MR-bar = (11 * 10 + 20 + 0 + 20) / 14 = 75 / 7.
    # (2/3) * 2.66 * 75 / 7 = 19 exactly: upper 2-sigma 27.667 < 30; upper limit 8.667 + 28.5
    # = 37.167 > 30. The 10 after them is not beyond the line, so it is not flagged.
    result = chart([0.0, 10.0] * 6 + [30.0, 30.0, 10.0])

    assert limits_of(result).upper_two_sigma == pytest.approx(26 / 3 + 19)
    assert all_signals(result) == [
        (12, Rule.TWO_OF_THREE, Side.HIGH),
        (13, Rule.TWO_OF_THREE, Side.HIGH),
    ]


def test_two_of_three_points_beyond_the_lower_two_sigma_line_are_flagged() -> None:
    result = chart([0.0, -10.0] * 6 + [-30.0, -30.0, -10.0])

    assert limits_of(result).lower_two_sigma == pytest.approx(-26 / 3 - 19)
    assert flagged(result, Rule.TWO_OF_THREE) == {12: Side.LOW, 13: Side.LOW}


def test_one_point_of_three_beyond_the_two_sigma_line_is_not_a_signal() -> None:
    # Mean = 110 / 15 = 7.333, MR-bar 75 / 7: upper 2-sigma 26.333 < 30, but 30 is alone.
    assert all_signals(chart([0.0, 10.0] * 6 + [30.0, 10.0, 10.0])) == []


# Phases, baseline and ghosts


def test_recalculating_from_a_point_gives_each_phase_its_own_mean_and_limits() -> None:
    values = BASE + [v + 100 for v in BASE]
    result = chart(points(values, recalculate=[15]))

    first, second = result.phases
    assert (first.start, first.end, second.start, second.end) == (0, 14, 15, 29)
    assert limits_of(result, 0).mean == pytest.approx(6.0)
    assert limits_of(result, 1).mean == pytest.approx(106.0)
    assert limits_of(result, 1).mr_bar == pytest.approx(27 / 14)
    assert limits_of(result, 1).upper_process_limit == pytest.approx(111.13)
    assert [p.phase for p in result.points] == [0] * 15 + [1] * 15
    assert all_signals(result) == []


def test_without_recalculation_a_step_change_is_a_signal() -> None:
    result = chart(BASE + [v + 100 for v in BASE])

    assert len(result.phases) == 1
    assert flagged(result, Rule.SHIFT) == {
        **dict.fromkeys(range(15), Side.LOW),
        **dict.fromkeys(range(15, 30), Side.HIGH),
    }


def test_a_baseline_fixes_the_limits_on_its_first_points_and_extends_them() -> None:
    result = chart(BASE + [v + 100 for v in BASE], baseline_points=15)

    limits = limits_of(result)
    assert result.phases[0].calculation_points == 15
    assert limits.mean == pytest.approx(6.0)
    assert limits.upper_process_limit == pytest.approx(11.13)
    assert flagged(result, Rule.OUTSIDE_LIMITS) == dict.fromkeys(range(15, 30), Side.HIGH)


def test_a_baseline_longer_than_the_phase_uses_every_point() -> None:
    result = chart(BASE, baseline_points=20)

    assert result.phases[0].calculation_points == 15
    assert limits_of(result).mean == pytest.approx(6.0)


def test_a_ghosted_outlier_changes_no_limit_and_gets_no_signal() -> None:
    with_ghost = [*BASE[:4], 1000.0, *BASE[4:]]
    result = chart(points(with_ghost, ghost=[4]))

    assert limits_of(result) == limits_of(chart(BASE))
    assert result.phases[0].calculation_points == 15
    assert result.points[4].ghost
    assert result.points[4].ghost_reason == "data error"
    assert result.points[4].signals == ()
    assert all_signals(result) == []


def test_a_ghosted_point_is_skipped_over_by_a_shift() -> None:
    values = [1.0, -1.0] * 4 + [2.0] * 3 + [-50.0] + [2.0] * 4
    result = chart(points(values, ghost=[11]))

    assert flagged(result, Rule.SHIFT) == dict.fromkeys([8, 9, 10, 12, 13, 14, 15], Side.HIGH)


def test_the_variation_icon_reads_the_latest_point_that_is_not_ghosted() -> None:
    result = chart(points([*HIGH_OUTLIER, 6.0], ghost=[16]))

    assert result.variation_icon is VariationIcon.IMPROVEMENT_HIGH


def test_a_phase_of_one_point_has_no_limits_and_no_icons() -> None:
    result = chart(points([*BASE, 50.0], recalculate=[15]), target=3.0)

    assert result.phases[1].limits is None
    assert result.phases[1].reason == "1 calculation point: a phase needs at least 2 for limits"
    assert result.points[15].signals == ()
    assert result.variation_icon is None
    assert result.assurance_icon is None


# Run charts (IHI rules)


def test_fewer_than_fifteen_points_make_a_run_chart_around_the_median() -> None:
    values = [2.0, 1.0, 3.0, 5.0, 1.0, 2.0, 7.0, 6.0, 8.0, 4.0, 9.0, 6.0, 8.0]
    result = chart(values)

    assert result.kind is ChartKind.RUN
    assert result.reason == "13 points: a run chart until there are 15"
    assert result.phases == ()
    # Sorted: 1 1 2 2 3 4 5 6 6 7 8 8 9; the seventh is 5.
    assert result.median == 5.0
    assert all(p.phase is None for p in result.points)
    assert result.assurance_icon is None


def test_a_run_chart_shift_skips_points_on_the_median() -> None:
    # Sorted: 1 1 2 2 3 5 5 6 6 7 8 8 9, median 5. Indices 6, 7, 8, 10, 11, 12 are above and
    # index 9 sits on the median: six above, so a shift; the point on the median is not flagged.
    result = chart([2.0, 1.0, 3.0, 5.0, 1.0, 2.0, 7.0, 6.0, 8.0, 5.0, 9.0, 6.0, 8.0])

    assert result.median == 5.0
    assert all_signals(result) == [(i, Rule.SHIFT, Side.HIGH) for i in (6, 7, 8, 10, 11, 12)]
    assert result.variation_icon is VariationIcon.IMPROVEMENT_HIGH


def test_a_run_chart_point_below_the_median_breaks_a_shift() -> None:
    # As above with index 9 at 4: below the median 5, leaving two runs of three above.
    result = chart([2.0, 1.0, 3.0, 5.0, 1.0, 2.0, 7.0, 6.0, 8.0, 4.0, 9.0, 6.0, 8.0])

    assert all_signals(result) == []
    assert result.variation_icon is VariationIcon.COMMON_CAUSE


def test_a_run_chart_trend_is_five_rising_points_not_counting_a_repeat() -> None:
    # 3, 4, 4, 6, 7, 8: the repeated 4 is not counted, leaving five rising; all six are flagged.
    # Median (4 + 5) / 2 = 4.5; no six on one side.
    result = chart([5.0, 3.0, 4.0, 4.0, 6.0, 7.0, 8.0, 2.0, 9.0, 1.0])

    assert result.median == 4.5
    assert all_signals(result) == [(i, Rule.TREND, Side.HIGH) for i in range(1, 7)]


def test_four_rising_points_are_not_a_run_chart_trend() -> None:
    # 3, 4, 4, 6, 7 is four rising once the repeat is skipped; then 7 falls to 2.
    assert all_signals(chart([5.0, 3.0, 4.0, 4.0, 6.0, 7.0, 2.0, 8.0, 9.0, 1.0])) == []


def test_a_run_chart_marks_the_points_the_analyst_called_astronomical() -> None:
    values = [5.0, 3.0, 4.0, 40.0, 6.0, 2.0, 4.0, 1.0]
    result = chart(points(values, astronomical=[3]), direction=DOWN)

    assert all_signals(result) == [(3, Rule.ASTRONOMICAL, Side.HIGH)]
    assert result.points[3].signals[0].classification is Classification.CONCERN


def test_an_xmr_chart_ignores_the_astronomical_mark_but_shows_it() -> None:
    result = chart(points(BASE, astronomical=[3]))
    assert all_signals(result) == []
    assert [i for i, p in enumerate(result.points) if p.astronomical] == [3]


# Classification and icons


@pytest.mark.parametrize(
    ("values", "direction", "icon"),
    [
        (HIGH_OUTLIER, UP, VariationIcon.IMPROVEMENT_HIGH),
        (HIGH_OUTLIER, DOWN, VariationIcon.CONCERN_HIGH),
        (HIGH_OUTLIER, NEITHER, VariationIcon.NEITHER_HIGH),
        (LOW_OUTLIER, DOWN, VariationIcon.IMPROVEMENT_LOW),
        (LOW_OUTLIER, UP, VariationIcon.CONCERN_LOW),
        (LOW_OUTLIER, NEITHER, VariationIcon.NEITHER_LOW),
        (BASE, UP, VariationIcon.COMMON_CAUSE),
    ],
)
def test_the_variation_icon_follows_the_latest_signal_and_the_direction(
    values: list[float], direction: ImprovementDirection, icon: VariationIcon
) -> None:
    assert chart(values, direction=direction).variation_icon is icon


@pytest.mark.parametrize(
    ("direction", "classification"),
    [
        (UP, Classification.IMPROVEMENT),
        (DOWN, Classification.CONCERN),
        (NEITHER, Classification.NEUTRAL),
    ],
)
def test_a_high_signal_is_classified_by_the_improvement_direction(
    direction: ImprovementDirection, classification: Classification
) -> None:
    (signal,) = chart(HIGH_OUTLIER, direction=direction).points[15].signals

    assert signal.classification is classification


def test_a_rising_trend_is_high_and_an_improvement_when_up_is_better() -> None:
    result = chart([5.0, 3.0] * 4 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], direction=UP)

    (signal,) = result.points[8].signals
    assert (signal.side, signal.classification) == (Side.HIGH, Classification.IMPROVEMENT)


def test_the_strongest_signal_decides_the_icon_when_signals_disagree() -> None:
    # Mean = (4 + 49) / 15 = 3.533: the seven points 10 down to 4 are all above it (a high
    # shift) and each falls (a low trend). The shift comes first in rule order.
    result = chart([0.0, 1.0] * 4 + [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0], direction=UP)

    latest = result.points[-1]
    assert [(s.rule, s.side) for s in latest.signals] == [
        (Rule.SHIFT, Side.HIGH),
        (Rule.TREND, Side.LOW),
    ]
    assert result.variation_icon is VariationIcon.IMPROVEMENT_HIGH


@pytest.mark.parametrize(
    ("direction", "target", "icon"),
    [
        # BASE: limits 0.87 to 11.13.
        (UP, 0.5, AssuranceIcon.CONSISTENTLY_PASSING),
        (UP, 12.0, AssuranceIcon.CONSISTENTLY_FAILING),
        (UP, 6.0, AssuranceIcon.HIT_AND_MISS),
        (DOWN, 12.0, AssuranceIcon.CONSISTENTLY_PASSING),
        (DOWN, 0.5, AssuranceIcon.CONSISTENTLY_FAILING),
        (DOWN, 6.0, AssuranceIcon.HIT_AND_MISS),
        (NEITHER, 6.0, None),
        (UP, None, None),
        (DOWN, None, None),
    ],
)
def test_the_assurance_icon_compares_the_process_limits_with_the_target(
    direction: ImprovementDirection, target: float | None, icon: AssuranceIcon | None
) -> None:
    assert chart(BASE, direction=direction, target=target).assurance_icon is icon


@pytest.mark.parametrize("direction", [UP, DOWN])
def test_a_limit_exactly_on_the_target_is_hit_and_miss(direction: ImprovementDirection) -> None:
    limits = limits_of(chart(BASE))

    for target in (limits.lower_process_limit, limits.upper_process_limit):
        result = chart(BASE, direction=direction, target=target)
        assert result.assurance_icon is AssuranceIcon.HIT_AND_MISS


def test_the_assurance_icon_uses_the_last_phase() -> None:
    # Phase two runs 100.87 to 111.13: above a target of 50 whatever phase one did.
    values = BASE + [v + 100 for v in BASE]
    result = chart(points(values, recalculate=[15]), target=50.0)

    assert result.assurance_icon is AssuranceIcon.CONSISTENTLY_PASSING


# Edge cases


def test_a_constant_series_has_mr_bar_zero_and_every_line_on_the_mean() -> None:
    result = chart([0.1] * 15, target=0.1)

    limits = limits_of(result)
    assert limits.mr_bar == 0.0
    lines = limits.model_dump(exclude={"mr_bar"}).values()
    assert set(lines) == {0.1}
    assert all_signals(result) == []
    assert result.variation_icon is VariationIcon.COMMON_CAUSE
    assert result.assurance_icon is AssuranceIcon.HIT_AND_MISS


def test_a_constant_baseline_makes_any_later_change_special_cause() -> None:
    result = chart([3.0] * 15 + [3.5], baseline_points=15)

    assert flagged(result, Rule.OUTSIDE_LIMITS) == {15: Side.HIGH}


def test_two_points_make_a_run_chart_with_their_median() -> None:
    result = chart([1.0, 3.0])

    assert result.kind is ChartKind.RUN
    assert result.median == 2.0
    assert result.reason == "2 points: a run chart until there are 15"


def test_two_points_are_enough_for_an_xmr_chart_when_the_minimum_allows() -> None:
    # Mean 2, one moving range of 2: limits 2 ± 5.32.
    limits = limits_of(chart([1.0, 3.0], minimum_points=2))

    assert (limits.mean, limits.mr_bar) == (2.0, 2.0)
    assert limits.upper_process_limit == pytest.approx(7.32)
    assert limits.lower_process_limit == pytest.approx(-3.32)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([4.0], "1 point: at least 2 are needed for a chart"),
        ([], "0 points: at least 2 are needed for a chart"),
    ],
)
def test_fewer_than_two_points_give_a_reason_and_no_lines(values: list[float], reason: str) -> None:
    result = chart(values, minimum_points=2, target=1.0)

    assert result.reason == reason
    assert (result.phases, result.median) == ((), None)
    assert (result.variation_icon, result.assurance_icon) == (None, None)
    assert len(result.points) == len(values)


def test_a_single_point_beside_ghosts_is_still_too_few() -> None:
    result = chart(points([4.0, 5.0, 6.0], ghost=[0, 2]))

    assert result.reason == "1 point: at least 2 are needed for a chart"


def test_negative_values_chart_like_positive_ones() -> None:
    # BASE negated: mean -6, limits -11.13 and -0.87.
    limits = limits_of(chart([-v for v in BASE]))

    assert limits.mean == pytest.approx(-6.0)
    assert limits.upper_process_limit == pytest.approx(-0.87)
    assert limits.lower_process_limit == pytest.approx(-11.13)


def test_huge_values_keep_their_precision() -> None:
    result = chart([v * 1e12 for v in BASE])

    limits = limits_of(result)
    assert limits.mean == pytest.approx(6e12)
    assert limits.upper_process_limit == pytest.approx(11.13e12)
    assert all_signals(result) == []


# Refused input


def test_a_gap_in_monthly_periods_is_refused_naming_the_missing_month() -> None:
    given_points = [SPCPoint(period=date(2024, m, 1), value=1.0) for m in (1, 2, 4)]

    with pytest.raises(PeriodGapError, match=r"Row 3 \(2024-04-01\).*2024-03-01 is missing") as e:
        spc_chart(given_points, direction=UP, target=None)
    assert (e.value.row, e.value.period, e.value.missing) == (
        3,
        date(2024, 4, 1),
        (date(2024, 3, 1),),
    )


def test_a_gap_of_several_periods_names_the_first_and_last() -> None:
    given_points = [SPCPoint(period=date(2024, m, 1), value=1.0) for m in (1, 5)]

    with pytest.raises(PeriodGapError, match=r"2024-02-01 to 2024-04-01 \(3 months\) are missing"):
        spc_chart(given_points, direction=UP, target=None)


@pytest.mark.parametrize(
    ("frequency", "periods", "missing"),
    [
        ("daily", [date(2024, 1, 1), date(2024, 1, 3)], date(2024, 1, 2)),
        ("weekly", [date(2024, 1, 7), date(2024, 1, 21)], date(2024, 1, 14)),
        ("quarterly", [date(2024, 3, 31), date(2024, 9, 30)], date(2024, 6, 30)),
        ("monthly", [date(2024, 1, 31), date(2024, 3, 31)], date(2024, 2, 29)),
    ],
)
def test_gaps_are_found_at_every_frequency(
    frequency: str, periods: list[date], missing: date
) -> None:
    given_points = [SPCPoint(period=p, value=1.0) for p in periods]

    with pytest.raises(PeriodGapError) as e:
        spc_chart(given_points, direction=UP, target=None, frequency=frequency)
    assert e.value.missing == (missing,)


def test_allowed_gaps_are_reported_and_the_rules_run_over_the_points_there() -> None:
    # The shift series with December 2024 left out, inside the run of 2s (indices 8-14).
    values = [1.0, -1.0] * 4 + [2.0] * 7
    given_points = [
        SPCPoint(period=month(i if i < 11 else i + 1), value=v) for i, v in enumerate(values)
    ]

    result = spc_chart(given_points, direction=UP, target=None, allow_gaps=True)

    assert result.missing_periods == (date(2024, 12, 1),)
    assert flagged(result, Rule.SHIFT) == dict.fromkeys(range(8, 15), Side.HIGH)


def test_a_duplicate_period_is_refused_naming_the_row() -> None:
    given_points = [SPCPoint(period=date(2024, m, 1), value=1.0) for m in (1, 2, 1)]

    with pytest.raises(DuplicatePeriodError, match=r"Row 3 \(2024-01-01\).*row 1") as e:
        spc_chart(given_points, direction=UP, target=None)
    assert (e.value.row, e.value.period) == (3, date(2024, 1, 1))


def test_two_dates_in_one_month_are_a_duplicate_period() -> None:
    given_points = [SPCPoint(period=date(2024, 1, d), value=1.0) for d in (1, 15)]

    with pytest.raises(DuplicatePeriodError, match=r"Row 2 \(2024-01-15\) is in the same month"):
        spc_chart(given_points, direction=UP, target=None)


def test_periods_out_of_order_are_refused_naming_the_row() -> None:
    given_points = [SPCPoint(period=date(2024, m, 1), value=1.0) for m in (2, 1)]

    with pytest.raises(PeriodOrderError, match=r"Row 2 \(2024-01-01\) comes before row 1"):
        spc_chart(given_points, direction=UP, target=None)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_value_is_refused_naming_the_row(bad: float) -> None:
    given_points = [SPCPoint(period=month(i), value=v) for i, v in enumerate([1.0, bad, 2.0])]

    with pytest.raises(NonFiniteValueError, match=r"Row 2 \(2024-02-01\)") as e:
        spc_chart(given_points, direction=UP, target=None)
    assert e.value.row == 2


def test_a_value_too_large_to_chart_safely_is_refused() -> None:
    given_points = [SPCPoint(period=month(i), value=v) for i, v in enumerate([1.0, 1e300])]

    with pytest.raises(ValueOutOfRangeError, match=r"Row 2 \(2024-02-01\)"):
        spc_chart(given_points, direction=UP, target=None)


def test_an_unknown_frequency_is_refused() -> None:
    with pytest.raises(FrequencyError, match="fortnightly"):
        spc_chart([], direction=UP, target=None, frequency="fortnightly")


def test_every_input_error_is_a_value_error() -> None:
    for error in (NonFiniteValueError, DuplicatePeriodError, PeriodOrderError, FrequencyError):
        assert issubclass(error, SPCInputError)
    assert issubclass(SPCInputError, ValueError)


@pytest.mark.parametrize(
    "chosen",
    [{"shift_length": 5}, {"shift_length": 9}, {"trend_length": 5}, {"baseline_points": 1}],
)
def test_settings_outside_the_allowed_ranges_are_refused(chosen: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        SPCSettings.model_validate(chosen)


# Properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
series = st.lists(finite, min_size=2, max_size=30)


def xmr(values: Sequence[float], **marks: Iterable[int]) -> SPCChart:
    return spc_chart(
        points(values, **marks),
        direction=UP,
        target=None,
        settings=SPCSettings(minimum_points=2),
    )


def line_values(limits: ProcessLimits) -> list[float]:
    return [
        limits.mean,
        limits.upper_process_limit,
        limits.lower_process_limit,
        limits.upper_two_sigma,
        limits.lower_two_sigma,
        limits.upper_one_sigma,
        limits.lower_one_sigma,
    ]


def scale_of(values: Sequence[float]) -> float:
    """A tolerance for sums of these values: their size times a little more than float error."""
    return 1e-9 * (max(abs(v) for v in values) + 1.0)


@settings(max_examples=100, deadline=None)
@given(series)
def test_limits_are_symmetric_about_the_mean(values: list[float]) -> None:
    limits = limits_of(xmr(values))
    tolerance = scale_of(values)

    for upper, lower in [
        (limits.upper_process_limit, limits.lower_process_limit),
        (limits.upper_two_sigma, limits.lower_two_sigma),
        (limits.upper_one_sigma, limits.lower_one_sigma),
    ]:
        assert upper - limits.mean == pytest.approx(limits.mean - lower, abs=tolerance)
        assert upper >= limits.mean >= lower


@settings(max_examples=100, deadline=None)
@given(series, finite, st.integers(min_value=0, max_value=30))
def test_adding_a_ghosted_point_changes_no_limit(
    values: list[float], ghost_value: float, position: int
) -> None:
    at = min(position, len(values))
    with_ghost = [*values[:at], ghost_value, *values[at:]]

    result = xmr(with_ghost, ghost=[at])

    assert result.phases[0].limits == xmr(values).phases[0].limits
    assert result.points[at].signals == ()


@settings(max_examples=100, deadline=None)
@given(series, st.floats(min_value=1e-3, max_value=1e3))
def test_scaling_every_value_scales_the_mean_and_limits(values: list[float], factor: float) -> None:
    original = line_values(limits_of(xmr(values)))
    scaled = line_values(limits_of(xmr([v * factor for v in values])))

    tolerance = scale_of(values) * factor * 10
    assert scaled == pytest.approx([line * factor for line in original], abs=tolerance)


@settings(max_examples=100, deadline=None)
@given(series)
def test_reversing_the_series_leaves_the_mean_and_limits_unchanged(values: list[float]) -> None:
    forwards = limits_of(xmr(values))
    backwards = limits_of(xmr(values[::-1]))

    assert line_values(backwards) == pytest.approx(line_values(forwards), rel=1e-12)
    assert backwards.mr_bar == pytest.approx(forwards.mr_bar, rel=1e-12)


def counted_points(result: SPCChart, skip: int | None = None) -> list[tuple[float, object]]:
    """Each point's value, phase and signals, leaving out the one at ``skip``."""
    return [
        (p.value, (p.phase, p.signals, p.ghost)) for i, p in enumerate(result.points) if i != skip
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(finite, min_size=2, max_size=30).flatmap(
        lambda v: st.tuples(st.just(v), st.permutations(v))
    )
)
def test_any_permutation_keeps_the_mean_the_median_and_the_values_but_not_mr_bar(
    pair: tuple[list[float], list[float]],
) -> None:
    """Order-free outputs survive any reordering; MR-bar and the limits need not.

    The mean (an exactly rounded sum) and the run chart's median depend only on the values; the
    moving ranges are between neighbours, so MR-bar (and with it the limits, and the rules that
    use them or the order) may change, and are not compared.
    """
    values, shuffled = pair
    forwards, reordered = xmr(values), xmr(shuffled)
    assert limits_of(reordered).mean == limits_of(forwards).mean
    assert sorted(p.value for p in reordered.points) == sorted(values)
    as_run = spc_chart(points(values), direction=UP, target=None)
    shuffled_run = spc_chart(points(shuffled), direction=UP, target=None)
    assert shuffled_run.median == as_run.median


@settings(max_examples=150, deadline=None)
@given(
    st.lists(finite, min_size=4, max_size=12),
    st.lists(finite, min_size=1, max_size=20).flatmap(
        lambda v: st.tuples(st.just(v), st.permutations(v))
    ),
    st.one_of(st.none(), finite),
)
def test_reordering_points_after_a_fixed_baseline_moves_each_signal_with_its_value(
    baseline: list[float], later: tuple[list[float], list[float]], target: float | None
) -> None:
    """With the limits fixed on a baseline, rule 1 (and the assurance icon) ignore the order.

    Which values lie beyond the limits is a property of each value, so any permutation of the
    points after the baseline flags the same values on the same sides; only the order-dependent
    rules (shift, trend, two of three) may differ.
    """
    after, shuffled = later
    fixed = SPCSettings(minimum_points=2, baseline_points=len(baseline))

    def outside(result: SPCChart) -> list[tuple[float, Side]]:
        return sorted(
            (p.value, s.side)
            for p in result.points
            for s in p.signals
            if s.rule is Rule.OUTSIDE_LIMITS
        )

    one = spc_chart(points([*baseline, *after]), direction=UP, target=target, settings=fixed)
    other = spc_chart(points([*baseline, *shuffled]), direction=UP, target=target, settings=fixed)
    assert other.phases[0].limits == one.phases[0].limits
    assert outside(other) == outside(one)
    assert other.assurance_icon == one.assurance_icon


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(finite, min_size=2, max_size=30),
    ghost_value=finite,
    position=st.integers(min_value=0, max_value=30),
    target=st.one_of(st.none(), finite),
    minimum=st.integers(min_value=2, max_value=20),
    recalculate=st.sets(st.integers(min_value=1, max_value=29), max_size=3),
)
def test_adding_a_ghosted_point_changes_nothing_else_on_the_chart(
    *,
    values: list[float],
    ghost_value: float,
    position: int,
    target: float | None,
    minimum: int,
    recalculate: set[int],
) -> None:
    """Every other point keeps its phase and signals, and the phases, median and icons stay.

    Across both kinds of chart (the minimum decides), with recalculation points, and with a
    target for the assurance icon. The ghosted point itself is shown, with no signal.
    """
    at = min(position, len(values))
    marks = {r for r in recalculate if r < len(values)}
    shifted = {r + 1 if r >= at else r for r in marks}
    chosen = SPCSettings(minimum_points=minimum)
    plain = spc_chart(
        points(values, recalculate=marks), direction=UP, target=target, settings=chosen
    )
    ghosted = spc_chart(
        points([*values[:at], ghost_value, *values[at:]], ghost=[at], recalculate=shifted),
        direction=UP,
        target=target,
        settings=chosen,
    )
    assert counted_points(ghosted, skip=at) == counted_points(plain)
    assert ghosted.points[at].signals == ()
    assert (ghosted.kind, ghosted.reason, ghosted.median) == (
        plain.kind,
        plain.reason,
        plain.median,
    )
    assert (ghosted.variation_icon, ghosted.assurance_icon) == (
        plain.variation_icon,
        plain.assurance_icon,
    )
    assert [(p.limits, p.calculation_points) for p in ghosted.phases] == [
        (p.limits, p.calculation_points) for p in plain.phases
    ]
