"""A fellow's journey in a real browser: propose, pilot, measure (pasting a series), adopt.

Every step is a real form in headless Chromium against the served app; what is asserted is
what the page shows afterwards (read-your-writes), and each step leaves a screenshot.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.interfaces.browser.conftest import ScreenFactory

FELLOW = "demo-fellow-001"
TITLE = "Same-day falls response with the fire service"
SERIES = [41, 44, 39, 47, 43, 45, 40, 42, 46, 44, 43, 41, 30, 28, 27, 25, 26, 24]


def _months_ago(n: int) -> str:
    today = date.today()
    index = today.year * 12 + today.month - 1 - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_a_fellow_proposes_pilots_measures_and_records_adoption(screens: ScreenFactory) -> None:
    screen = screens(FELLOW, signed_in=False)  # signs in through the form below
    page = screen.page
    page.goto("/sign-in")
    page.fill("#user_id", FELLOW)
    page.fill("#password", "impact-demo-2020")
    screen.shot("sign in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My projects")).to_be_visible()
    screen.shot("start page")

    page.get_by_role("button", name="Propose a project").click()
    page.get_by_role("button", name="Propose project").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Enter project title")
    screen.shot("proposal refused")

    page.fill("#title", TITLE)
    page.fill("#problem", "Older people who fall at home wait hours for an ambulance.")
    page.fill("#intended_outcomes", "Fewer conveyances after a fall\nShorter waits on the floor")
    page.locator("#partner_organisation_ids-options input").nth(2).check()
    page.fill("#occurred_on", f"{_months_ago(len(SERIES) + 2)}-01")
    page.get_by_role("button", name="Propose project").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Project proposed")
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator("#timeline")).to_contain_text(f"Proposed: {TITLE}")
    screen.shot("proposed")

    page.get_by_role("button", name="Start a pilot").click()
    page.fill("#sites", "Northshire Fire Station 3\nDale Ambulance Hub")
    page.fill("#scope", "Falls calls triaged to a fire service responder for six months.")
    page.fill("#occurred_on", f"{_months_ago(len(SERIES) + 1 - 12)}-01")  # values drop after it
    screen.shot("pilot form")
    page.get_by_role("button", name="Start a pilot").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Pilot started")
    expect(page.locator(".nhsuk-tag").first).to_have_text("Piloted")

    page.get_by_role("button", name="Define a measure").click()
    page.fill("#name", "Conveyances after a fall")
    page.fill("#unit", "per month")
    page.get_by_label("Down is better").check()
    page.fill("#target", "30")
    screen.shot("measure form")
    page.get_by_role("button", name="Define a measure").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Measure defined")

    page.get_by_role("button", name="Paste a column of values").click()
    page.fill("#first_period", _months_ago(len(SERIES) + 1))
    page.fill("#pasted", "\n".join(str(v) for v in SERIES[:5]) + "\nforty\n")
    screen.shot("paste form")
    page.get_by_role("button", name="Paste a column of values").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Row 6")
    screen.shot("paste refused")
    page.fill("#pasted", "\n".join(str(v) for v in SERIES))
    page.get_by_role("button", name="Paste a column of values").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Values recorded")
    expect(page.locator(".nhsuk-card")).to_contain_text(f"{len(SERIES)} values")

    page.get_by_role("button", name="Record a measurement").click()
    page.fill("#period", _months_ago(1))
    page.fill("#value", "23")
    screen.shot("measurement form")
    page.get_by_role("button", name="Record a measurement").click()
    expect(page.locator(".nhsuk-card")).to_contain_text(f"{len(SERIES) + 1} values")
    expect(page.locator(".nhsuk-card .impact-chart svg")).to_be_visible()  # its SPC chart
    screen.shot("measured")

    page.get_by_role("link", name="SPC chart and table for Conveyances after a fall").click()
    expect(page.locator(".impact-chart svg").first).to_be_visible()  # Vega drew the chart
    expect(page.locator("#variation-icon")).to_be_visible()
    page.locator("#recalculate-at-pilot").click()  # one click: limits from the pilot start
    expect(page.locator("#phases tbody tr")).to_have_count(2)
    screen.shot("spc chart")
    page.get_by_role("link", name=re.compile("Back to|Same-day falls")).first.click()

    page.get_by_text("Values of Conveyances after a fall").click()
    page.get_by_role("link", name=re.compile("^Correct")).first.click()
    page.fill("#value", "40")
    page.fill("#reason", "The first month double-counted one call")
    screen.shot("correct form")
    page.get_by_role("button", name="Correct a measurement").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Measurement corrected")
    expect(page.locator("#timeline")).to_contain_text("corrected to 40")

    page.get_by_text("Values of Conveyances after a fall").click()
    page.get_by_role("link", name=re.compile("^Retract")).last.click()
    page.fill("#reason", "Entered twice: the same month is already recorded")
    screen.shot("retract form")
    page.get_by_role("button", name="Retract a measurement").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Measurement retracted")
    expect(page.locator(".nhsuk-card")).to_contain_text(f"{len(SERIES)} values")

    page.get_by_role("button", name="Record adoption").click()
    page.select_option("#organisation_id", index=3)
    page.get_by_label("Business as usual").check()
    screen.shot("adoption form")
    page.get_by_role("button", name="Record adoption").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Adoption recorded")
    expect(page.locator(".nhsuk-tag").first).to_have_text("Adopted")
    expect(page.locator("#adoptions")).to_contain_text("Business as usual")

    page.get_by_role("button", name="Log a milestone").click()
    page.fill("#title", "Board agreed to fund it permanently")
    screen.shot("milestone form")
    page.get_by_role("button", name="Log a milestone").click()
    expect(page.locator("#timeline")).to_contain_text("Milestone: Board agreed")
    screen.shot("adopted")

    # A weekly measure: its values are recorded against Mondays, in a date input that htmx
    # swaps in when the measure is chosen (the text input before takes either).
    page.get_by_role("button", name="Define a measure").click()
    page.fill("#name", "Falls calls answered within an hour")
    page.fill("#unit", "calls")
    page.get_by_label("Up is better").check()
    page.select_option("#frequency", "weekly")
    page.get_by_role("button", name="Define a measure").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Measure defined")
    page.get_by_role("button", name="Record a measurement").click()
    expect(page.locator("#period")).to_have_attribute("type", "text")  # monthly or weekly
    page.select_option("#measure_id", label="Falls calls answered within an hour (calls)")
    expect(page.locator("#period")).to_have_attribute("type", "date")
    expect(page.locator("#period-hint")).to_contain_text("Monday")
    today = date.today()
    monday = today - timedelta(days=today.weekday() + 7)
    page.fill("#period", monday.isoformat())
    page.fill("#value", "12")
    screen.shot("weekly measurement form")
    page.get_by_role("button", name="Record a measurement").click()
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Measurement recorded")
    page.get_by_text("Values of Falls calls answered within an hour").click()
    expect(page.get_by_text(f"Week of {monday.day} {monday:%B %Y}").first).to_be_visible()


def test_search_narrows_the_list_as_you_type(screens: ScreenFactory) -> None:
    screen = screens("demo-evaluator")
    page = screen.page
    page.goto("/projects")
    expect(page.locator("#result-count")).to_contain_text("project")
    page.locator("#q").press_sequentially("virtual ward", delay=30)
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^\s*[1-9] projects? found"))
    expect(page.locator("#project-table")).not_to_contain_text("Falls prevention")
    expect(page).to_have_url(re.compile(r"q=virtual"))  # the address is shareable
    page.select_option("#stage", "adopted")
    expect(page.locator("#project-table .nhsuk-tag").first).to_have_text("Adopted")
    screen.shot("search")


def test_the_pages_work_without_javascript(screens: ScreenFactory) -> None:
    screen = screens(None, javascript=False)
    page = screen.page
    page.goto("/sign-in")
    page.fill("#user_id", FELLOW)
    page.fill("#password", "impact-demo-2020")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="My projects")).to_be_visible()
    page.goto("/projects")
    page.fill("#q", "discharge")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=discharge"))
    expect(page.locator("#project-table")).to_contain_text("discharge")
    page.goto("/projects/new")
    page.get_by_role("button", name="Propose project").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter project title")
    expect(page).to_have_title(re.compile("^Error: "))
    screen.shot("no javascript")
    page.fill("#title", "Discharge to assess without JavaScript")
    page.fill("#problem", "Patients wait in hospital for assessments that could happen at home.")
    page.fill("#intended_outcomes", "Shorter stays")
    page.get_by_role("button", name="Propose project").click()  # a real POST, then the 303
    expect(page.locator(".nhsuk-notification-banner")).to_contain_text("Project proposed")
    page.get_by_role("button", name="Log a milestone").click()
    page.fill("#title", "Agreed with the discharge team")
    page.get_by_role("button", name="Log a milestone").click()
    expect(page.locator("#timeline")).to_contain_text("Milestone: Agreed with the discharge team")


def test_a_timeline_updates_live_when_someone_else_records(screens: ScreenFactory) -> None:
    fellow = screens(FELLOW)
    evaluator = screens("demo-evaluator")
    fellow.page.locator("#project-table a").first.click()
    project_url = fellow.page.url
    evaluator.page.goto(project_url)
    expect(evaluator.page.locator("#timeline")).to_be_visible()
    evaluator.page.wait_for_timeout(500)  # the live stream connects
    fellow.page.get_by_role("button", name="Log a milestone").click()
    fellow.page.fill("#title", "Presented to the system leadership board")
    fellow.page.get_by_role("button", name="Log a milestone").click()
    expect(evaluator.page.locator("#timeline")).to_contain_text(
        "Milestone: Presented to the system leadership board"
    )
    evaluator.shot("live update")
