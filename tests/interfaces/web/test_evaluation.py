"""The evaluator's pages: the portfolio, time to stage, the replay (still, stepped, played)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any, cast
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from domain.values import Stage
from interfaces.http.services import Services
from interfaces.web.labels import SECTOR_LABELS
from interfaces.web.routers.evaluation import INTERVALS, add_months, frame_dates
from read_models.queries.common import AsAt, Axis
from read_models.queries.portfolio import (
    HistorySpan,
    StageCounts,
    history_span,
    portfolio,
    time_to_stage,
)
from read_models.runner import wait_until_applied
from tests.interfaces.web.site import EVALUATOR, FELLOW, SPONSOR, STRANGER, Site

HTMX = {"HX-Request": "true"}
FAST = "0.05"  # seconds between months: the fastest pace the stream allows


def views(site: Site) -> Engine:
    """The app's read models, caught up with the demo, to compare each page with its query."""
    services: Services = cast("FastAPI", site.app).state.services
    engine = services.read_side.engine
    wait_until_applied(
        engine, site.tracker.head(), list(services.read_side.runner.projections), timeout=30
    )
    return engine


def span(site: Site, axis: Axis) -> HistorySpan:
    """The first and last change of the demo's history on an axis."""
    found = history_span(views(site), axis)
    assert found is not None
    return found


class _Tables(HTMLParser):
    """Each table's rows (by the table's id) as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._rows = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in {"td", "th"} and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None and self._rows:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(page_html: str, table_id: str) -> dict[str, list[str]]:
    """A table's body rows by their first cell (the header row left out)."""
    parser = _Tables()
    parser.feed(page_html)
    rows = parser.tables[table_id]
    return {row[0]: row[1:] for row in rows[1:]}


def counts(groups: list[StageCounts], *, sectors: bool = False) -> dict[str, list[str]]:
    """What a stage table should say for these groups: each stage's count, then the total."""
    return {
        (SECTOR_LABELS[g.label] if sectors else g.label): [
            *(str(g.counts[s]) for s in Stage),
            str(g.total),
        ]
        for g in groups
    }


def shown_count(page_html: str) -> int:
    """The number of projects the portfolio fragment says it counts."""
    found = re.search(r'id="portfolio-count"><strong>(\d+)</strong>', page_html)
    assert found, "no project count on the page"
    return int(found.group(1))


def chart_spec(page_html: str, spec_id: str) -> dict[str, Any]:
    """The Vega-Lite spec a page carries in its JSON data block."""
    found = re.search(rf'<script type="application/json" id="{spec_id}">(.*?)</script>', page_html)
    assert found, f"no chart spec {spec_id}"
    spec: dict[str, Any] = json.loads(found.group(1))
    return spec


def link(page_html: str, element_id: str) -> str:
    """The href of the element with this id (entities undone, as a browser would)."""
    found = re.search(rf'id="{element_id}" href="([^"]+)"', page_html)
    assert found, f"no link {element_id}"
    return found.group(1).replace("&amp;", "&")


def read_events(client: TestClient, url: str, **headers: str) -> list[tuple[str, str, str]]:
    """A stream's events as (name, id, data), read line by line as EventSource does."""
    events: list[tuple[str, str, str]] = []
    data: list[str] = []
    name, event_id = "message", ""
    with client.stream("GET", url, headers=headers) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if not line:
                if data:
                    events.append((name, event_id, "\n".join(data)))
                name, event_id, data = "message", "", []
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
            elif line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("id:"):
                event_id = line.removeprefix("id:").strip()
    return events


# The portfolio now


def test_the_portfolio_counts_every_project_once_per_grouping_as_the_query_does(
    site: Site,
) -> None:
    expected = portfolio(views(site))
    page = site.as_user(EVALUATOR).get("/portfolio")
    assert page.status_code == 200
    assert expected.projects == len(site.demo.projects) == 40
    all_row = [*(str(expected.totals[s]) for s in Stage), "40"]
    for table_id, groups, sectors in (
        ("by-cohort", expected.by_cohort, False),
        ("by-system", expected.by_system, False),
        ("by-sector", expected.by_sector, True),
    ):
        shown = table(page.text, table_id)
        assert shown.pop("All") == all_row
        assert shown == counts(groups, sectors=sectors)
        assert sum(int(row[-1]) for row in shown.values()) == 40
    assert shown_count(page.text) == 40
    assert "Acute hospital" in page.text  # sectors in plain English, not their codes


def test_the_stages_chart_draws_the_numbers_of_the_cohort_table(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/portfolio").text
    spec = chart_spec(page, "stages-by-cohort-spec")
    drawn: defaultdict[str, dict[str, int]] = defaultdict(dict)
    for value in spec["data"]["values"]:
        drawn[value["cohort"]][value["stage"]] = value["projects"]
    shown = table(page, "by-cohort")
    shown.pop("All")
    assert {
        c: [*(str(n) for n in stages.values()), str(sum(stages.values()))]
        for c, stages in drawn.items()
    } == shown
    assert list(next(iter(drawn.values()))) == ["Proposed", "Piloted", "Measured", "Adopted"]
    assert 'data-chart-spec="stages-by-cohort-spec"' in page


def test_time_to_stage_shows_each_distribution_as_the_query_does(site: Site) -> None:
    expected = time_to_stage(views(site))
    page = site.as_user(EVALUATOR).get("/portfolio").text
    shown = table(page, "time-to-stage-table")
    for name, label in INTERVALS:
        d = getattr(expected, name)
        assert d.count > 0
        assert shown[label] == [
            str(d.count),
            str(d.minimum),
            f"{d.lower_quartile:,.1f}".removesuffix(".0"),
            f"{d.median:,.1f}".removesuffix(".0"),
            f"{d.upper_quartile:,.1f}".removesuffix(".0"),
            str(d.maximum),
        ]
    layers = chart_spec(page, "time-to-stage-spec")["layer"]
    medians = {v["interval"]: v["median"] for v in layers[0]["data"]["values"]}
    assert medians == {label: getattr(expected, name).median for name, label in INTERVALS}
    each_project = [v["days"] for v in layers[-1]["data"]["values"]]
    assert sorted(each_project) == sorted(
        day for name, _ in INTERVALS for day in getattr(expected, name).days
    )


def test_time_to_stage_for_one_cohort_comes_alone_to_htmx_and_in_the_page_otherwise(
    site: Site,
) -> None:
    cohort = portfolio(views(site)).by_cohort[0]
    expected = time_to_stage(views(site), cohort_id=UUID(cohort.key))
    client = site.as_user(EVALUATOR)
    fragment = client.get(f"/portfolio?cohort_id={cohort.key}", headers=HTMX)
    whole = client.get(f"/portfolio?cohort_id={cohort.key}")
    assert fragment.status_code == whole.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="time-to-stage"')
    assert "<html" not in fragment.text
    assert "by-cohort" not in fragment.text
    assert "<html" in whole.text
    assert 'id="by-cohort"' in whole.text
    assert "HX-Request" in fragment.headers["vary"]
    for answer in (fragment, whole):
        shown = table(answer.text, "time-to-stage-table")
        assert shown["Proposal to pilot"][0] == str(expected.proposal_to_pilot.count)
        assert "cohort 1" in answer.text.split('id="time-to-stage-scope"')[1].split("</p>")[0]


def test_an_unknown_cohort_is_refused_in_an_error_summary(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/portfolio?cohort_id=not-a-cohort")
    assert page.status_code == 422
    assert "nhsuk-error-summary" in page.text
    assert "Choose a cohort from the list" in page.text
    assert table(page.text, "time-to-stage-table")  # every cohort's timing is still shown


# The replay


def test_the_replay_at_an_early_date_shows_fewer_projects_than_now_on_either_axis(
    site: Site,
) -> None:
    engine = views(site)
    client = site.as_user(EVALUATOR)
    early = add_months(span(site, Axis.EFFECTIVE).first, 6)
    before_recording = span(site, Axis.RECORDED).first - timedelta(days=1)
    for axis, day in ((Axis.EFFECTIVE, early), (Axis.RECORDED, before_recording)):
        then = portfolio(engine, AsAt(axis=axis, moment=day))
        page = client.get(f"/portfolio/replay?axis={axis.value}&at={day.isoformat()}")
        assert page.status_code == 200
        assert then.projects < 40
        assert shown_count(page.text) == then.projects
        cohorts = table(page.text, "by-cohort")
        assert cohorts.pop("All")[-1] == str(then.projects)
        assert {k: v for k, v in cohorts.items() if v[-1] != "0"} == counts(then.by_cohort)
        assert f'data-date="{day.isoformat()}"' in page.text
    recorded_now = span(site, Axis.RECORDED).last.isoformat()
    page = client.get(f"/portfolio/replay?axis=recorded&at={recorded_now}")
    assert shown_count(page.text) == 40
    assert "As it had been recorded by the end of that day" in page.text


def test_the_replay_starts_at_the_beginning_of_the_history(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/portfolio/replay")
    assert page.status_code == 200
    first = span(site, Axis.EFFECTIVE).first
    assert f'data-date="{first.isoformat()}"' in page.text
    assert f'value="{first.isoformat()}"' in page.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("axis=effective&at=2024-02-31", "Date must be a real date, like 2025-03-31"),
        ("axis=effective&at=soon", "Date must be a real date, like 2025-03-31"),
        ("axis=effective&at=0001-01-01", "Date must be between 1900 and 2999"),
        ("axis=sideways&at=2024-02-01", "Choose as it was in effect or as recorded"),
    ],
)
def test_a_bad_date_or_axis_is_refused_in_an_error_summary_not_a_server_error(
    site: Site, query: str, message: str
) -> None:
    for headers in ({}, HTMX):
        page = site.as_user(EVALUATOR).get(f"/portfolio/replay?{query}", headers=headers)
        assert page.status_code == 422
        assert "nhsuk-error-summary" in page.text
        assert message in page.text
        assert 'id="portfolio-at"' not in page.text


def test_previous_and_next_month_links_step_a_month_on_the_same_axis(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    page = client.get("/portfolio/replay?axis=recorded&at=2024-03-31").text
    previous, following = link(page, "previous-month"), link(page, "next-month")
    assert previous == "/portfolio/replay?axis=recorded&at=2024-02-29"
    assert following == "/portfolio/replay?axis=recorded&at=2024-04-30"
    assert 'hx-get="/portfolio/replay?axis=recorded&amp;at=2024-04-30"' in page
    stepped = client.get(following).text
    assert "30 April 2024" in stepped
    assert 'data-date="2024-04-30"' in stepped


def test_the_replay_fragment_comes_alone_to_htmx_and_the_whole_page_otherwise(
    site: Site,
) -> None:
    client = site.as_user(EVALUATOR)
    fragment = client.get("/portfolio/replay?axis=effective&at=2024-06-30", headers=HTMX)
    whole = client.get("/portfolio/replay?axis=effective&at=2024-06-30")
    assert fragment.status_code == whole.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="replay">')
    assert "<html" not in fragment.text
    assert "<h1>" not in fragment.text
    assert "<html" in whole.text
    assert "<h1>Replay the portfolio</h1>" in whole.text
    for answer in (fragment, whole):
        assert 'data-date="2024-06-30"' in answer.text
        assert 'id="play"' in answer.text
        assert "sse-connect" not in answer.text


def test_play_swaps_in_a_player_that_listens_to_the_stream_with_a_pause(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    url = "/portfolio/replay?axis=effective&at=2024-06-30&play=1"
    assert link(client.get("/portfolio/replay?axis=effective&at=2024-06-30").text, "play") == url
    fragment = client.get(url, headers=HTMX).text
    assert (
        '<div id="stream" hx-ext="sse" '
        'sse-connect="/portfolio/replay/stream?axis=effective&amp;from=2024-06-30&amp;pace=1" '
        'sse-swap="frame" sse-close="done">'
    ) in fragment
    assert link(fragment, "pause") == "/portfolio/replay?axis=effective&at=2024-06-30"
    assert 'hx-target="#replay"' in fragment
    assert 'id="play"' not in fragment
    # Without JavaScript, Play walks the same months a page at a time.
    whole = client.get(url).text
    assert (
        '<noscript><meta http-equiv="refresh" content="1;'
        'url=/portfolio/replay?axis=effective&amp;at=2024-07-30&amp;play=1"></noscript>'
    ) in whole


def test_pause_shows_the_still_portfolio_at_the_date_on_screen(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    paused = client.get("/portfolio/replay?axis=effective&at=2024-09-30", headers=HTMX).text
    assert "sse-connect" not in paused
    assert 'id="pause"' not in paused
    assert 'data-date="2024-09-30"' in paused
    assert 'id="play"' in paused


def test_the_stream_sends_a_frame_a_month_in_order_then_done(site: Site) -> None:
    history = span(site, Axis.EFFECTIVE)
    start = add_months(history.last, -5)
    events = read_events(
        site.as_user(EVALUATOR),
        f"/portfolio/replay/stream?axis=effective&from={start.isoformat()}&pace={FAST}",
    )
    names = [name for name, _, _ in events]
    assert names == ["frame"] * 6 + ["done"]
    expected = [add_months(start, k) for k in range(5)] + [history.last]
    assert [event_id for _, event_id, _ in events[:-1]] == [d.isoformat() for d in expected]
    engine = views(site)
    for (_, _, html), day in zip(events, expected, strict=False):
        assert f'data-date="{day.isoformat()}"' in html
        heading = f"{day.day} {day:%B %Y}"
        assert heading in html
        then = portfolio(engine, AsAt(axis=Axis.EFFECTIVE, moment=day))
        assert shown_count(html) == then.projects
    playing = [('id="pause"' in html) for _, _, html in events[:-1]]
    assert playing == [True] * 5 + [False]  # the last frame offers Play again instead
    assert 'id="play"' in events[-2][2]
    assert "Play from the start" in events[-2][2]


def test_a_reconnecting_stream_carries_on_after_the_last_frame_it_sent(site: Site) -> None:
    history = span(site, Axis.EFFECTIVE)
    start = add_months(history.last, -3)
    seen = add_months(start, 1)
    events = read_events(
        site.as_user(EVALUATOR),
        f"/portfolio/replay/stream?axis=effective&from={start.isoformat()}&pace={FAST}",
        **{"Last-Event-ID": seen.isoformat()},
    )
    ids = [event_id for name, event_id, _ in events if name == "frame"]
    assert ids == [add_months(start, 2).isoformat(), history.last.isoformat()]


def test_the_stream_on_the_recorded_axis_ends_on_the_last_recording(site: Site) -> None:
    recorded = span(site, Axis.RECORDED)
    start = add_months(recorded.last, -1)
    events = read_events(
        site.as_user(EVALUATOR),
        f"/portfolio/replay/stream?axis=recorded&from={start.isoformat()}&pace={FAST}",
    )
    frames = [(event_id, html) for name, event_id, html in events if name == "frame"]
    assert frames[-1][0] == recorded.last.isoformat()
    assert shown_count(frames[-1][1]) == 40
    assert events[-1][0] == "done"


def test_the_stream_refuses_a_pace_outside_its_bounds(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    for pace in ("0", "60"):
        answer = client.get(f"/portfolio/replay/stream?axis=effective&from=2024-01-01&pace={pace}")
        assert answer.status_code == 422


def test_months_step_within_the_month_and_frames_end_on_the_last_change() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)
    history = HistorySpan(axis=Axis.EFFECTIVE, first=date(2023, 1, 30), last=date(2023, 4, 10))
    assert frame_dates(date(2023, 2, 20), history) == [
        date(2023, 2, 20),
        date(2023, 3, 20),
        date(2023, 4, 20),  # after the last change: the whole history is in it
    ]
    assert frame_dates(date(2023, 2, 5), history)[-1] == date(2023, 4, 10)
    assert frame_dates(date(2022, 1, 1), history)[0] == date(2023, 1, 30)
    assert frame_dates(date(2024, 1, 1), history) == [date(2024, 1, 1)]
    assert frame_dates(date(2024, 1, 1), None) == [date(2024, 1, 1)]


# Who may read it


@pytest.mark.parametrize("user_id", [FELLOW, SPONSOR, STRANGER])
def test_every_signed_in_role_may_read_the_portfolio_as_in_the_api(
    site: Site, user_id: str
) -> None:
    client = site.as_user(user_id)
    assert client.get("/portfolio").status_code == 200
    assert client.get("/portfolio/replay?axis=effective&at=2024-06-30").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/portfolio",
        "/portfolio/replay?axis=effective&at=2024-06-30",
        "/portfolio/replay/stream?axis=effective&from=2024-06-30",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(site: Site, path: str) -> None:
    answer = site.anonymous().get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")


def test_a_replay_from_a_date_out_of_range_is_refused_not_crashed(site: Site) -> None:
    answer = site.as_user(EVALUATOR).get("/portfolio/replay/stream?from=9999-12-31&pace=0.05")
    assert answer.status_code == 422
    assert "<html" in answer.text
