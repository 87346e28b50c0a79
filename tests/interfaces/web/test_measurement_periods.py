"""The measurement forms ask for a period the way the measure is measured.

A weekly value is recorded against its Monday and a daily one against its day, which a month
input cannot give: the forms offer a date input for those, a month input for monthly and
quarterly measures, and (with no measure chosen and mixed frequencies) a text input taking
either.  Each form is driven as a browser without JavaScript would; refusals name the field.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from uuid import UUID

import pytest

from domain import commands as c
from domain.values import Actor, Frequency, ImprovementDirection, Role
from interfaces.web.periods import period_input, period_label
from tests.interfaces.web.site import FELLOW, Site, post_form

HTMX = {"HX-Request": "true"}
FELLOW_ACTOR = Actor(user_id=FELLOW, role=Role.FELLOW)
MONDAY = date(2021, 3, 1)  # a Monday long before the demo's values of new measures


def _measure(site: Site, frequency: Frequency) -> tuple[UUID, UUID]:
    """The first demo project and a new measure of that frequency on it."""
    project_id = site.first_project()
    name = f"{frequency.value.capitalize()} arrivals"
    found = [m for m in site.tracker.project(project_id).measures if m.name == name]
    if found:
        return project_id, found[0].measure_id
    result = site.tracker.define_measure(
        FELLOW_ACTOR,
        project_id,
        c.DefineMeasure(
            occurred_on=date.today(),
            name=name,
            unit="arrivals",
            direction=ImprovementDirection.DOWN,
            frequency=frequency,
        ),
    )
    assert result.entity_id is not None
    return project_id, result.entity_id


def _values(site: Site, project_id: UUID, measure_id: UUID) -> dict[date, float]:
    return {
        m.period: m.value
        for m in site.tracker.project(project_id).measurements
        if m.measure_id == measure_id and not m.retracted
    }


def _field(page: str, name: str) -> str:
    """The input element named ``name``."""
    found = re.search(rf'<input[^>]* name="{name}"[^>]*>', page)
    assert found, f"no input {name}"
    return found.group(0)


def _errors(page: str) -> dict[str, str]:
    summary = re.search(r"nhsuk-error-summary__list.*?</ul>", page, re.S)
    assert summary, "no error summary on the page"
    return dict(re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary.group(0)))


def _follow(site: Site, answer_status: int, location: str) -> str:
    assert answer_status == 303
    page = site.as_user(FELLOW).get(location)
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize(
    ("frequency", "kind", "words"),
    [
        (Frequency.WEEKLY, "date", "Monday"),
        (Frequency.DAILY, "date", "The day"),
        (Frequency.MONTHLY, "month", "For example"),
        (Frequency.QUARTERLY, "month", "first month"),
    ],
)
def test_the_period_input_follows_the_chosen_measures_frequency(
    site: Site, frequency: Frequency, kind: str, words: str
) -> None:
    project_id, measure_id = _measure(site, frequency)
    client = site.as_user(FELLOW)
    for slug, name in (("measurement", "period"), ("paste", "first_period")):
        page = client.get(f"/projects/{project_id}/{slug}?measure_id={measure_id}").text
        assert f'type="{kind}"' in _field(page, name)
        hint = re.search(rf'id="{name}-hint">([^<]*)<', page)
        assert hint
        assert words in hint.group(1)


def test_with_no_measure_chosen_mixed_frequencies_get_a_text_input_naming_each(
    site: Site,
) -> None:
    project_id, _ = _measure(site, Frequency.WEEKLY)
    _measure(site, Frequency.DAILY)
    page = site.as_user(FELLOW).get(f"/projects/{project_id}/measurement").text
    assert 'type="text"' in _field(page, "period")
    hint = re.search(r'id="period-hint">([^<]*)<', page)
    assert hint
    assert "Monday" in hint.group(1)
    assert "daily" in hint.group(1)
    assert "monthly" in hint.group(1)  # the demo's own measures are monthly


def test_choosing_a_measure_with_htmx_swaps_in_its_period_field(site: Site) -> None:
    project_id, measure_id = _measure(site, Frequency.WEEKLY)
    client = site.as_user(FELLOW)
    path = f"/projects/{project_id}/measurement?measure_id={measure_id}"
    for headers in (HTMX, {}):
        page = client.get(path, headers=headers)
        assert page.status_code == 200
        swapped = re.search(r'<div id="period-field".*?</div>\s*</div>', page.text, re.S)
        assert swapped, "the page has no period field to swap"
        assert 'type="date"' in swapped.group(0)
        assert 'hx-select="#period-field"' in swapped.group(0)


def test_a_weekly_value_is_recorded_against_its_monday(site: Site) -> None:
    project_id, measure_id = _measure(site, Frequency.WEEKLY)
    client = site.as_user(FELLOW)
    path = f"/projects/{project_id}/measurement"
    form = {
        "measure_id": str(measure_id),
        "value": "14",
        "occurred_on": date.today().isoformat(),
    }
    head = site.tracker.head()
    wednesday = MONDAY + timedelta(days=2)
    refused = post_form(client, path, {**form, "period": wednesday.isoformat()})
    assert refused.status_code == 422
    errors = _errors(refused.text)
    assert list(errors) == ["period"]
    assert "Monday" in errors["period"]
    assert MONDAY.isoformat() in errors["period"]
    assert site.tracker.head() == head
    assert f'value="{wednesday.isoformat()}"' in _field(refused.text, "period")  # kept

    answer = post_form(client, path, {**form, "period": MONDAY.isoformat()})
    page = _follow(site, answer.status_code, answer.headers["location"])
    assert _values(site, project_id, measure_id)[MONDAY] == 14.0
    assert "Week of 1 March 2021" in page


def test_a_daily_value_is_recorded_against_its_day(site: Site) -> None:
    project_id, measure_id = _measure(site, Frequency.DAILY)
    client = site.as_user(FELLOW)
    day = date(2021, 3, 17)
    answer = post_form(
        client,
        f"/projects/{project_id}/measurement",
        {
            "measure_id": str(measure_id),
            "period": day.isoformat(),
            "value": "3",
            "occurred_on": date.today().isoformat(),
        },
    )
    page = _follow(site, answer.status_code, answer.headers["location"])
    assert _values(site, project_id, measure_id)[day] == 3.0
    assert "17 March 2021" in page


def test_a_weekly_column_is_pasted_one_week_per_line_from_a_monday(site: Site) -> None:
    project_id, measure_id = _measure(site, Frequency.WEEKLY)
    client = site.as_user(FELLOW)
    path = f"/projects/{project_id}/paste"
    first = MONDAY + timedelta(weeks=10)
    form = {
        "measure_id": str(measure_id),
        "pasted": "10\n11\n12",
        "occurred_on": date.today().isoformat(),
    }
    head = site.tracker.head()
    tuesday = first + timedelta(days=1)
    refused = post_form(client, path, {**form, "first_period": tuesday.isoformat()})
    assert refused.status_code == 422
    errors = _errors(refused.text)
    assert list(errors) == ["first_period"]
    assert "Monday" in errors["first_period"]
    assert first.isoformat() in errors["first_period"]
    assert site.tracker.head() == head

    page = client.get(f"{path}?measure_id={measure_id}").text
    assert "one week per line" in page
    answer = post_form(client, path, {**form, "first_period": first.isoformat()})
    _follow(site, answer.status_code, answer.headers["location"])
    recorded = _values(site, project_id, measure_id)
    assert [recorded.get(first + timedelta(weeks=k)) for k in range(3)] == [10.0, 11.0, 12.0]


def test_a_daily_column_is_pasted_one_day_per_line(site: Site) -> None:
    project_id, measure_id = _measure(site, Frequency.DAILY)
    client = site.as_user(FELLOW)
    first = date(2021, 5, 30)
    answer = post_form(
        client,
        f"/projects/{project_id}/paste",
        {
            "measure_id": str(measure_id),
            "first_period": first.isoformat(),
            "pasted": "1\n2\n3",
            "occurred_on": date.today().isoformat(),
        },
    )
    _follow(site, answer.status_code, answer.headers["location"])
    recorded = _values(site, project_id, measure_id)
    assert [recorded.get(first + timedelta(days=k)) for k in range(3)] == [1.0, 2.0, 3.0]


def test_a_month_typed_for_a_weekly_measure_is_refused_naming_its_monday(site: Site) -> None:
    """The text input of mixed frequencies takes a month; a weekly measure refuses it."""
    project_id, measure_id = _measure(site, Frequency.WEEKLY)
    head = site.tracker.head()
    refused = post_form(
        site.as_user(FELLOW),
        f"/projects/{project_id}/measurement",
        {
            "measure_id": str(measure_id),
            "period": "2021-08",
            "value": "5",
            "occurred_on": date.today().isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "2021-07-26" in _errors(refused.text)["period"]  # the Monday of 1 August's week
    assert site.tracker.head() == head
    # Shown again as a date, in the date input the weekly measure now gets.
    assert 'value="2021-08-01"' in _field(refused.text, "period")


def test_the_correction_picker_names_each_value_by_its_own_period(site: Site) -> None:
    project_id, weekly = _measure(site, Frequency.WEEKLY)
    quarter = _measure(site, Frequency.QUARTERLY)[1]
    site.tracker.record_measurement(
        FELLOW_ACTOR,
        project_id,
        c.RecordMeasurement(
            occurred_on=date.today(),
            measure_id=quarter,
            period=date(2021, 4, 1),
            value=7,
        ),
    )
    monday = MONDAY + timedelta(weeks=30)
    result = site.tracker.record_measurement(
        FELLOW_ACTOR,
        project_id,
        c.RecordMeasurement(occurred_on=date.today(), measure_id=weekly, period=monday, value=9),
    )
    client = site.as_user(FELLOW)
    page = client.get(f"/projects/{project_id}/correct").text
    assert f"Weekly arrivals, Week of {monday.day} {monday:%B %Y}: 9" in page
    assert "Quarterly arrivals, Q2 2021: 7" in page
    shown = client.get(f"/projects/{project_id}?after={result.notification_id}").text
    assert "Q2 2021" in shown


def test_period_labels_and_inputs_by_frequency() -> None:
    day = date(2025, 3, 3)
    assert period_label(day, Frequency.MONTHLY) == "March 2025"
    assert period_label(date(2025, 1, 1), Frequency.QUARTERLY) == "Q1 2025"
    assert period_label(date(2025, 10, 1), Frequency.QUARTERLY) == "Q4 2025"
    assert period_label(day, Frequency.WEEKLY) == "Week of 3 March 2025"
    assert period_label(day, Frequency.DAILY) == "3 March 2025"

    label = "Period the value covers"
    monthly = period_input([Frequency.MONTHLY], label=label, value="2025-03-01")
    assert (monthly.type, monthly.label, monthly.value) == (
        "month",
        "Month the value covers",
        "2025-03",
    )
    weekly = period_input([Frequency.WEEKLY], label=label, value="2025-03")
    assert (weekly.type, weekly.label, weekly.value) == (
        "date",
        "Week the value covers",
        "2025-03-01",
    )
    both = period_input([Frequency.MONTHLY, Frequency.MONTHLY], label=label, value="")
    assert both.type == "month"  # one frequency among several measures: its own input
    mixed = period_input([Frequency.QUARTERLY, Frequency.DAILY], label=label, value="x")
    assert (mixed.type, mixed.label, mixed.value, mixed.unit) == ("text", label, "x", "period")
    assert "quarter's first month" in mixed.hint
    assert "daily" in mixed.hint
    assert "weekly" not in mixed.hint


def _axis(site: Site, project_id: UUID, measure_id: UUID, after: int) -> dict[str, object]:
    """The x axis of the measure's chart, as the page gives it to Vega-Lite."""
    page = site.as_user(FELLOW).get(f"/projects/{project_id}/measures/{measure_id}?after={after}")
    found = re.search(r'<script type="application/json" id="spc-spec">(.*?)</script>', page.text)
    assert found, "no chart spec on the page"
    axis: dict[str, object] = json.loads(found.group(1))["encoding"]["x"]["axis"]
    return axis


def test_a_weekly_charts_ticks_fall_on_its_mondays(site: Site) -> None:
    """Vega's "week" interval starts on Sunday: the ticks are the chart's own Mondays instead."""
    project_id, measure_id = _measure(site, Frequency.WEEKLY)
    first = MONDAY + timedelta(weeks=60)
    result = site.tracker.paste_measurements(
        FELLOW_ACTOR,
        project_id,
        c.PasteMeasurements(
            occurred_on=date.today(),
            measure_id=measure_id,
            first_period=first,
            pasted="\n".join(str(20 + k % 3) for k in range(25)),
        ),
    )
    axis = _axis(site, project_id, measure_id, result.notification_id)
    assert "tickCount" not in axis
    ticks = axis["values"]
    assert isinstance(ticks, list)
    assert len(ticks) >= 5
    days = [date(t["year"], t["month"], t["date"]) for t in ticks]
    assert all(t["utc"] for t in ticks)
    assert all(d.weekday() == 0 for d in days)
    assert first + timedelta(weeks=24) >= max(days)
    assert min(days) >= MONDAY


def test_a_quarterly_charts_axis_names_quarters(site: Site) -> None:
    project_id, measure_id = _measure(site, Frequency.QUARTERLY)
    result = site.tracker.record_measurement(
        FELLOW_ACTOR,
        project_id,
        c.RecordMeasurement(
            occurred_on=date.today(), measure_id=measure_id, period=date(2020, 10, 1), value=4
        ),
    )
    axis = _axis(site, project_id, measure_id, result.notification_id)
    assert axis["format"] == "Q%q %Y"  # "Q4 2020", as the table says
