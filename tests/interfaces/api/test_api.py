"""API behaviour: errors, concurrency headers, idempotency, sessions, CSRF, limits, headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx2 as httpx
import pytest

from application.settings import Settings
from tests.interfaces.api.world import PASSWORD, World, served


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with served(Settings(data_dir=tmp_path, login_attempts_per_minute=3)) as w:
        yield w


def milestone(title: str = "Board paper") -> dict[str, object]:
    return {"occurred_on": "2024-05-01", "title": title}


def test_reads_carry_the_version_as_an_etag(world: World) -> None:
    project_id, _, _ = world.new_project()
    response = world.client.get(f"/api/projects/{project_id}", headers=world.headers("member"))
    assert response.status_code == 200
    assert response.headers["ETag"] == '"4"'
    assert response.json()["stage"] == "measured"


def test_a_stale_if_match_is_412_and_records_nothing(world: World) -> None:
    project_id, _, _ = world.new_project()
    headers = world.headers("member") | {"If-Match": '"3"'}
    head = world.tracker.head()
    response = world.client.post(
        f"/api/projects/{project_id}/milestones", json=milestone(), headers=headers
    )
    assert response.status_code == 412
    assert response.json()["error"] == "stale_version"
    assert world.tracker.head() == head
    fresh = world.client.post(
        f"/api/projects/{project_id}/milestones",
        json=milestone(),
        headers=world.headers("member") | {"If-Match": '"4"'},
    )
    assert (fresh.status_code, fresh.headers["ETag"]) == (200, '"5"')


def test_fifty_retries_with_one_idempotency_key_record_one_event(world: World) -> None:
    project_id, _, _ = world.new_project()
    headers = world.headers("member") | {"Idempotency-Key": "retry-me"}
    responses = [
        world.client.post(
            f"/api/projects/{project_id}/milestones", json=milestone(), headers=headers
        )
        for _ in range(50)
    ]
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 49
    events = [e.event_type for e in world.tracker.history(project_id)]
    assert events.count("MilestoneLogged") == 1


def test_refusals_are_json_sentences_with_the_right_status(world: World) -> None:
    project_id, _, _ = world.new_project()
    h = world.headers("member")
    unknown = world.client.get(f"/api/projects/{uuid4()}", headers=h)
    rule = world.client.post(
        f"/api/projects/{project_id}/adoptions",
        headers=h,
        json={
            "occurred_on": "2024-02-02",
            "organisation_id": str(world.programme.trust_id),
            "scope": "spread",
        },
    )
    invalid = world.client.post(
        f"/api/projects/{project_id}/milestones",
        headers=h,
        json={"occurred_on": "2024-13-01", "title": "x"},
    )
    missing = world.client.post(
        f"/api/projects/{project_id}/milestones", headers=h, json={"title": "x"}
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert (rule.status_code, rule.json()["error"]) == (409, "adoption_before_pilot")
    assert rule.json()["detail"].startswith("Adoption can't take effect before the first pilot")
    assert (invalid.status_code, invalid.json()["field"]) == (422, "occurred_on")
    assert (missing.status_code, missing.json()["field"]) == (422, "occurred_on")


def test_the_actor_comes_from_the_signed_in_user_not_the_body(world: World) -> None:
    project_id, _, _ = world.new_project()
    body = milestone() | {"actor": {"user_id": "someone-else", "role": "admin"}}
    refused = world.client.post(
        f"/api/projects/{project_id}/milestones", json=body, headers=world.headers("member")
    )
    assert refused.status_code == 422  # unknown fields are refused, never trusted
    world.client.post(
        f"/api/projects/{project_id}/milestones", json=milestone(), headers=world.headers("member")
    )
    last = world.tracker.history(project_id)[-1]
    assert (last.actor.user_id, last.actor.role) == ("member", "fellow")


def test_wait_true_reads_your_own_write(world: World) -> None:
    project_id, _, _ = world.new_project()
    h = world.headers("member")
    world.client.post(f"/api/projects/{project_id}/milestones", json=milestone("Fresh"), headers=h)
    timeline = world.client.get(f"/api/projects/{project_id}/timeline?wait=true", headers=h)
    assert timeline.json()["entries"]["items"][-1]["summary"] == "Milestone: Fresh"


def test_a_session_needs_the_csrf_token_for_changes_and_ends_at_sign_out(world: World) -> None:
    project_id, _, _ = world.new_project()
    client = world.client
    client.cookies.clear()
    first = client.post("/api/session", json={"user_id": "member", "password": PASSWORD})
    assert first.status_code == 200
    session = client.cookies.get("impact_session")
    set_cookie = first.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie or "SameSite=Lax" in set_cookie
    csrf = client.cookies.get("csrftoken")
    assert csrf
    without = client.post(f"/api/projects/{project_id}/milestones", json=milestone())
    assert (without.status_code, without.json()["error"]) == (403, "csrf")
    with_token = client.post(
        f"/api/projects/{project_id}/milestones", json=milestone(), headers={"X-CSRFToken": csrf}
    )
    assert with_token.status_code == 200
    client.post(
        "/api/session",
        json={"user_id": "member", "password": PASSWORD},
        headers={"X-CSRFToken": csrf},
    )
    rotated = client.cookies.get("impact_session")
    assert rotated != session  # a new session at every sign-in; the old one ends
    client.cookies.clear()

    def me(cookie: str | None) -> int:
        return client.get("/api/me", headers={"Cookie": f"impact_session={cookie}"}).status_code

    assert (me(session), me(rotated)) == (401, 200)
    client.delete(
        "/api/session",
        headers={
            "Cookie": f"impact_session={rotated}; csrftoken={csrf}",
            "X-CSRFToken": csrf or "",
        },
    )
    assert me(rotated) == 401


def test_a_bearer_call_without_cookies_is_sent_no_csrf_cookie(world: World) -> None:
    project_id, _, _ = world.new_project()
    client = world.client
    client.cookies.clear()
    bearer = client.post(
        f"/api/projects/{project_id}/milestones",
        json=milestone(),
        headers=world.headers("member"),
    )
    assert bearer.status_code == 200
    assert "csrftoken" not in bearer.headers.get("set-cookie", "")
    # A cookie-only call is still checked (see the session test above), and pages still
    # hand the browser its token.
    without = client.post(
        f"/api/projects/{project_id}/milestones",
        json=milestone(),
        headers={"Cookie": "impact_session=anything"},
    )
    assert (without.status_code, without.json()["error"]) == (403, "csrf")
    client.cookies.clear()
    assert "csrftoken" in client.get("/sign-in").headers.get("set-cookie", "")


def test_failed_sign_ins_are_limited(world: World) -> None:
    def sign_in(password: str) -> httpx.Response:
        world.client.cookies.clear()
        return world.client.post("/api/session", json={"user_id": "member", "password": password})

    assert {sign_in("wrong").status_code for _ in range(3)} == {401}
    blocked = sign_in(PASSWORD)
    assert (blocked.status_code, blocked.json()["error"]) == (429, "too_many_attempts")


def test_a_revoked_or_made_up_token_is_401(world: World) -> None:
    world.client.cookies.clear()
    made_up = world.client.get("/api/me", headers={"Authorization": "Bearer imp_nonsense"})
    assert (made_up.status_code, made_up.headers["WWW-Authenticate"]) == (401, "Bearer")
    world.identity.revoke_tokens("evaluator")
    assert world.client.get("/api/me", headers=world.headers("evaluator")).status_code == 401


def test_responses_carry_security_headers(world: World) -> None:
    response = world.client.get("/api/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_readiness_reports_each_views_lag(world: World) -> None:
    body = world.client.get("/api/ready").json()
    assert body["status"] == "ok"
    assert {v["view"] for v in body["views"]} == {
        "timeline",
        "organisations",
        "portfolio",
        "measures",
        "integrity",
    }


def test_as_at_takes_a_date_or_a_zoned_moment(world: World) -> None:
    world.new_project()
    h = world.headers("evaluator")
    by_date = world.client.get("/api/portfolio?axis=effective&at=2024-03-15&wait=true", headers=h)
    by_moment = world.client.get("/api/portfolio?axis=recorded&at=2100-01-01T00:00:00Z", headers=h)
    unzoned = world.client.get("/api/portfolio?axis=recorded&at=2024-03-15T10:00:00", headers=h)
    nonsense = world.client.get("/api/portfolio?axis=effective&at=soon", headers=h)
    half = world.client.get("/api/portfolio?at=2024-03-15", headers=h)
    assert by_date.status_code == 200
    assert by_date.json()["as_at"] == {"axis": "effective", "moment": "2024-03-15"}
    assert by_date.json()["totals"]["piloted"] >= 1
    assert by_moment.status_code == 200
    assert [(r.status_code, r.json()["field"]) for r in (unzoned, nonsense, half)] == [
        (422, "at"),
        (422, "at"),
        (422, "axis"),
    ]


def test_a_measure_chart_recalculates_at_the_pilot_and_replays_the_past(world: World) -> None:
    from datetime import date

    from domain import commands as c
    from tests.conftest import FELLOW

    project_id, measure_id, _ = world.new_project()
    for month in range(4, 13):
        world.tracker.record_measurement(
            FELLOW,
            project_id,
            c.RecordMeasurement(
                occurred_on=date(2024, 12, 20),
                measure_id=measure_id,
                period=date(2024, month, 1),
                value=20.0 + month,
            ),
        )
    h = world.headers("member")
    chart = world.client.get(
        f"/api/measures/{measure_id}/chart?wait=true&minimum_points=5", headers=h
    ).json()
    assert chart["chart"]["kind"] == "xmr"
    assert [a["label"] for a in chart["annotations"]] == ["Pilot started"]
    split = world.client.get(
        f"/api/measures/{measure_id}/chart?minimum_points=5&recalculate_from=2024-08-01", headers=h
    ).json()
    assert len(split["chart"]["phases"]) == 2
    earlier = world.client.get(
        f"/api/measures/{measure_id}/chart?axis=effective&at=2024-06-30", headers=h
    ).json()
    assert len(earlier["chart"]["points"]) == 1  # only March's value was in effect by then
    assert earlier["chart"]["kind"] == "run"


def test_ghosting_and_recalculation_points_shape_the_chart(world: World) -> None:
    from datetime import date

    from domain import commands as c
    from tests.conftest import FELLOW

    project_id, measure_id, _ = world.new_project()
    ids = []
    for month in range(4, 13):
        result = world.tracker.record_measurement(
            FELLOW,
            project_id,
            c.RecordMeasurement(
                occurred_on=date(2024, 12, 20),
                measure_id=measure_id,
                period=date(2024, month, 1),
                value=500.0 if month == 6 else 20.0 + month % 3,
            ),
        )
        ids.append(result.entity_id)
    h = world.headers("member")
    base = f"/api/projects/{project_id}"
    ghosted = world.client.post(
        f"{base}/measurements/{ids[2]}/ghost",
        headers=h,
        json={"occurred_on": "2024-12-21", "reason": "Data outage"},
    )
    marked = world.client.post(
        f"{base}/measures/{measure_id}/recalculations",
        headers=h,
        json={"occurred_on": "2024-12-21", "from_period": "2024-09-01", "reason": "New pathway"},
    )
    assert (ghosted.status_code, marked.status_code) == (200, 200)
    chart = world.client.get(
        f"/api/measures/{measure_id}/chart?wait=true&minimum_points=5", headers=h
    ).json()["chart"]
    june = next(p for p in chart["points"] if p["period"] == "2024-06-01")
    assert (june["ghost"], june["ghost_reason"], june["signals"]) == (True, "Data outage", [])
    assert len(chart["phases"]) == 2
    assert chart["phases"][0]["limits"]["mean"] < 30  # the outlier is out of the calculation
    before = world.client.get(  # the day before the settings took effect: the chart as it was
        f"/api/measures/{measure_id}/chart?minimum_points=5&axis=effective&at=2024-12-20",
        headers=h,
    ).json()["chart"]
    june_then = next(p for p in before["points"] if p["period"] == "2024-06-01")
    assert (june_then["ghost"], len(before["phases"])) == (False, 1)
    again = world.client.post(
        f"{base}/measures/{measure_id}/recalculations",
        headers=h,
        json={"occurred_on": "2024-12-21", "from_period": "2024-09-01", "reason": "Twice"},
    )
    assert (again.status_code, again.json()["error"]) == (409, "chart_setting")
    removed = world.client.delete(
        f"{base}/measures/{measure_id}/recalculations/2024-09-01?occurred_on=2024-12-22", headers=h
    )
    assert removed.status_code == 200
    chart = world.client.get(
        f"/api/measures/{measure_id}/chart?wait=true&minimum_points=5", headers=h
    ).json()["chart"]
    assert len(chart["phases"]) == 1


def test_exports_stream_with_people_as_pseudonyms_except_for_admins(world: World) -> None:
    import json

    project_id, _, _ = world.new_project()
    as_evaluator = world.client.get(
        "/api/exports/events.jsonl?wait=true", headers=world.headers("evaluator")
    )
    as_admin = world.client.get("/api/exports/events.jsonl", headers=world.headers("admin"))
    assert as_evaluator.headers["content-type"].startswith("application/x-ndjson")
    evaluator_rows = [json.loads(line) for line in as_evaluator.text.splitlines()]
    admin_rows = [json.loads(line) for line in as_admin.text.splitlines()]
    proposed = next(r for r in evaluator_rows if r["stream_id"] == str(project_id))
    assert proposed["actor"].startswith("person-")
    assert proposed["data"]["lead_fellow_id"].startswith("person-")
    assert proposed["actor_role"] == "fellow"
    real = next(r for r in admin_rows if r["stream_id"] == str(project_id))
    assert real["actor"] == "fellow-1"
    csv_text = world.client.get(
        "/api/exports/projects.csv", headers=world.headers("evaluator")
    ).text
    assert csv_text.splitlines()[0].startswith("project_id,title,cohort_id")
    assert str(project_id) in csv_text


def test_a_correction_whose_reason_is_only_spaces_is_a_422_naming_the_field(world: World) -> None:
    project_id, _, measurement_id = world.new_project()
    answer = world.client.post(
        f"/api/projects/{project_id}/measurements/{measurement_id}/corrections",
        headers=world.headers("member"),
        json={"occurred_on": "2024-04-03", "value": 21, "reason": "   "},
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "reason"
