"""Free text naming a fellow reads as written on every surface, and as "[erased]" after erasure.

The views hold it sealed; the pages, the JSON API, the audit downloads and the exports open it
as they send it (``interfaces.http.sealed_text``, ``interfaces.web.templating``).
"""

from __future__ import annotations

import json
from datetime import date
from html import escape

from application.demo.loader import ADMIN, fellow_actor, fellow_details
from application.erasure import erase_person
from application.personal_data import ERASED_NAME
from domain import commands as c
from domain.values import ErasureReason
from tests.interfaces.web.site import Site

NAMED = 2  # the demo fellow the texts name


def surfaces(site: Site) -> dict[str, str]:
    """What each surface sends about the first project, as text."""
    project = site.first_project()
    admin, evaluator = site.as_user("demo-admin"), site.as_user("demo-evaluator")
    site.app_services().read_side.runner.wait_for(site.tracker.head(), timeout=60)
    pages = {
        "project page": admin.get(f"/projects/{project}"),
        "audit page": admin.get(f"/projects/{project}/audit"),
        "audit json": admin.get(f"/projects/{project}/audit.json"),
        "api project": admin.get(f"/api/projects/{project}"),
        "api history": admin.get(f"/api/projects/{project}/history"),
        "api timeline": admin.get(f"/api/projects/{project}/timeline?per_page=500"),
        "admin export": admin.get("/api/exports/events.jsonl"),
        "evaluator export": evaluator.get("/api/exports/events.jsonl"),
    }
    assert {k: r.status_code for k, r in pages.items()} == dict.fromkeys(pages, 200)
    return {k: r.text for k, r in pages.items()}


def test_text_naming_a_fellow_is_shown_opened_and_then_erased_everywhere(site: Site) -> None:
    tracker, project = site.tracker, site.first_project()
    name = fellow_details(NAMED)[0]
    fellow_id = site.demo.fellows[NAMED - 1]
    lead = fellow_actor(1)
    tracker.log_milestone(
        lead,
        project,
        c.LogMilestone(
            occurred_on=date(2026, 10, 1), title="Review", description=f"Wexbury review: {name}."
        ),
    )
    tracker.pause_project(
        lead, project, c.PauseProject(occurred_on=date(2026, 10, 2), reason=f"{name} is away.")
    )
    shown = surfaces(site)
    json_surfaces = {"audit json", "api project", "api history", "api timeline", "admin export"}
    for surface, text in shown.items():
        assert "[sealed:" not in text, surface
        if surface in json_surfaces:
            assert f"Wexbury review: {name}." in text or f"{name} is away." in text, surface
    assert escape(f"Paused: {name} is away.") in shown["project page"]
    assert escape(f"Wexbury review: {name}.") in shown["audit page"]
    # Evaluators read the fellow's pseudonym where the text names them.
    rows = [json.loads(line) for line in shown["evaluator export"].splitlines()]
    paused = [r for r in rows if r["event_type"] == "ProjectPaused"][-1]
    assert paused["stream_id"] == str(project)
    enrolled = next(r for r in rows if r["event_type"] == "FellowEnrolled" and r["version"] == 1)
    assert paused["data"]["reason"].endswith(" is away.")
    assert paused["data"]["reason"].startswith("person-")
    assert name not in shown["evaluator export"]
    assert enrolled["stream_id"].startswith("person-")

    erase_person(tracker, site.identity, ADMIN, fellow_id, ErasureReason.REQUESTED_BY_PERSON)
    for surface, text in surfaces(site).items():
        assert name not in text, surface
        assert "[sealed:" not in text, surface
        assert "Wexbury" not in text, surface
        if surface != "project page":  # it shows the pause, not the milestone's details
            assert ERASED_NAME in text or escape(ERASED_NAME) in text, surface
