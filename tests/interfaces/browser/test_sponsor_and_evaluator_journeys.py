"""A sponsor audits a project and an evaluator follows impact across organisations, in Chromium.

What is asserted is what is on screen: the audit table and its filter (htmx), the print
button, the downloads; organisations filtered by sector and a project's adoption spread chart.
"""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from tests.interfaces.browser.conftest import ScreenFactory

SPONSOR = "demo-sponsor-1"
EVALUATOR = "demo-evaluator"
FELLOW = "demo-fellow-001"
SHARED_PROJECT = "Reducing length of stay for frail older people"  # FELLOW leads, SPONSOR sponsors


def test_a_sponsor_audits_a_projects_whole_history(screens: ScreenFactory) -> None:
    screen = screens(SPONSOR)
    page = screen.page
    expect(page.get_by_role("heading", name="Projects I sponsor")).to_be_visible()
    screen.shot("sponsor start page")
    page.locator("#project-table a").first.click()
    expect(page.locator("#timeline")).to_be_visible()
    screen.shot("sponsor project page")
    page.get_by_role("link", name="Audit view").click()
    rows = page.locator("#audit-events tbody tr")
    expect(rows.first).to_be_visible()
    every = rows.count()
    assert every > 3
    expect(page.locator("#audit-events")).to_contain_text("Proposed")
    screen.shot("audit view")

    page.select_option("#type", "MeasurementRecorded")  # htmx swaps the table in place
    expect(page).to_have_url(re.compile(r"type=MeasurementRecorded"))
    expect(rows.first).to_contain_text("Measurement recorded")
    assert 0 < rows.count() < every
    screen.shot("filtered")

    expect(page.get_by_role("button", name="Print").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the whole history as CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == every
    assert {"occurred_on", "recorded_at", "actor_id", "event_type"} <= set(table[0])

    page.emulate_media(media="print")
    expect(page.locator(".nhsuk-header")).to_be_hidden()
    screen.shot("printed")


def test_an_evaluator_follows_adoption_across_organisations(screens: ScreenFactory) -> None:
    screen = screens(EVALUATOR)
    page = screen.page
    page.get_by_role("link", name="Organisations").first.click()
    count = page.locator("#organisation-count")
    expect(count).to_contain_text("25 organisations")
    expect(page.locator(".impact-chart svg").first).to_be_visible()  # Vega drew the chart
    page.select_option("#sector", "police")
    expect(count).to_contain_text("in police")
    screen.shot("organisations by sector")
    page.locator("#organisation-table a").first.click()
    expect(page.locator("#organisation-name")).to_be_visible()
    screen.shot("organisation impact")

    page.goto("/projects?stage=adopted")
    page.locator("#project-table a").first.click()
    page.get_by_role("link", name="Adoption spread").click()
    expect(page.locator("#spread-summary")).to_contain_text("Adopted by")
    expect(page.locator(".impact-chart svg").first).to_be_visible()
    screen.shot("adoption spread")


def test_an_evaluator_replays_the_portfolio_month_by_month(screens: ScreenFactory) -> None:
    screen = screens(EVALUATOR)
    page = screen.page
    screen.shot("evaluator start page")
    page.get_by_role("link", name="Portfolio").first.click()
    expect(page.locator(".impact-chart svg").first).to_be_visible()
    screen.shot("portfolio")

    page.goto("/portfolio/replay")
    page.fill("#at", "2023-06-30")
    page.get_by_label("as it was in effect", exact=False).first.check()
    page.get_by_role("button", name="Show the portfolio").click()
    date_shown = page.locator("#portfolio-date")
    expect(date_shown).to_have_attribute("data-date", "2023-06-30")
    then = int(page.locator("#portfolio-count strong").inner_text())
    page.locator("#next-month").click()
    expect(date_shown).to_have_attribute("data-date", "2023-07-30")  # same day, next month
    screen.shot("replay at a date")

    page.locator("#play").click()  # frames arrive over server-sent events
    expect(page.locator("#pause")).to_be_visible()
    for _ in range(100):  # the CSP forbids wait_for_function's eval: poll from here
        if (date_shown.get_attribute("data-date") or "") > "2023-09-01":
            break
        page.wait_for_timeout(200)
    assert (date_shown.get_attribute("data-date") or "") > "2023-09-01", "the replay did not play"
    screen.shot("replay playing")
    page.locator("#pause").click()
    expect(page.locator("#play")).to_be_visible()
    paused_at = date_shown.get_attribute("data-date") or ""
    page.wait_for_timeout(2500)  # paused: the date stays put
    assert date_shown.get_attribute("data-date") == paused_at
    assert int(page.locator("#portfolio-count strong").inner_text()) >= then
    screen.shot("replay paused")


def test_an_audit_view_updates_live_when_someone_else_records(screens: ScreenFactory) -> None:
    fellow = screens(FELLOW)
    sponsor = screens(SPONSOR)
    fellow.page.get_by_role("link", name=SHARED_PROJECT).first.click()
    sponsor.page.get_by_role("link", name=SHARED_PROJECT).first.click()
    sponsor.page.get_by_role("link", name="Audit view").click()
    sponsor.page.select_option("#type", "MilestoneLogged")  # the refresh keeps the filter
    rows = sponsor.page.locator("#audit-events tbody tr")
    expect(rows.first).to_contain_text("Milestone")
    shown = rows.count()
    sponsor.page.wait_for_timeout(500)  # the live stream connects
    fellow.page.get_by_role("button", name="Log a milestone").click()
    fellow.page.fill("#title", "Reported to the sponsor's board")
    fellow.page.get_by_role("button", name="Log a milestone").click()
    expect(fellow.page.locator(".nhsuk-notification-banner")).to_contain_text("Milestone logged")
    expect(sponsor.page.locator("#audit-events")).to_contain_text("Reported to the sponsor's board")
    expect(rows).to_have_count(shown + 1)
    assert all("Milestone" in text for text in rows.all_inner_texts())
    expect(sponsor.page).to_have_url(re.compile(r"type=MilestoneLogged"))
    sponsor.shot("audit view updated live")
