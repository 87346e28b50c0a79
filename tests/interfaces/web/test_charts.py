"""A measure's SPC chart page: the chart and its numbers, and the chart settings.

The page must show exactly what ``measure_chart`` (the JSON API's chart) answers: the same
points, limits and signals in the Vega-Lite spec and in the table. The settings forms are driven
as a browser without JavaScript would (POST with the page's CSRF token, then the 303); only the
project's fellows are offered them, and a refusal records nothing.
"""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from domain import commands as c
from domain import project_events as ev
from domain.project import Project
from domain.values import Actor, Frequency, ImprovementDirection, Role
from interfaces.http.services import Services
from interfaces.web.routers.charts import VARIATION, signal_words
from interfaces.web.templating import TEMPLATES
from read_models.queries.charts import MeasureChart, measure_chart
from read_models.queries.common import AsAt, Axis
from tests.interfaces.web.site import (
    EVALUATOR,
    FELLOW,
    OUTSIDER,
    SPONSOR,
    STRANGER,
    Site,
    csrf_of,
    post_form,
)

HTMX = {"HX-Request": "true"}
FELLOW_ACTOR = Actor(user_id=FELLOW, role=Role.FELLOW)
number = TEMPLATES.env.filters["number"]


def views(site: Site) -> Engine:
    """The app's read models, to compare the page with the query it shows."""
    services: Services = cast("FastAPI", site.app).state.services
    return services.read_side.engine


def measure_of(site: Site, index: int = 0) -> tuple[UUID, UUID]:
    """A demo project (by its place in the demo) and its first measure."""
    project_id = site.demo.projects[index]
    return project_id, site.tracker.project(project_id).measures[0].measure_id


def chart_path(project_id: UUID, measure_id: UUID) -> str:
    """Where the measure's chart page is."""
    return f"/projects/{project_id}/measures/{measure_id}"


def chart_now(site: Site, measure_id: UUID, as_at: AsAt | None = None) -> MeasureChart:
    """What the JSON API's chart query answers."""
    found = measure_chart(views(site), measure_id, as_at)
    assert found is not None
    return found


def spec_of(page_html: str) -> dict[str, Any]:
    """The Vega-Lite spec in the page's JSON data block."""
    found = re.search(r'<script type="application/json" id="spc-spec">(.*?)</script>', page_html)
    assert found, "the page has no chart spec"
    spec: dict[str, Any] = json.loads(found.group(1))
    return spec


def table_rows(page_html: str) -> dict[str, list[str]]:
    """The numbers table's cells (as text) by period."""
    start = page_html.index('id="spc-table"')
    table = page_html[start : page_html.index("</table>", start)]
    rows = {}
    for period, body in re.findall(r'data-period="([^"]+)">(.*?)</tr>', table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)
        rows[period] = [html.unescape(re.sub(r"<[^>]+>", " ", c)).strip() for c in cells]
    return rows


def error_links(page_html: str) -> list[str]:
    """Where the error summary's links point."""
    found = re.search(r"nhsuk-error-summary__list.*?</ul>", page_html, re.S)
    assert found, "no error summary on the page"
    return re.findall(r'<a href="#([^"]+)">', found.group(0))


def follow(client: TestClient, answer: httpx.Response) -> str:
    """The page a 303 leads to (which waits for the views to include the change)."""
    assert answer.status_code == 303, answer.text
    assert "after=" in answer.headers["location"]
    page = client.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


def post(client: TestClient, path: str, data: dict[str, str], page: str) -> httpx.Response:
    """POST a settings form with the chart page's CSRF token and the version it shows."""
    shown = client.get(page).text
    version = re.search(r'name="version" value="(\d+)"', shown)
    extra = {"version": version.group(1)} if version else {}
    return client.post(path, data={**extra, **data, "csrftoken": csrf_of(shown)})


def event_types(site: Site, project_id: UUID) -> list[str]:
    """The project's events, oldest first."""
    return [e.event_type for e in site.tracker.history(project_id)]


def test_the_page_draws_the_points_and_limits_the_chart_query_answers(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    page = site.as_user(EVALUATOR).get(chart_path(project_id, measure_id))
    assert page.status_code == 200
    expected = chart_now(site, measure_id)
    spec = spec_of(page.text)
    values = spec["data"]["values"]
    assert [v["period"] for v in values] == [p.period.isoformat() for p in expected.chart.points]
    assert [v["value"] for v in values] == [p.value for p in expected.chart.points]
    for value, point in zip(values, expected.chart.points, strict=True):
        limits = expected.chart.phases[point.phase or 0].limits
        assert limits is not None
        assert value["centre"] == limits.mean
        assert value["upper"] == limits.upper_process_limit
        assert value["lower"] == limits.lower_process_limit
    drawn = {json.dumps(layer["encoding"].get("y", {}).get("field")) for layer in spec["layer"]}
    assert {'"value"', '"centre"', '"upper"', '"lower"', '"target"'} <= drawn
    milestones = [layer for layer in spec["layer"] if "data" in layer and "on" in str(layer)]
    assert any("Pilot started" in json.dumps(layer["data"]) for layer in milestones)
    assert 'class="impact-chart" data-chart-spec="spc-spec"' in page.text
    assert "/assets/vega-lite/vega-lite.min.js" in page.text


def test_the_table_has_the_same_numbers_and_names_the_signals_in_words(site: Site) -> None:
    project_id, measure_id = measure_of(site, 1)
    page = site.as_user(EVALUATOR).get(chart_path(project_id, measure_id)).text
    expected = chart_now(site, measure_id)
    rows = table_rows(page)
    assert list(rows) == [p.period.isoformat() for p in expected.chart.points]
    signalled = 0
    for point in expected.chart.points:
        period, value, centre, lower, upper, signals, ghosted = rows[point.period.isoformat()][:7]
        limits = expected.chart.phases[point.phase or 0].limits
        assert limits is not None
        assert value == number(point.value)
        assert (centre, lower, upper) == (
            number(limits.mean),
            number(limits.lower_process_limit),
            number(limits.upper_process_limit),
        )
        assert period == f"{point.period:%B %Y}"
        for signal in point.signals:
            assert signal_words(signal, expected.chart.kind) in signals
        signalled += bool(point.signals)
        assert signals == "None" if not point.signals else signals != "None"
        assert ghosted.startswith("Yes" if point.ghost else "No")
    assert signalled, "the demo measure should have some special-cause points"


def test_the_variation_and_assurance_icons_are_shown_with_what_they_mean(site: Site) -> None:
    project_id, measure_id = measure_of(site, 2)
    page = site.as_user(EVALUATOR).get(chart_path(project_id, measure_id)).text
    chart = chart_now(site, measure_id).chart
    assert chart.variation_icon is not None
    title, _, meaning = VARIATION[chart.variation_icon]
    assert f'id="variation-icon">{title}</strong>' in page
    assert html.escape(meaning) in page
    assert 'id="assurance-icon"' in page


def test_a_short_series_is_a_run_chart_that_says_why(site: Site) -> None:
    project_id, measure_id = measure_of(site, 5)
    page = site.as_user(EVALUATOR).get(chart_path(project_id, measure_id)).text
    chart = chart_now(site, measure_id).chart
    assert chart.kind.value == "run"
    assert "Fewer than 15 points: a run chart, not an SPC chart" in page
    assert "6 or more points in a row on one side of the median" in page
    spec = spec_of(page)
    assert {v["centre"] for v in spec["data"]["values"]} == {chart.median}
    fields = {layer["encoding"].get("y", {}).get("field") for layer in spec["layer"]}
    assert "upper" not in fields
    assert "lower" not in fields
    assert "A run chart has no process limits to compare with the target." in page


def test_a_measure_with_no_better_direction_draws_its_signals_purple(site: Site) -> None:
    project_id = site.first_project()
    fellow = site.as_user(FELLOW)
    today = date.today().isoformat()
    defined = post_form(
        fellow,
        f"/projects/{project_id}/measure",
        {
            "name": "Referrals to the falls service",
            "unit": "referrals",
            "direction": "neither",
            "frequency": "monthly",
            "occurred_on": today,
        },
    )
    follow(fellow, defined)
    measure_id = site.tracker.project(project_id).measures[-1].measure_id
    values = "\n".join(["10", "11", "10", "12", "11", "10", "11", "12", "10", "11"] + ["20"] * 8)
    data = {"measure_id": str(measure_id), "first_period": "2024-01", "pasted": values}
    follow(
        fellow, post_form(fellow, f"/projects/{project_id}/paste", {**data, "occurred_on": today})
    )

    page = fellow.get(chart_path(project_id, measure_id)).text
    spec = spec_of(page)
    colour = next(layer for layer in spec["layer"] if "color" in layer["encoding"])
    assert colour["encoding"]["color"]["scale"]["range"][0] == "#7030A0"
    assert "#41B6E6" not in colour["encoding"]["color"]["scale"]["range"]
    categories = {v["category"] for v in spec["data"]["values"]}
    assert "Special cause (neither direction)" in categories
    assert 'id="variation-icon">Special cause variation (high)</strong>' in page
    assert "This measure has no better direction, so there is no assurance icon." in page
    assert "(neither better nor worse)" in table_rows(page)["2025-06-01"][5]


def test_the_one_click_recalculation_records_one_event_and_starts_a_phase(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    before = event_types(site, project_id)
    phases = len(chart_now(site, measure_id).chart.phases)
    assert 'id="recalculate-at-pilot"' in fellow.get(path).text

    page = follow(fellow, post(fellow, f"{path}/recalculate-at-pilot", {}, path))

    after = event_types(site, project_id)
    assert after[len(before) :] == ["RecalculationMarked"]
    pilot = min(p.started_on for p in site.tracker.project(project_id).pilots)
    assert site.tracker.history(project_id)[-1].data["from_period"] == str(pilot.replace(day=1))
    chart = chart_now(site, measure_id).chart
    assert len(chart.phases) == phases + 1
    assert {v["phase"] for v in spec_of(page)["data"]["values"]} == set(
        range(1, len(chart.phases) + 1)
    )
    assert "Limits recalculated" in page
    assert 'id="recalculate-at-pilot"' not in page
    assert "Limits are recalculated from the pilot start" in page


def test_a_recalculation_from_a_chosen_period_needs_a_reason_and_can_be_removed(
    site: Site,
) -> None:
    project_id, measure_id = measure_of(site)
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    phases = len(chart_now(site, measure_id).chart.phases)
    before = event_types(site, project_id)
    chosen = chart_now(site, measure_id).chart.points[-12].period.isoformat()

    refused = post(fellow, f"{path}/recalculations", {"from_period": chosen}, path)
    assert refused.status_code == 422
    assert error_links(refused.text) == ["recalculation_reason"]
    assert event_types(site, project_id) == before

    reason = {"from_period": chosen, "recalculation_reason": "A second ward joined."}
    page = follow(fellow, post(fellow, f"{path}/recalculations", reason, path))
    assert len(chart_now(site, measure_id).chart.phases) == phases + 1
    assert f'id="remove-{chosen}"' in page

    again = post(fellow, f"{path}/recalculations", reason, path)
    assert again.status_code == 422
    assert error_links(again.text) == ["from_period"]

    page = follow(
        fellow, post(fellow, f"{path}/recalculations/remove", {"from_period": chosen}, path)
    )
    assert event_types(site, project_id)[len(before) :] == [
        "RecalculationMarked",
        "RecalculationRemoved",
    ]
    assert len(chart_now(site, measure_id).chart.phases) == phases
    assert f'id="remove-{chosen}"' not in page


def test_ghosting_a_point_needs_a_reason_then_leaves_it_out_until_restored(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    point = next(p for p in site.tracker.project(project_id).measurements if not p.retracted)
    period = point.period.isoformat()
    before = event_types(site, project_id)

    refused = post(fellow, f"{path}/ghost", {"measurement_id": str(point.measurement_id)}, path)
    assert refused.status_code == 422
    assert error_links(refused.text) == [f"ghost-reason-{point.measurement_id}"]
    assert "Nothing was recorded" in refused.text
    assert event_types(site, project_id) == before
    assert not next(
        p for p in chart_now(site, measure_id).chart.points if p.period == point.period
    ).ghost

    ghost = {"measurement_id": str(point.measurement_id), "reason": "Half the wards missing."}
    page = follow(fellow, post(fellow, f"{path}/ghost", ghost, path))
    assert event_types(site, project_id)[len(before) :] == ["MeasurementGhosted"]
    assert table_rows(page)[period][6] == "Yes: Half the wards missing."
    drawn = next(v for v in spec_of(page)["data"]["values"] if v["period"] == period)
    assert drawn["ghost"] is True
    assert next(
        p for p in chart_now(site, measure_id).chart.points if p.period == point.period
    ).ghost
    assert f'id="restore-{point.measurement_id}"' in page

    restore = {"measurement_id": str(point.measurement_id)}
    page = follow(fellow, post(fellow, f"{path}/restore", restore, path))
    assert event_types(site, project_id)[len(before) :] == [
        "MeasurementGhosted",
        "MeasurementRestored",
    ]
    assert table_rows(page)[period][6] == "No"


def test_a_point_of_another_measure_cannot_be_ghosted_from_this_chart(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    other = site.demo.projects[1]
    stranger_point = site.tracker.project(other).measurements[0].measurement_id
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    before = event_types(site, project_id)
    data = {"measurement_id": str(stranger_point), "reason": "Not mine."}
    refused = post(fellow, f"{path}/ghost", data, path)
    assert refused.status_code == 422
    assert event_types(site, project_id) == before


def test_a_fellow_not_on_the_project_sees_no_settings_and_may_not_change_them(
    site: Site,
) -> None:
    project_id, measure_id = measure_of(site)
    outsider = site.as_user(OUTSIDER)
    path = chart_path(project_id, measure_id)
    page = outsider.get(path)
    assert page.status_code == 200
    assert 'id="chart-settings"' not in page.text
    assert "/ghost" not in page.text
    assert "recalculate-at-pilot" not in page.text
    before = event_types(site, project_id)
    point = site.tracker.project(project_id).measurements[0].measurement_id
    for who in (OUTSIDER, SPONSOR, EVALUATOR):  # every settings form, for every non-member
        client = site.as_user(who)
        token = csrf_of(client.get(path).text)
        for action, data in (
            ("recalculate-at-pilot", {}),
            ("recalculations", {"from_period": "2023-04-01", "recalculation_reason": "Why."}),
            ("recalculations/remove", {"from_period": "2023-04-01"}),
            ("ghost", {"measurement_id": str(point), "reason": "Because."}),
            ("restore", {"measurement_id": str(point)}),
            ("astronomical", {"measurement_id": str(point), "reason": "Because."}),
            ("astronomical/remove", {"measurement_id": str(point)}),
            ("baseline", {"baseline_points": "12", "baseline_reason": "The year before."}),
            ("baseline/clear", {}),
        ):
            refused = client.post(f"{path}/{action}", data={**data, "csrftoken": token})
            assert refused.status_code == 403, (who, action)
            assert "You can&#39;t do that" in refused.text
    assert event_types(site, project_id) == before


def test_the_projects_sponsor_reads_the_chart_without_settings(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    page = site.as_user(SPONSOR).get(chart_path(project_id, measure_id))
    assert page.status_code == 200
    assert 'id="spc-spec"' in page.text
    assert 'id="chart-settings"' not in page.text


def test_strangers_are_refused_and_the_anonymous_sent_to_sign_in(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    path = chart_path(project_id, measure_id)
    refused = site.as_user(STRANGER).get(path)
    assert refused.status_code == 403
    assert "You can&#39;t do that" in refused.text
    anonymous = site.anonymous().get(path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")


def test_an_unknown_measure_or_one_of_another_project_is_not_found(site: Site) -> None:
    project_id, _ = measure_of(site)
    _, other_measure = measure_of(site, 1)
    evaluator = site.as_user(EVALUATOR)
    assert evaluator.get(chart_path(project_id, uuid4())).status_code == 404
    assert evaluator.get(chart_path(project_id, other_measure)).status_code == 404


def test_the_chart_as_it_stood_at_a_date_shows_only_what_was_known_then(site: Site) -> None:
    project_id, measure_id = measure_of(site, 3)
    day = date(2023, 6, 30)
    page = site.as_user(FELLOW).get(
        chart_path(project_id, measure_id), params={"at": day.isoformat(), "axis": "effective"}
    )
    assert page.status_code == 200
    expected = chart_now(site, measure_id, AsAt(axis=Axis.EFFECTIVE, moment=day))
    values = spec_of(page.text)["data"]["values"]
    assert [v["period"] for v in values] == [p.period.isoformat() for p in expected.chart.points]
    assert all(v["period"] <= day.isoformat() for v in values)
    assert len(values) < len(chart_now(site, measure_id).chart.points)
    assert 'id="as-at-notice"' in page.text
    assert "30 June 2023" in page.text
    assert 'id="chart-settings"' not in page.text


def test_before_anything_was_recorded_the_page_says_there_were_no_values(site: Site) -> None:
    project_id, measure_id = measure_of(site, 3)
    page = site.as_user(EVALUATOR).get(
        chart_path(project_id, measure_id), params={"at": "2000-01-01", "axis": "recorded"}
    )
    assert page.status_code == 200
    assert "No values had been recorded by then." in page.text
    assert 'id="spc-spec"' not in page.text
    assert 'id="spc-table"' not in page.text


def test_a_made_up_as_at_date_is_refused_with_an_error_summary(site: Site) -> None:
    project_id, measure_id = measure_of(site, 3)
    page = site.as_user(EVALUATOR).get(
        chart_path(project_id, measure_id), params={"at": "2023-02-30", "axis": "effective"}
    )
    assert page.status_code == 422
    assert error_links(page.text) == ["at"]


def test_htmx_gets_the_chart_alone_and_a_browser_the_whole_page(site: Site) -> None:
    project_id, measure_id = measure_of(site, 2)
    evaluator = site.as_user(EVALUATOR)
    path = chart_path(project_id, measure_id)
    fragment = evaluator.get(path, headers=HTMX, params={"at": "2024-01-31", "axis": "effective"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="spc">')
    assert "<html" not in fragment.text
    assert 'id="spc-spec"' in fragment.text
    whole = evaluator.get(path, params={"at": "2024-01-31", "axis": "effective"})
    assert "<html" in whole.text
    assert 'id="spc"' in whole.text
    assert "/assets/vega/vega.min.js" in whole.text


def test_every_settings_form_posts_with_the_csrf_token(site: Site) -> None:
    project_id, measure_id = measure_of(site, 0)
    page = site.as_user(FELLOW).get(chart_path(project_id, measure_id)).text
    forms = re.findall(r'<form method="post".*?</form>', page, re.S)
    assert len(forms) > 10
    assert all('name="csrftoken"' in form for form in forms)
    assert "style=" not in page
    assert "<script>" not in page


def test_flagging_a_point_astronomical_needs_a_reason_then_can_be_taken_off(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    point = next(p for p in site.tracker.project(project_id).measurements if not p.retracted)
    period = point.period.isoformat()
    field = f"astronomical-reason-{point.measurement_id}"
    assert f'id="{field}"' in fellow.get(path).text
    before = event_types(site, project_id)

    chosen = {"measurement_id": str(point.measurement_id)}
    refused = post(fellow, f"{path}/astronomical", chosen, path)
    assert refused.status_code == 422
    assert error_links(refused.text) == [field]
    assert event_types(site, project_id) == before

    flag = {**chosen, "reason": "The ward was shut for a week."}
    page = follow(fellow, post(fellow, f"{path}/astronomical", flag, path))
    assert event_types(site, project_id)[len(before) :] == ["MeasurementFlaggedAstronomical"]
    assert "Point flagged as astronomical" in page
    assert table_rows(page)[period][7].startswith("Yes")
    assert next(p for p in chart_now(site, measure_id).chart.points if p.period == point.period)
    assert f'id="unflag-{point.measurement_id}"' in page

    page = follow(fellow, post(fellow, f"{path}/astronomical/remove", chosen, path))
    assert event_types(site, project_id)[len(before) :] == [
        "MeasurementFlaggedAstronomical",
        "MeasurementUnflaggedAstronomical",
    ]
    assert table_rows(page)[period][7] == "No"
    assert not any(p.astronomical for p in chart_now(site, measure_id).chart.points)


def test_a_baseline_set_on_the_page_fixes_the_limits_until_cleared(site: Site) -> None:
    project_id, measure_id = measure_of(site)
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    before = event_types(site, project_id)

    refused = post(fellow, f"{path}/baseline", {"baseline_points": "1"}, path)
    assert refused.status_code == 422
    assert set(error_links(refused.text)) == {"baseline_points", "baseline_reason"}
    assert event_types(site, project_id) == before

    chosen = {"baseline_points": "12", "baseline_reason": "The year before the pilot."}
    page = follow(fellow, post(fellow, f"{path}/baseline", chosen, path))
    assert event_types(site, project_id)[len(before) :] == ["BaselineSet"]
    found = chart_now(site, measure_id)
    assert found.baseline_points == 12
    assert all(p.calculation_points <= 12 for p in found.chart.phases)
    assert 'id="stored-baseline"' in page
    assert 'id="baseline-in-use"' in page

    page = follow(fellow, post(fellow, f"{path}/baseline/clear", {}, path))
    assert event_types(site, project_id)[-1] == "BaselineCleared"
    assert chart_now(site, measure_id).baseline_points is None
    assert 'id="stored-baseline"' not in page


def test_the_one_click_recalculation_of_a_weekly_measure_starts_at_the_pilots_week(
    site: Site,
) -> None:
    project_id, _ = measure_of(site)
    pilot = min(p.started_on for p in site.tracker.project(project_id).pilots)
    monday = pilot - timedelta(days=pilot.weekday())
    measure_id = site.tracker.define_measure(
        FELLOW_ACTOR,
        project_id,
        c.DefineMeasure(
            occurred_on=pilot,
            name="Weekly discharges before noon",
            unit="discharges",
            direction=ImprovementDirection.UP,
            frequency=Frequency.WEEKLY,
        ),
    ).entity_id
    assert measure_id is not None
    pasted = site.tracker.paste_measurements(
        FELLOW_ACTOR,
        project_id,
        c.PasteMeasurements(
            occurred_on=monday + timedelta(weeks=20),
            measure_id=measure_id,
            first_period=monday - timedelta(weeks=10),
            pasted="\n".join(str(30 + k % 4) for k in range(20)),
        ),
    )
    fellow = site.as_user(FELLOW)
    path = chart_path(project_id, measure_id)
    shown = f"{path}?after={pasted.notification_id}"  # once the views hold the new measure
    assert f"Week of {monday.day} {monday:%B %Y}" in fellow.get(shown).text

    follow(fellow, post(fellow, f"{path}/recalculate-at-pilot", {}, shown))

    assert site.tracker.history(project_id)[-1].data["from_period"] == monday.isoformat()
    chart = chart_now(site, measure_id).chart
    assert len(chart.phases) == 2
    assert chart.points[chart.phases[1].start].period == monday


def test_the_replay_links_to_every_measure_chart_as_it_stood_on_its_date(site: Site) -> None:
    evaluator = site.as_user(EVALUATOR)
    day = date(2023, 6, 30)
    replay = evaluator.get("/portfolio/replay", params={"at": day.isoformat(), "axis": "effective"})
    assert replay.status_code == 200
    assert f'href="/measures?at={day.isoformat()}&amp;axis=effective"' in replay.text

    listed = evaluator.get("/measures", params={"at": day.isoformat(), "axis": "effective"})
    assert listed.status_code == 200
    hrefs = re.findall(r'href="(/projects/[^/"]+/measures/[^"]+)"', listed.text)
    everything = re.findall(
        r'href="(/projects/[^/"]+/measures/[^"]+)"', evaluator.get("/measures").text
    )
    assert 0 < len(hrefs) < len(everything)  # only the measures defined by then
    assert all(h.endswith(f"?at={day.isoformat()}&amp;axis=effective") for h in hrefs)
    chart_page = evaluator.get(html.unescape(hrefs[0]))
    assert chart_page.status_code == 200
    assert 'id="as-at-notice"' in chart_page.text

    refused = evaluator.get("/measures", params={"at": "soon", "axis": "effective"})
    assert refused.status_code == 422
    assert error_links(refused.text) == ["at"]


def test_a_sponsor_is_offered_only_the_charts_of_projects_they_may_read(site: Site) -> None:
    sponsor = site.as_user(SPONSOR)
    readable = {str(p) for p in site.demo.projects if sponsor.get(f"/projects/{p}").is_success}
    offered = set(re.findall(r'href="/projects/([^/"]+)/measures/', sponsor.get("/measures").text))
    assert offered
    assert offered <= readable
    assert not re.findall(
        r"/measures/", site.as_user(STRANGER).get("/measures").text.split("<h1")[1]
    )


def test_an_organisations_page_links_to_its_projects_charts(site: Site) -> None:
    project_id, _ = measure_of(site)
    lead = site.tracker.project(project_id).lead_organisation_id
    evaluator = site.as_user(EVALUATOR)
    page = evaluator.get(f"/organisations/{lead}", params={"at": "2026-10-31", "axis": "effective"})
    assert page.status_code == 200
    link = f"/measures?organisation_id={lead}&amp;at=2026-10-31&amp;axis=effective"
    assert f'href="{link}"' in page.text
    listed = evaluator.get(html.unescape(link)).text
    assert f"/projects/{project_id}/measures/" in listed


def test_a_stored_second_value_in_a_month_does_not_break_the_project_page(site: Site) -> None:
    """Values stored before one value per period was enforced: named on the measure's page."""
    project_id, _ = measure_of(site)
    measure_id = site.tracker.define_measure(
        FELLOW_ACTOR,
        project_id,
        c.DefineMeasure(
            occurred_on=date(2025, 1, 1),
            name="Recorded twice in March",
            unit="%",
            direction=ImprovementDirection.UP,
        ),
    ).entity_id
    assert measure_id is not None
    project: Project = site.tracker.repository.get(project_id)
    for day in (1, 15):
        project.trigger_event(
            ev.MeasurementRecorded,
            actor=FELLOW_ACTOR,
            occurred_on=date(2025, 4, 2),
            measurement_id=uuid4(),
            measure_id=measure_id,
            period=date(2025, 3, day),
            value=float(day),
            numerator=None,
            denominator=None,
            note="",
        )
    saved = site.tracker.save(project)
    fellow = site.as_user(FELLOW)
    page = fellow.get(f"/projects/{project_id}?after={saved[-1].notification.id}")
    assert page.status_code == 200
    assert chart_path(project_id, measure_id) in page.text
    chart_page = fellow.get(chart_path(project_id, measure_id))
    assert chart_page.status_code == 422
    assert "is in the same month as row 1" in html.unescape(chart_page.text)
