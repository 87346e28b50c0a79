"""The web pages over the demo programme, with a browser-like client per account.

The demo programme (40 projects at every stage, 25 organisations) is loaded once per test
module; each account gets its own client with its own session and CSRF cookies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

from application.bootstrap import create_tracker
from application.demo.accounts import DEMO_PASSWORD, create_demo_accounts
from application.demo.loader import DemoSummary, load_demo
from application.identity.service import IdentityService, NewUser, create_identity_engine
from application.settings import Settings
from application.tracker import ImpactTracker
from domain.values import Role
from interfaces.http.app import create_api
from interfaces.http.security import protect_from_csrf
from interfaces.http.services import Services

FELLOW = "demo-fellow-001"  # leads the demo's first project
SPONSOR = "demo-sponsor-1"  # sponsors cohort 1's projects
EVALUATOR = "demo-evaluator"
ADMIN = "demo-admin"
OUTSIDER = "outsider-fellow"  # a fellow on none of the projects
STRANGER = "stranger-sponsor"  # a sponsor of nothing, in no organisation

_CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')


@dataclass
class Site:
    """The app, its store, and one signed-in client per account."""

    app: ASGIApp
    api: FastAPI
    tracker: ImpactTracker
    identity: IdentityService
    demo: DemoSummary
    clients: dict[str, TestClient] = field(default_factory=dict)

    def anonymous(self) -> TestClient:
        """A client with no session."""
        return TestClient(self.app, follow_redirects=False)

    def as_user(self, user_id: str) -> TestClient:
        """A client signed in as the account (made once per account)."""
        if user_id not in self.clients:
            client = self.anonymous()
            sign_in(client, user_id)
            self.clients[user_id] = client
        return self.clients[user_id]

    def app_services(self) -> Services:
        """The services the running app was built with."""
        found: Services = self.api.state.services
        return found

    def first_project(self) -> UUID:
        """The demo's first project: led by FELLOW, sponsored by SPONSOR."""
        return self.demo.projects[0]


def csrf_of(page_html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF_FIELD.search(page_html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, user_id: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a browser would."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"user_id": user_id, "password": password, "csrftoken": csrf_of(form.text)},
    )
    assert answer.status_code == 303, answer.text


def post_form(
    client: TestClient,
    path: str,
    data: dict[str, str | list[str]],
    *,
    page: str | None = None,
) -> httpx.Response:
    """POST a form with the CSRF token of the page that shows it (``page``, or ``path``)."""
    shown = client.get(page or path)
    return client.post(path, data={**data, "csrftoken": csrf_of(shown.text)})


@contextmanager
def demo_site(tmp_path: Path) -> Iterator[Site]:
    """The served app on a SQLite store holding the demo programme."""
    settings = Settings(data_dir=tmp_path, projection_poll_seconds=0.05, live_poll_seconds=0.1)
    tracker = create_tracker(settings)
    identity = IdentityService(create_identity_engine(settings))
    summary = load_demo(tracker)
    create_demo_accounts(identity, summary)
    for account in (
        NewUser(
            user_id=OUTSIDER,
            display_name="Olu Outside",
            role=Role.FELLOW,
            fellow_id=summary.fellows[-1],
            password=DEMO_PASSWORD,
        ),
        NewUser(
            user_id=STRANGER, display_name="Sid Stranger", role=Role.SPONSOR, password=DEMO_PASSWORD
        ),
    ):
        identity.create_user(account)
    api = create_api(settings, tracker, identity)
    app = protect_from_csrf(api, settings)
    site = Site(app, api, tracker, identity, summary)
    with TestClient(app) as lifespan:  # starts the services and the views' follower
        lifespan.get("/api/ready")
        # Tests compare pages with queries over the views: both must see the whole demo, not
        # whatever the follower had applied when the first request came (a flake under load).
        site.app_services().read_side.runner.wait_for(tracker.head(), timeout=120)
        yield site
    identity.close()
    tracker.close()
