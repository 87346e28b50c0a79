"""A served demo tracker and Debian's Chromium driven by Playwright (nothing downloads a browser).

The app runs as a real ``impact serve`` process over a SQLite store holding the demo programme;
each test gets fresh browser contexts signed in through the sign-in form.  Screenshots of every
step go to ``test-artefacts/browser/``.  Every page's console is watched: a script error or a
Content-Security-Policy violation fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from application.settings import Settings
from tests.serving import CLI, impact_env, serving

CHROMIUM = os.environ.get("IMPACT_TEST_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts" / "browser"
PASSWORD = "impact-demo-2020"
# Offline machines can't fetch the NHS font from assets.nhs.uk, and a refused form answers 4xx
# on purpose (the test checks the page); a missing asset (404) or a server error still counts.
_IGNORED = re.compile(
    r"assets\.nhs\.uk|ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED"
    r"|status of (401|403|409|412|422) "
)

pytestmark = pytest.mark.browser


class ScreenFactory(Protocol):
    """The ``screens`` fixture: a new tab signed in as the user (None: signed out)."""

    def __call__(
        self, user_id: str | None, *, javascript: bool = True, signed_in: bool = True
    ) -> Screen:
        """Open the tab (``signed_in=False``: at the sign-in page's door, named for the user)."""
        ...


@dataclass
class Tracker:
    """The served app: its address and store."""

    url: str
    settings: Settings


@dataclass
class Screen:
    """A signed-in browser tab that records console problems and takes named screenshots."""

    page: Page
    name: str
    problems: list[str] = field(default_factory=list)
    shots: int = 0

    def shot(self, step: str) -> None:
        """Save a full-page screenshot of this step."""
        self.shots += 1
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        self.page.screenshot(
            path=ARTEFACTS / f"{self.name}-{self.shots:02d}-{slug}.png",
            full_page=True,
            caret="initial",  # hiding the caret leaves a style attribute htmx would copy
        )


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    """``impact demo`` then ``impact serve`` on a free port, for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (apt-get install chromium) installs it")
    settings = Settings(data_dir=tmp_path_factory.mktemp("browser-store"))
    env = impact_env(settings, IMPACT_LIVE_POLL_SECONDS="0.2")
    subprocess.run([*CLI, "demo"], env=env, check=True, capture_output=True)
    with serving(env) as server:
        yield Tracker(server.url, settings)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver (the browser is Debian's)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium (no sandbox: CI runs as root)."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield chromium
    chromium.close()


@pytest.fixture
def screens(
    browser: Browser, served: Tracker, request: pytest.FixtureRequest
) -> Iterator[ScreenFactory]:
    """Open signed-in tabs; afterwards, fail on any console error they saw."""
    opened: list[Screen] = []

    def open_as(user_id: str | None, *, javascript: bool = True, signed_in: bool = True) -> Screen:
        context = browser.new_context(
            base_url=served.url,
            java_script_enabled=javascript,
            viewport={"width": 1100, "height": 900},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        label = f"{request.node.name.removeprefix('test_')}-{user_id or 'anonymous'}"
        screen = Screen(page, label[:80])

        def watch(message: ConsoleMessage) -> None:
            if message.type == "error" and not _IGNORED.search(message.text):
                screen.problems.append(message.text)

        page.on("console", watch)
        page.on("pageerror", lambda error: screen.problems.append(str(error)))
        opened.append(screen)
        if user_id and signed_in:
            page.goto("/sign-in")
            page.fill("#user_id", user_id)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/$"))
        return screen

    yield open_as
    for screen in opened:
        screen.page.context.close()
    problems = [f"{s.name}: {p}" for s in opened for p in s.problems]
    assert not problems, "console errors:\n" + "\n".join(problems)
