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

from tests.interfaces.browser.conftest import PASSWORD, Tracker

AXE = Path(__file__).resolve().parents[3] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _signed_in(browser: Browser, served: Tracker, user_id: str) -> Page:
    context = browser.new_context(base_url=served.url, bypass_csp=True)
    page = context.new_page()
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
        (
            "demo-fellow-001",
            [
                "/",
                "/projects",
                "/projects/new",
                "first-project",
                "first-project/paste",
                "first-chart",
            ],
        ),
        ("demo-sponsor-1", ["/", "first-project/audit"]),
        (
            "demo-evaluator",
            [
                "/portfolio",
                "/portfolio/replay?at=2024-06-30&axis=effective",
                "/organisations",
                "first-organisation",
            ],
        ),
    ],
)
def test_pages_have_no_wcag_violations(
    browser: Browser, served: Tracker, user_id: str, paths: list[str]
) -> None:
    page = _signed_in(browser, served, user_id)
    problems: dict[str, list[str]] = {}
    for path in paths:
        page.goto(_resolve(page, path))
        expect(page.locator("main")).to_be_visible()
        page.wait_for_timeout(300)  # charts drawn
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


def _resolve(page: Page, path: str) -> str:
    """Turn placeholders into real addresses by following links from list pages."""
    if not path.startswith("first-"):
        return path
    kind, _, rest = path.partition("/")
    if kind == "first-organisation":
        page.goto("/organisations")
        return page.locator("#organisation-table a").first.get_attribute("href") or "/"
    page.goto("/")
    project = page.locator("#project-table a").first.get_attribute("href") or "/"
    if kind == "first-chart":
        page.goto(project)
        return page.locator("a", has_text="SPC chart and table").first.get_attribute("href") or "/"
    return f"{project}/{rest}" if rest else project
