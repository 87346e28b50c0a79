"""Live updates: the stream a page listens to, and the pages that refresh when it speaks.

The stream is read as EventSource reads it, line by line, while the test records events
through the tracker. It is cut short for the test (a few seconds instead of five minutes), so a
stream that never says ``changed`` ends and fails the test instead of hanging it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain import commands as c
from domain.values import Actor, AdoptionScope, Role
from interfaces.web.routers import live
from tests.interfaces.web.site import EVALUATOR, FELLOW, SPONSOR, STRANGER, Site

HTMX = {"HX-Request": "true"}
LEAD = Actor(user_id=FELLOW, role=Role.FELLOW)
ADMIN = Actor(user_id="demo-admin", role=Role.ADMIN)

# (event name, data); a comment line (": connected") comes as ("comment", its text).
SseEvent = tuple[str, str]


@pytest.fixture(autouse=True)
def short_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """End each stream after a few seconds, so a broken one fails rather than hangs."""
    monkeypatch.setattr(live, "STREAM_SECONDS", 8)


@contextmanager
def listening(client: TestClient, path: str) -> Iterator[Iterator[SseEvent]]:
    """Open the stream; yield its events as they arrive (it is closed on leaving)."""
    with client.stream("GET", path) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["cache-control"] == "no-store"

        def events() -> Iterator[SseEvent]:
            name, data = "message", list[str]()
            for line in answer.iter_lines():
                if line.startswith(":"):
                    yield ("comment", line.removeprefix(":").strip())
                elif not line:
                    if data:
                        yield (name, "\n".join(data))
                    name, data = "message", list[str]()
                elif line.startswith("event:"):
                    name = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    data.append(line.removeprefix("data:").strip())

        yield events()


def _connected(events: Iterator[SseEvent]) -> None:
    """Wait for the stream's greeting: from then on it compares against the project as it was."""
    assert next(events) == ("comment", "connected")


def _first_change(events: Iterator[SseEvent]) -> SseEvent:
    found = next((e for e in events if e[0] != "comment"), None)
    assert found is not None, "the stream ended without saying anything changed"
    return found


def _milestone(site: Site, project_id: UUID, title: str) -> int:
    """Record a milestone as the project's lead; the project's new version."""
    command = c.LogMilestone(occurred_on=date.today(), title=title)
    return site.tracker.log_milestone(LEAD, project_id, command).version


# The stream


def test_the_stream_says_changed_with_the_new_version_when_someone_records(site: Site) -> None:
    project_id = site.first_project()
    with listening(site.as_user(EVALUATOR), f"/projects/{project_id}/live") as events:
        _connected(events)
        version = _milestone(site, project_id, "Recorded while the evaluator watched")
        assert _first_change(events) == ("changed", str(version))


def test_a_change_to_another_project_sends_nothing(site: Site) -> None:
    watched, other = site.first_project(), site.demo.projects[1]
    with listening(site.as_user(EVALUATOR), f"/projects/{watched}/live") as events:
        _connected(events)
        site.tracker.log_milestone(
            ADMIN, other, c.LogMilestone(occurred_on=date.today(), title="Elsewhere")
        )
        time.sleep(0.5)  # several polls see the log move on with nothing new here (no assertion)
        version = _milestone(site, watched, "The change the page is waiting for")
        # Had the other project's change been sent, it would come first, with an older version.
        assert _first_change(events) == ("changed", str(version))


def test_the_stream_refuses_who_may_not_read_the_project(site: Site) -> None:
    path = f"/projects/{site.first_project()}/live"
    assert site.as_user(STRANGER).get(path).status_code == 403
    assert site.anonymous().get(path).status_code == 303
    unknown = site.as_user(EVALUATOR).get("/projects/00000000-0000-0000-0000-000000000000/live")
    assert unknown.status_code == 404


# The audit view refreshes


def test_the_audit_view_listens_to_the_project_and_refreshes_with_its_filters(site: Site) -> None:
    project_id = site.first_project()
    page = site.as_user(SPONSOR).get(f"/projects/{project_id}/audit").text
    assert f'sse-connect="/projects/{project_id}/live"' in page
    refresher = re.search(r'<div id="audit-live"[^>]*>', page)
    assert refresher, "no live refresh on the audit view"
    for attribute in (
        f'hx-get="/projects/{project_id}/audit?live=1"',
        'hx-include="#audit-filters"',
        'hx-trigger="sse:changed"',
        'hx-target="#audit-events"',
    ):
        assert attribute in refresher.group(0)
    printed = site.as_user(SPONSOR).get(f"/projects/{project_id}/audit?print=1").text
    assert "sse-connect" not in printed  # a printout is a snapshot


def test_the_audit_views_live_refresh_shows_the_new_event_and_its_verification(
    site: Site,
) -> None:
    project_id = site.first_project()
    client = site.as_user(SPONSOR)
    version = _milestone(site, project_id, "Agreed with the sponsor on the phone")
    path = f"/projects/{project_id}/audit?live=1&type=MilestoneLogged"
    fragment = client.get(path, headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section id="audit-events">')
    assert f'id="event-{version}"' in fragment.text
    assert "Agreed with the sponsor on the phone" in fragment.text
    assert 'data-event-type="MeasurementRecorded"' not in fragment.text  # the filter holds
    card = re.search(r'<div [^>]*id="integrity"[^>]*>', fragment.text)
    assert card, "the refresh leaves the verification card stale"
    assert 'hx-swap-oob="true"' in card.group(0)
    plain = client.get(path)
    assert "<html" in plain.text
    assert "hx-swap-oob" not in plain.text
    filtered = client.get(f"/projects/{project_id}/audit?type=MilestoneLogged", headers=HTMX)
    assert 'id="integrity"' not in filtered.text  # a filter change swaps the table alone


# The adoption spread refreshes


def test_the_spread_page_refreshes_with_an_adoption_recorded_meanwhile(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(EVALUATOR)
    page = client.get(f"/projects/{project_id}/spread").text
    assert f'sse-connect="/projects/{project_id}/live"' in page
    assert f'hx-get="/projects/{project_id}/spread" hx-trigger="sse:changed"' in page
    project = site.tracker.project(project_id)
    adopted = {a.organisation_id for a in project.adoptions}
    newcomer = next(o for o in site.demo.organisations if o not in adopted)
    name = site.tracker.organisation(newcomer).name
    assert name not in page
    site.tracker.record_adoption(
        LEAD,
        project_id,
        c.RecordAdoption(
            occurred_on=date.today(), organisation_id=newcomer, scope=AdoptionScope.SPREAD
        ),
    )
    fragment = client.get(f"/projects/{project_id}/spread", headers=HTMX).text
    assert fragment.lstrip().startswith('<div id="spread">')
    assert "<html" not in fragment
    assert name in fragment  # read-your-writes: the answer waited for the views
    assert f"Adopted by {len(adopted) + 1} organisations" in fragment
    whole = client.get(f"/projects/{project_id}/spread").text
    assert "<html" in whole
    assert name in whole


def test_the_stream_stops_once_its_reader_may_no_longer_read_the_project(site: Site) -> None:
    """A sponsor taken off a project hears nothing more about it, not even that it changed.

    The stream checks who may read the project when it opens; it checks again before each
    change it would announce, so a sponsor replaced on the project (and linked to none of its
    organisations) learns nothing of the changes after that.
    """
    project_id = site.first_project()  # open, and STRANGER is in none of its organisations
    original = site.tracker.project(project_id).sponsor_id
    assert original is not None
    today = date.today()
    site.tracker.assign_sponsor(
        ADMIN, project_id, c.AssignSponsor(occurred_on=today, sponsor_id=STRANGER)
    )
    try:
        with listening(site.as_user(STRANGER), f"/projects/{project_id}/live") as events:
            _connected(events)
            site.tracker.assign_sponsor(
                ADMIN, project_id, c.AssignSponsor(occurred_on=today, sponsor_id=original)
            )
            _milestone(site, project_id, "Not for the old sponsor")
            assert [e for e in events if e[0] != "comment"] == []
    finally:
        if site.tracker.project(project_id).sponsor_id != original:
            site.tracker.assign_sponsor(
                ADMIN, project_id, c.AssignSponsor(occurred_on=today, sponsor_id=original)
            )
