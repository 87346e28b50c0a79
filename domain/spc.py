"""Statistical process control for one measure, as NHS England's "Making Data Count" draws it.

A fellow needs to know whether a change in a measure is a signal or noise, and whether the
process as it runs will meet its target. ``spc_chart`` answers both, without I/O, from the
measure's points in period order.

The XmR chart (used once there are ``minimum_points`` non-ghosted points, 15 by default):

* Each phase runs from the first point, or from a point marked ``recalculate``, to the point
  before the next such mark. Its calculation points are its non-ghosted points (only the first
  ``baseline_points`` of them when a baseline is set; the limits are then extended over the
  rest of the phase). A phase needs two calculation points to have limits.
* Centre line = mean of the calculation points; moving ranges = ``|x_i - x_(i-1)|`` between
  consecutive calculation points; MR-bar = their mean; process limits = mean ± 2.66 * MR-bar;
  the 2-sigma and 1-sigma lines are two thirds and one third of that distance from the mean.
  A constant series has MR-bar 0 and all its limits on the mean.
* Rules, per phase, over its non-ghosted points (ghosted points are skipped over, so they
  neither break nor join a run): (1) a point above the upper or below the lower process limit;
  (2) a shift: ``shift_length`` (default 7) or more consecutive points on one side of the mean,
  a point exactly on the mean ending the run; (3) a trend: ``trend_length`` (default 7) or more
  consecutive points each strictly above (or each strictly below) the one before, an equal
  neighbour ending it, on either side of the mean; (4) two of three consecutive points beyond
  the same 2-sigma line, of which the points beyond the line are flagged. Every point of a
  qualifying shift or trend is flagged. Runs never cross into another phase.
* A signal's side is high (above the line, or a rising trend) or low. With the improvement
  direction up, high is improvement and low concern; down is the mirror; neither is neutral.

The run chart (fewer non-ghosted points than ``minimum_points``) uses IHI's rules around the
median of the non-ghosted points: a shift is 6 or more consecutive points on one side of the
median (points on the median are skipped: they neither break nor extend it); a trend is 5 or
more points all going up or all going down (a repeated value is skipped when counting, and
flagged with its neighbours); an astronomical point is one the caller marked ``astronomical``
(its side is high when it is on or above the median). ``recalculate`` and ``baseline_points``
do not apply to a run chart, and ``astronomical`` does not apply to an XmR chart, where rule 1
finds such points. With fewer than two non-ghosted points there is no chart, only a reason.

The icons. The variation icon describes the latest non-ghosted point: common cause when it has
no signal, otherwise the classification and side of its strongest signal, in rule order
(outside the limits, shift, trend, two of three, astronomical). It is None when that point has
no limits to be judged against. The assurance icon compares the last phase's process limits
with the target: with direction up, consistently passing when the lower limit is above the
target, consistently failing when the upper limit is below it; with direction down the mirror
image; otherwise, including a limit exactly on the target (the process can then meet or miss
it), hit and miss. There is none without a target, for direction neither, or on a run chart.

Bad input is refused, naming the row (1-based) and its period::

    SPCInputError (ValueError)         points that cannot be charted
    ├── NonFiniteValueError            a NaN or infinite value
    ├── ValueOutOfRangeError           a value beyond ±1e100, whose limits could overflow
    ├── DuplicatePeriodError           a second point in the same day/week/month/quarter
    ├── PeriodOrderError               a period before the one in the row above
    ├── PeriodGapError                 missing periods, unless ``allow_gaps=True``
    └── FrequencyError                 a frequency that is not one of ``Frequency``

With ``allow_gaps=True`` a gap is reported in ``missing_periods`` and the rules run over the
points that are there, as if they were consecutive.
"""

from __future__ import annotations

import calendar
import math
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from enum import StrEnum
from itertools import groupby, pairwise
from operator import itemgetter

from pydantic import Field

from domain.periods import UNIT, period_index
from domain.values import Frequency, Immutable, ImprovementDirection

SIGMA_SCALE = 2.66
"""3 / d2 (d2 = 1.128 for moving ranges of two points): how many MR-bars the limits lie out."""
RUN_CHART_SHIFT = 6
RUN_CHART_TREND = 5
MAX_MAGNITUDE = 1e100
"""Far beyond any real measure, and far enough below float overflow for sums and limits."""


class SPCInputError(ValueError):
    """Points that cannot be charted; ``row`` (1-based) and ``period`` name the one at fault."""

    def __init__(self, message: str, *, row: int | None = None, period: date | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.period = period


class NonFiniteValueError(SPCInputError):
    """A NaN or infinite value: it has no place on a chart and would poison every limit."""


class ValueOutOfRangeError(SPCInputError):
    """A value so large that its limits could overflow."""


class DuplicatePeriodError(SPCInputError):
    """Two points for one period: which one counts is the caller's decision, not the chart's."""


class PeriodOrderError(SPCInputError):
    """A period earlier than the row above: moving ranges only mean something in time order."""


class PeriodGapError(SPCInputError):
    """Periods missing between two rows; ``missing`` lists them."""

    def __init__(self, message: str, *, row: int, period: date, missing: Sequence[date]) -> None:
        super().__init__(message, row=row, period=period)
        self.missing = tuple(missing)


class FrequencyError(SPCInputError):
    """A frequency that is not one of ``domain.values.Frequency``."""


class ChartKind(StrEnum):
    """An XmR chart once there are enough points, a run chart until then."""

    XMR = "xmr"
    RUN = "run"


class Rule(StrEnum):
    """Which special-cause rule a point triggered; the order is the icon's order of strength."""

    OUTSIDE_LIMITS = "outside_limits"
    SHIFT = "shift"
    TREND = "trend"
    TWO_OF_THREE = "two_of_three"
    ASTRONOMICAL = "astronomical"


class Side(StrEnum):
    """Above the line or rising (high), below the line or falling (low)."""

    HIGH = "high"
    LOW = "low"


class Classification(StrEnum):
    """What a signal means for the measure, given its improvement direction."""

    IMPROVEMENT = "improvement"
    CONCERN = "concern"
    NEUTRAL = "neutral"


class VariationIcon(StrEnum):
    """Making Data Count's variation icon for the latest point."""

    COMMON_CAUSE = "common_cause"
    IMPROVEMENT_HIGH = "improvement_high"
    IMPROVEMENT_LOW = "improvement_low"
    CONCERN_HIGH = "concern_high"
    CONCERN_LOW = "concern_low"
    NEITHER_HIGH = "neither_high"
    NEITHER_LOW = "neither_low"


class AssuranceIcon(StrEnum):
    """Making Data Count's assurance icon: will the process as it runs meet the target."""

    CONSISTENTLY_PASSING = "consistently_passing"
    CONSISTENTLY_FAILING = "consistently_failing"
    HIT_AND_MISS = "hit_and_miss"


class SPCPoint(Immutable):
    """One period's value as the caller supplies it, with the analyst's marks."""

    period: date
    value: float
    ghost: bool = False
    """Shown, but left out of every calculation and rule (a known data error, say)."""
    ghost_reason: str | None = None
    recalculate: bool = False
    """A new phase, with its own limits, starts at this point (a deliberate process change)."""
    astronomical: bool = False
    """Run charts only: the analyst judges this point to be obviously different."""


class SPCSettings(Immutable):
    """The rule lengths and thresholds, within the ranges Making Data Count allows."""

    shift_length: int = Field(default=7, ge=6, le=8)
    trend_length: int = Field(default=7, ge=6, le=8)
    minimum_points: int = Field(default=15, ge=2)
    """Non-ghosted points needed for an XmR chart; below it the chart is a run chart."""
    baseline_points: int | None = Field(default=None, ge=2)
    """Fix each phase's limits on its first N non-ghosted points (all of them if it has fewer)."""


class ProcessLimits(Immutable):
    """A phase's centre line, MR-bar and the lines drawn from them."""

    mean: float
    mr_bar: float
    upper_process_limit: float
    lower_process_limit: float
    upper_two_sigma: float
    lower_two_sigma: float
    upper_one_sigma: float
    lower_one_sigma: float


class SPCPhase(Immutable):
    """Points sharing one set of limits; ``start`` and ``end`` are 0-based and inclusive."""

    index: int
    start: int
    end: int
    calculation_points: int
    limits: ProcessLimits | None
    reason: str | None = None


class Signal(Immutable):
    """One rule a point triggered, on which side, and what that means for the measure."""

    rule: Rule
    side: Side
    classification: Classification


class ChartPoint(Immutable):
    """A point as charted: its phase (None on a run chart) and its signals, strongest first."""

    period: date
    value: float
    ghost: bool
    ghost_reason: str | None
    phase: int | None
    signals: tuple[Signal, ...]
    astronomical: bool = False
    """The analyst's flag, as given (it is a signal only on a run chart)."""


class SPCChart(Immutable):
    """Everything needed to draw and read the chart; ``reason`` says why it is not a full XmR."""

    kind: ChartKind
    reason: str | None
    phases: tuple[SPCPhase, ...]
    points: tuple[ChartPoint, ...]
    median: float | None
    variation_icon: VariationIcon | None
    assurance_icon: AssuranceIcon | None
    missing_periods: tuple[date, ...]


Found = defaultdict[int, set[tuple[Rule, Side]]]
_RULE_ORDER = {rule: n for n, rule in enumerate(Rule)}
_ICONS = {
    (Classification.IMPROVEMENT, Side.HIGH): VariationIcon.IMPROVEMENT_HIGH,
    (Classification.IMPROVEMENT, Side.LOW): VariationIcon.IMPROVEMENT_LOW,
    (Classification.CONCERN, Side.HIGH): VariationIcon.CONCERN_HIGH,
    (Classification.CONCERN, Side.LOW): VariationIcon.CONCERN_LOW,
    (Classification.NEUTRAL, Side.HIGH): VariationIcon.NEITHER_HIGH,
    (Classification.NEUTRAL, Side.LOW): VariationIcon.NEITHER_LOW,
}


def spc_chart(
    points: Sequence[SPCPoint],
    *,
    direction: ImprovementDirection,
    target: float | None,
    frequency: Frequency | str = Frequency.MONTHLY,
    settings: SPCSettings | None = None,
    allow_gaps: bool = False,
) -> SPCChart:
    """Chart a measure's points (in period order) as an XmR chart, or a run chart until enough.

    Raises an ``SPCInputError`` subclass naming the row for input that cannot be charted.
    """
    chosen = settings or SPCSettings()
    missing = _validate(points, _frequency(frequency), allow_gaps=allow_gaps)
    counted = sum(not point.ghost for point in points)
    if counted < 2:
        return _no_chart(points, counted, missing)
    if counted < chosen.minimum_points:
        reason = f"{counted} points: a run chart until there are {chosen.minimum_points}"
        return _run_chart(points, direction, reason, missing)
    return _xmr_chart(points, direction, target, chosen, missing)


# Input checks


def _frequency(frequency: Frequency | str) -> Frequency:
    try:
        return Frequency(frequency)
    except ValueError:
        allowed = ", ".join(f.value for f in Frequency)
        raise FrequencyError(f"Unknown frequency {frequency!r}: use one of {allowed}") from None


def _validate(
    points: Sequence[SPCPoint], frequency: Frequency, *, allow_gaps: bool
) -> tuple[date, ...]:
    """Refuse rows that cannot be charted; return the periods missing between the others."""
    missing: list[date] = []
    seen: dict[int, int] = {}
    for row, point in enumerate(points, start=1):
        _check_value(row, point)
        index = period_index(point.period, frequency)
        if index in seen:
            earlier = seen[index]
            raise DuplicatePeriodError(
                f"Row {row} ({point.period}) is in the same {UNIT[frequency]} as row {earlier} "
                f"({points[earlier - 1].period}): keep one value per period",
                row=row,
                period=point.period,
            )
        if row > 1:
            missing += _gap(row, points[row - 2], point, frequency, allow_gaps=allow_gaps)
        seen[index] = row
    return tuple(missing)


def _check_value(row: int, point: SPCPoint) -> None:
    if not math.isfinite(point.value):
        raise NonFiniteValueError(
            f"Row {row} ({point.period}) has the value {point.value}: values must be finite",
            row=row,
            period=point.period,
        )
    if abs(point.value) > MAX_MAGNITUDE:
        raise ValueOutOfRangeError(
            f"Row {row} ({point.period}) has the value {point.value}: "
            f"values must be within ±{MAX_MAGNITUDE:g}",
            row=row,
            period=point.period,
        )


def _gap(
    row: int, previous: SPCPoint, point: SPCPoint, frequency: Frequency, *, allow_gaps: bool
) -> list[date]:
    """The periods between two consecutive rows, refused unless gaps are allowed."""
    step = period_index(point.period, frequency) - period_index(previous.period, frequency)
    if step < 0:
        raise PeriodOrderError(
            f"Row {row} ({point.period}) comes before row {row - 1} ({previous.period}): "
            "periods must be in increasing order",
            row=row,
            period=point.period,
        )
    missing = [_advance(previous.period, frequency, k) for k in range(1, step)]
    if missing and not allow_gaps:
        named = str(missing[0]) if len(missing) == 1 else f"{missing[0]} to {missing[-1]}"
        count = "is" if len(missing) == 1 else f"({len(missing)} {UNIT[frequency]}s) are"
        raise PeriodGapError(
            f"Row {row} ({point.period}) follows row {row - 1} ({previous.period}), "
            f"but {named} {count} missing: add them, or allow gaps",
            row=row,
            period=point.period,
            missing=missing,
        )
    return missing


def _advance(period: date, frequency: Frequency, steps: int) -> date:
    """The period ``steps`` after ``period``, on the same day of the week or month."""
    if frequency is Frequency.DAILY:
        return period + timedelta(days=steps)
    if frequency is Frequency.WEEKLY:
        return period + timedelta(weeks=steps)
    months = steps * (3 if frequency is Frequency.QUARTERLY else 1)
    year, month = divmod(period.year * 12 + period.month - 1 + months, 12)
    day = min(period.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


# Charts


def _no_chart(points: Sequence[SPCPoint], counted: int, missing: tuple[date, ...]) -> SPCChart:
    """Too few points to chart: show them, with the reason and no lines."""
    noun = "point" if counted == 1 else "points"
    return SPCChart(
        kind=ChartKind.RUN,
        reason=f"{counted} {noun}: at least 2 are needed for a chart",
        phases=(),
        points=tuple(_chart_point(p, None, set(), ImprovementDirection.NEITHER) for p in points),
        median=None,
        variation_icon=None,
        assurance_icon=None,
        missing_periods=missing,
    )


def _run_chart(
    points: Sequence[SPCPoint],
    direction: ImprovementDirection,
    reason: str,
    missing: tuple[date, ...],
) -> SPCChart:
    """A run chart around the median, with IHI's rules."""
    counted = [i for i, point in enumerate(points) if not point.ghost]
    values = [points[i].value for i in counted]
    median = statistics.median(values)
    found: Found = defaultdict(set)
    for k, rule, side in _run_signals(values, [points[i].astronomical for i in counted], median):
        found[counted[k]].add((rule, side))
    charted = tuple(_chart_point(p, None, found[i], direction) for i, p in enumerate(points))
    return SPCChart(
        kind=ChartKind.RUN,
        reason=reason,
        phases=(),
        points=charted,
        median=median,
        variation_icon=_variation_icon(charted, judged=True),
        assurance_icon=None,
        missing_periods=missing,
    )


def _xmr_chart(
    points: Sequence[SPCPoint],
    direction: ImprovementDirection,
    target: float | None,
    settings: SPCSettings,
    missing: tuple[date, ...],
) -> SPCChart:
    """An XmR chart: limits per phase, the four rules within each phase."""
    phases: list[SPCPhase] = []
    phase_of: dict[int, int] = {}
    found: Found = defaultdict(set)
    for number, (start, end) in enumerate(_phase_bounds(points)):
        phase_of.update(dict.fromkeys(range(start, end + 1), number))
        counted = [i for i in range(start, end + 1) if not points[i].ghost]
        values = [points[i].value for i in counted]
        phase = _phase(number, start, end, values[: settings.baseline_points])
        phases.append(phase)
        if phase.limits is not None:
            for k, rule, side in _xmr_signals(values, phase.limits, settings):
                found[counted[k]].add((rule, side))
    charted = tuple(_chart_point(p, phase_of[i], found[i], direction) for i, p in enumerate(points))
    latest = next(i for i in reversed(range(len(points))) if not points[i].ghost)
    return SPCChart(
        kind=ChartKind.XMR,
        reason=None,
        phases=tuple(phases),
        points=charted,
        median=None,
        variation_icon=_variation_icon(charted, judged=phases[phase_of[latest]].limits is not None),
        assurance_icon=_assurance_icon(phases[-1].limits, direction, target),
        missing_periods=missing,
    )


def _phase_bounds(points: Sequence[SPCPoint]) -> list[tuple[int, int]]:
    """The first and last index of each phase: a new one starts at each ``recalculate``."""
    starts = [0, *(i for i, point in enumerate(points) if i > 0 and point.recalculate)]
    ends = [start - 1 for start in starts[1:]] + [len(points) - 1]
    return list(zip(starts, ends, strict=True))


def _phase(number: int, start: int, end: int, basis: Sequence[float]) -> SPCPhase:
    limits = _limits(basis)
    reason = None
    if limits is None:
        noun = "point" if len(basis) == 1 else "points"
        reason = f"{len(basis)} calculation {noun}: a phase needs at least 2 for limits"
    return SPCPhase(
        index=number,
        start=start,
        end=end,
        calculation_points=len(basis),
        limits=limits,
        reason=reason,
    )


def _limits(values: Sequence[float]) -> ProcessLimits | None:
    """Mean, MR-bar and the lines at 1, 2 and 3 sigma (2.66 MR-bar) from the mean."""
    if len(values) < 2:
        return None
    mean = _mean(values)
    mr_bar = _mean([abs(b - a) for a, b in pairwise(values)])
    width = SIGMA_SCALE * mr_bar
    return ProcessLimits(
        mean=mean,
        mr_bar=mr_bar,
        upper_process_limit=mean + width,
        lower_process_limit=mean - width,
        upper_two_sigma=mean + width * 2 / 3,
        lower_two_sigma=mean - width * 2 / 3,
        upper_one_sigma=mean + width / 3,
        lower_one_sigma=mean - width / 3,
    )


def _mean(values: Sequence[float]) -> float:
    """The exactly rounded mean; a constant series gives back its value, so no point is off it."""
    if min(values) == max(values):
        return values[0]
    return statistics.fmean(values)


# Rules: each yields (position among the rule's points, rule, side)

Hit = tuple[int, Rule, Side]


def _xmr_signals(
    values: Sequence[float], limits: ProcessLimits, settings: SPCSettings
) -> Iterator[Hit]:
    """Making Data Count's four rules over one phase's non-ghosted values."""
    for k, value in enumerate(values):
        side = _beyond(value, limits.lower_process_limit, limits.upper_process_limit)
        if side is not None:
            yield k, Rule.OUTSIDE_LIMITS, side
    for k, side in _side_runs(values, limits.mean, settings.shift_length, skip_centre=False):
        yield k, Rule.SHIFT, side
    for k, side in _trends(values, settings.trend_length, skip_equal=False):
        yield k, Rule.TREND, side
    for k, side in _two_of_three(values, limits):
        yield k, Rule.TWO_OF_THREE, side


def _run_signals(
    values: Sequence[float], astronomical: Sequence[bool], median: float
) -> Iterator[Hit]:
    """IHI's run-chart rules: shift, trend and the analyst's astronomical points."""
    for k, side in _side_runs(values, median, RUN_CHART_SHIFT, skip_centre=True):
        yield k, Rule.SHIFT, side
    for k, side in _trends(values, RUN_CHART_TREND, skip_equal=True):
        yield k, Rule.TREND, side
    for k, value in enumerate(values):
        if astronomical[k]:
            yield k, Rule.ASTRONOMICAL, Side.LOW if value < median else Side.HIGH


def _beyond(value: float, lower: float, upper: float) -> Side | None:
    if value > upper:
        return Side.HIGH
    if value < lower:
        return Side.LOW
    return None


def _side_runs(
    values: Sequence[float], centre: float, length: int, *, skip_centre: bool
) -> Iterator[tuple[int, Side]]:
    """Points in runs of ``length`` or more on one side of the centre line.

    A point on the line breaks the run, or with ``skip_centre`` is passed over as if absent.
    """
    sided = [(k, _beyond(value, centre, centre)) for k, value in enumerate(values)]
    if skip_centre:
        sided = [(k, side) for k, side in sided if side is not None]
    for side, group in groupby(sided, key=itemgetter(1)):
        run = [k for k, _ in group]
        if side is not None and len(run) >= length:
            yield from ((k, side) for k in run)


def _trends(
    values: Sequence[float], length: int, *, skip_equal: bool
) -> Iterator[tuple[int, Side]]:
    """Points in runs of ``length`` or more, each strictly above (or below) the one before.

    An equal neighbour breaks the run, or with ``skip_equal`` joins the point before it without
    being counted. A turning point belongs to both the rise and the fall.
    """
    units = _units(values, merge_equal=skip_equal)
    steps = [_beyond(values[b[0]], values[a[-1]], values[a[-1]]) for a, b in pairwise(units)]
    position = 0
    for side, group in groupby(steps):
        count = len(list(group))
        if side is not None and count + 1 >= length:
            for unit in units[position : position + count + 1]:
                yield from ((k, side) for k in unit)
        position += count


def _units(values: Sequence[float], *, merge_equal: bool) -> list[list[int]]:
    """Positions grouped into the units a trend counts: runs of equal values, if merged."""
    if not merge_equal:
        return [[k] for k in range(len(values))]
    return [[k for k, _ in group] for _, group in groupby(enumerate(values), key=itemgetter(1))]


def _two_of_three(values: Sequence[float], limits: ProcessLimits) -> Iterator[tuple[int, Side]]:
    """Points beyond a 2-sigma line in any window of three with another beyond the same line."""
    beyond = [_beyond(v, limits.lower_two_sigma, limits.upper_two_sigma) for v in values]
    for start in range(max(1, len(values) - 2)):
        window = range(start, min(start + 3, len(values)))
        for side in Side:
            hits = [k for k in window if beyond[k] is side]
            if len(hits) >= 2:
                yield from ((k, side) for k in hits)


# Reading the chart


def _chart_point(
    point: SPCPoint,
    phase: int | None,
    found: set[tuple[Rule, Side]],
    direction: ImprovementDirection,
) -> ChartPoint:
    ordered = sorted(found, key=lambda hit: (_RULE_ORDER[hit[0]], hit[1] is Side.LOW))
    return ChartPoint(
        period=point.period,
        value=point.value,
        ghost=point.ghost,
        ghost_reason=point.ghost_reason,
        astronomical=point.astronomical,
        phase=phase,
        signals=tuple(
            Signal(rule=rule, side=side, classification=classify(side, direction))
            for rule, side in ordered
        ),
    )


def classify(side: Side, direction: ImprovementDirection) -> Classification:
    """Improvement when the signal is on the side the measure should move to, else concern."""
    if direction is ImprovementDirection.NEITHER:
        return Classification.NEUTRAL
    improving = Side.HIGH if direction is ImprovementDirection.UP else Side.LOW
    return Classification.IMPROVEMENT if side is improving else Classification.CONCERN


def _variation_icon(points: Sequence[ChartPoint], *, judged: bool) -> VariationIcon | None:
    """The icon for the latest non-ghosted point, from its strongest signal."""
    latest = next(point for point in reversed(points) if not point.ghost)
    if not judged:
        return None
    if not latest.signals:
        return VariationIcon.COMMON_CAUSE
    strongest = latest.signals[0]
    return _ICONS[strongest.classification, strongest.side]


def _assurance_icon(
    limits: ProcessLimits | None, direction: ImprovementDirection, target: float | None
) -> AssuranceIcon | None:
    """Whether the process limits sit wholly on the passing or failing side of the target.

    A limit exactly on the target is hit and miss: the process can land on either side of it.
    """
    if limits is None or target is None or direction is ImprovementDirection.NEITHER:
        return None
    passing, failing = (
        (limits.lower_process_limit > target, limits.upper_process_limit < target)
        if direction is ImprovementDirection.UP
        else (limits.upper_process_limit < target, limits.lower_process_limit > target)
    )
    if passing:
        return AssuranceIcon.CONSISTENTLY_PASSING
    if failing:
        return AssuranceIcon.CONSISTENTLY_FAILING
    return AssuranceIcon.HIT_AND_MISS
