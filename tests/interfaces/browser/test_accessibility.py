"""Accessibility: axe-core (from npm) checks every kind of page against WCAG 2.1 A and AA.

The pages are built from NHS.UK frontend components, which give most of this; what the tracker
adds (tables, charts, forms, error summaries, the replay) is what these checks are for.  Axe is
injected into a context that bypasses the page's CSP (only the test does that), and any
violation fails with its rule, impact and the offending elements.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.interfaces.browser.conftest import ARTEFACTS, PASSWORD, ScreenFactory, Tracker

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# A demo project with measures, adoptions and both a fellow (FELLOW leads it) and a sponsor on it.
PROJECT = "Reducing length of stay for frail older people"
FELLOW_FORMS = ["pilot", "measure", "measurement", "paste", "correct", "retract", "adoption"]


def _signed_in(browser: Browser, served: Tracker, user_id: str | None) -> Page:
    context = browser.new_context(base_url=served.url, bypass_csp=True)
    page = context.new_page()
    if user_id is None:
        return page
    page.goto("/sign-in")
    page.fill("#user_id", user_id)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page


def _violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => `${v.id} (${v.impact}): ${v.help}: `"
        " + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')))",
        WCAG,
    )
    return [str(v) for v in found]


@pytest.mark.parametrize(
    ("user_id", "paths"),
    [
        (None, ["/", "/sign-in"]),
        (
            "demo-fellow-001",
            [
                "/",
                "/projects",
                "/projects/new",
                "first-project",
                *(f"first-project/{form}" for form in FELLOW_FORMS),
                "first-project/milestone",
                "first-project/spread",
                "first-chart",
            ],
        ),
        (
            "demo-sponsor-1",
            ["/", "first-project/audit", "first-project/audit?print=1", "first-project/sign-off"],
        ),
        (
            "demo-evaluator",
            [
                "/",
                "/portfolio",
                "/portfolio/replay?at=2024-06-30&axis=effective",
                # Playing, slowly: no frame swaps in while axe reads the page.
                "/portfolio/replay?at=2024-06-30&axis=effective&play=1&pace=10",
                "/organisations",
                "first-organisation",
            ],
        ),
    ],
)
def test_pages_have_no_wcag_violations(
    browser: Browser, served: Tracker, user_id: str | None, paths: list[str]
) -> None:
    page = _signed_in(browser, served, user_id)
    problems: dict[str, list[str]] = {}
    for path in paths:
        page.goto(_resolve(page, path))
        expect(page.locator("main")).to_be_visible()
        if "play=1" in path:
            expect(page.locator("#pause")).to_be_visible()
        page.wait_for_timeout(300)  # charts drawn
        _shot(page, user_id, path)
        if found := _violations(page):
            problems[path] = found
    page.context.close()
    assert not problems, "\n".join(f"{p}: {v}" for p, vs in problems.items() for v in vs)


def test_an_error_summary_page_has_no_wcag_violations(browser: Browser, served: Tracker) -> None:
    page = _signed_in(browser, served, "demo-fellow-001")
    page.goto("/projects/new")
    page.get_by_role("button", name="Propose project").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_focused()  # where a screen reader starts
    assert _violations(page) == []
    page.context.close()


def _shot(page: Page, user_id: str | None, path: str) -> None:
    """Keep a screenshot of each page checked (test-artefacts/browser/accessibility-...)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "start"
    name = f"accessibility-{user_id or 'anonymous'}-{slug}.png"
    page.screenshot(path=ARTEFACTS / name, full_page=True)


def _resolve(page: Page, path: str) -> str:
    """Turn placeholders into real addresses by following links from list pages."""
    if not path.startswith("first-"):
        return path
    kind, _, rest = path.partition("/")
    if kind == "first-organisation":
        page.goto("/organisations")
        return page.locator("#organisation-table a").first.get_attribute("href") or "/"
    page.goto("/")
    project = page.get_by_role("link", name=PROJECT).first.get_attribute("href") or "/"
    if kind == "first-chart":
        page.goto(project)
        return page.locator("a", has_text="SPC chart and table").first.get_attribute("href") or "/"
    return f"{project}/{rest}" if rest else project


def _tab_to(page: Page, selector: str, presses: int = 80) -> None:
    """Press Tab until the element has focus, as a keyboard user would (bounded)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.locator(f"{selector}:focus").count():
            return
    raise AssertionError(f"Tab never reached {selector}")


def _focus_is_visible(page: Page, selector: str) -> bool:
    """NHS.UK's focus style: a yellow box shadow or outline on the focused control."""
    style = page.locator(selector).evaluate(
        "e => { const s = getComputedStyle(e); return [s.boxShadow, s.outlineStyle, "
        "s.backgroundColor].join('|') }"
    )
    shadow, outline, background = str(style).split("|")
    return shadow != "none" or outline not in {"none", ""} or "255, 235, 59" in background


def test_the_audit_filter_and_the_replay_work_from_the_keyboard(screens: ScreenFactory) -> None:
    sponsor = screens("demo-sponsor-1")
    page = sponsor.page
    page.get_by_role("link", name=PROJECT).first.click()
    page.get_by_role("link", name="Audit view").click()
    rows = page.locator("#audit-events tbody tr")
    every = rows.count()
    _tab_to(page, "#type")
    assert _focus_is_visible(page, "#type")
    page.keyboard.press("ArrowDown")  # the first event type: htmx swaps the table on change
    expect(page).to_have_url(re.compile(r"type=\w+"))
    expect(page.locator("#type")).to_be_focused()  # the swap left the keyboard where it was
    assert 0 < rows.count() < every
    sponsor.shot("audit filtered from the keyboard")

    evaluator = screens("demo-evaluator")
    page = evaluator.page
    page.goto("/portfolio/replay?at=2023-06-30&axis=effective&pace=0.5")
    date_shown = page.locator("#portfolio-date")
    _tab_to(page, "#play")
    assert _focus_is_visible(page, "#play")
    page.keyboard.press("Space")
    expect(page.locator("#pause")).to_be_focused()  # Pause took Play's place, and the focus
    expect(date_shown).not_to_have_attribute("data-date", "2023-06-30")  # frames arrive
    page.keyboard.press("Space")
    expect(page.locator("#play")).to_be_focused()
    paused_at = date_shown.get_attribute("data-date")
    page.wait_for_timeout(1500)  # three frames' time: none arrives once paused
    assert date_shown.get_attribute("data-date") == paused_at
    evaluator.shot("replay paused from the keyboard")
