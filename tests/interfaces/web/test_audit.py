"""The sponsor's audit view: every event with both dates and its actor, corrections beside what
they correct, filters (htmx and plain), print, CSV and JSON downloads, checkpoint verification
and refusals."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date
from uuid import UUID

from fastapi.testclient import TestClient

from domain import commands as c
from domain.values import Actor, Role
from interfaces.web.routers.audit import CSV_COLUMNS, Integrity, judge
from interfaces.web.templating import TEMPLATES
from read_models.integrity.checkpoints import Checkpoint
from read_models.integrity.proofs import project_proof
from tests.interfaces.web.site import (
    ADMIN,
    EVALUATOR,
    FELLOW,
    OUTSIDER,
    SPONSOR,
    STRANGER,
    Site,
)

_ROW = re.compile(r'<tr [^>]*id="event-(\d+)"[^>]*data-event-type="(\w+)"')


def _rows(html: str) -> list[tuple[int, str]]:
    """(version, event type) of each row of the audit table, in order."""
    return [(int(v), t) for v, t in _ROW.findall(html)]


def _row(html: str, version: int) -> str:
    found = re.search(rf'<tr [^>]*id="event-{version}".*?</tr>', html, re.DOTALL)
    assert found, f"no row for version {version}"
    return found.group(0)


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def _checkpoint(site: Site) -> Checkpoint:
    """Sign a checkpoint as an admin does through the API, once the views hold every event."""
    api = site.anonymous()
    api.headers["Authorization"] = f"Bearer {site.identity.create_token(ADMIN)}"
    assert api.get("/api/projects?wait=true").status_code == 200
    made = api.post("/api/integrity/checkpoints")
    assert made.status_code == 201, made.text
    return Checkpoint.model_validate(made.json())


def _audit(client: TestClient, project_id: UUID, query: str = "", **kw: object) -> str:
    answer = client.get(f"/projects/{project_id}/audit{query}", **kw)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_audit_view_lists_every_event_with_both_dates_and_the_actor(site: Site) -> None:
    pid = site.first_project()
    history = site.tracker.history(pid)
    page = _audit(site.as_user(SPONSOR), pid)
    assert _rows(page) == [(e.version, e.event_type) for e in history]
    for e in (history[0], history[-1]):
        row = _row(page, e.version)
        assert f'datetime="{e.occurred_on.isoformat()}"' in row
        assert _day(e.occurred_on) in row
        assert f'datetime="{e.recorded_at.isoformat()}"' in row
        assert f"{e.recorded_at.astimezone(UTC):%H:%M} UTC" in row
        assert f"{e.actor.user_id}</span>" in row
        assert f"({e.actor.role.value})" in row
    assert f"{len(history)} events, versions 1 to {len(history)}" in page


def test_a_long_gap_between_effective_date_and_recording_is_flagged(site: Site) -> None:
    pid = site.first_project()
    history = site.tracker.history(pid)
    proposal = history[0]  # the demo records years of history on the day it loads
    gap = (proposal.recorded_at.astimezone(UTC).date() - proposal.occurred_on).days
    assert gap > 30
    row = _row(_audit(site.as_user(SPONSOR), pid), 1)
    assert f'impact-gap--late">{gap:,} days late' in row


def test_a_correction_sits_beside_the_measurement_it_corrects(site: Site) -> None:
    pid = site.first_project()
    project = site.tracker.project(pid)
    target = next(m for m in project.measurements if not m.corrections and not m.retracted)
    new_value = round(target.value + 1.5, 1)
    site.tracker.correct_measurement(
        Actor(user_id=FELLOW, role=Role.FELLOW),
        pid,
        c.CorrectMeasurement(
            occurred_on=date.today(),
            measurement_id=target.measurement_id,
            value=new_value,
            reason="Audit test: the ward re-ran its extract.",
        ),
    )
    history = site.tracker.history(pid)
    correction = history[-1]
    original = next(
        e
        for e in history
        if e.event_type == "MeasurementRecorded"
        and e.data["measurement_id"] == str(target.measurement_id)
    )
    page = _audit(site.as_user(SPONSOR), pid)
    change = f"{target.value:g} → {new_value:g}"

    corrects = _row(page, correction.version)
    assert "impact-audit__row--follow-up" in corrects
    assert f'Corrects <a href="/projects/{pid}/audit#event-{original.version}">' in corrects
    assert change in corrects
    assert "the ward re-ran its extract" in corrects

    corrected = _row(page, original.version)
    assert f'<a href="/projects/{pid}/audit#event-{correction.version}">' in corrected
    assert f"corrected {change}: Audit test" in corrected


def test_a_retraction_links_to_the_measurement_it_retracts(site: Site) -> None:
    pid = site.first_project()
    history = site.tracker.history(pid)
    retraction = next(e for e in history if e.event_type == "MeasurementRetracted")
    original = next(
        e
        for e in history
        if e.event_type == "MeasurementRecorded"
        and e.data["measurement_id"] == retraction.data["measurement_id"]
    )
    page = _audit(site.as_user(SPONSOR), pid)
    assert f'Retracts <a href="/projects/{pid}/audit#event-{original.version}">' in _row(
        page, retraction.version
    )
    assert f"#event-{retraction.version}" in _row(page, original.version)


def test_filtering_by_event_type_narrows_the_rows_on_the_page_and_in_the_fragment(
    site: Site,
) -> None:
    pid = site.first_project()
    client = site.as_user(SPONSOR)
    recorded = [
        e.version for e in site.tracker.history(pid) if e.event_type == "MeasurementRecorded"
    ]
    page = _audit(client, pid, "?type=MeasurementRecorded")
    assert "<html" in page
    assert 'id="audit-filters"' in page
    assert '<option value="MeasurementRecorded" selected>' in page
    assert _rows(page) == [(v, "MeasurementRecorded") for v in recorded]

    answer = client.get(
        f"/projects/{pid}/audit?type=MeasurementRecorded", headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="audit-events"')
    assert "<html" not in answer.text
    assert 'id="audit-filters"' not in answer.text
    assert _rows(answer.text) == [(v, "MeasurementRecorded") for v in recorded]
    assert "HX-Request" in answer.headers["Vary"]
    assert f"{len(recorded)} of " in answer.text


def test_filtering_by_actor_shows_only_what_they_recorded(site: Site) -> None:
    pid = site.first_project()
    result = site.tracker.log_milestone(
        Actor(user_id=SPONSOR, role=Role.SPONSOR),
        pid,
        c.LogMilestone(
            occurred_on=date.today(), title="Sponsor sign-off", description="", is_sign_off=True
        ),
    )
    assert result.notification_id
    client = site.as_user(SPONSOR)
    page = _audit(client, pid)
    assert f'<option value="{SPONSOR}">{SPONSOR} (sponsor)</option>' in page
    mine = _audit(client, pid, f"?actor={SPONSOR}", headers={"HX-Request": "true"})
    theirs = [
        (e.version, e.event_type) for e in site.tracker.history(pid) if e.actor.role is Role.SPONSOR
    ]
    assert _rows(mine) == theirs
    assert theirs[-1] == (site.tracker.history(pid)[-1].version, "MilestoneLogged")
    assert f"recorded by {SPONSOR}" in mine
    none = _audit(client, pid, f"?actor={SPONSOR}&type=ProjectProposed")
    assert _rows(none) == []
    assert "No events match" in none


def test_the_print_layout_drops_the_controls_and_keeps_the_filter(site: Site) -> None:
    pid = site.first_project()
    client = site.as_user(SPONSOR)
    page = _audit(client, pid)
    assert 'href="/assets/app/audit.css"' in page
    assert "data-print hidden>Print</button>" in page
    assert f'href="/projects/{pid}/audit?print=1"' in page
    filtered = _audit(client, pid, "?type=MilestoneLogged")
    assert f'href="/projects/{pid}/audit?type=MilestoneLogged&amp;print=1"' in filtered

    printed = _audit(client, pid, "?type=MilestoneLogged&print=1")
    assert "printed" in printed
    assert 'id="audit-filters"' not in printed
    assert 'id="downloads"' not in printed
    assert {t for _, t in _rows(printed)} == {"MilestoneLogged"}
    assert f'href="/projects/{pid}/audit?type=MilestoneLogged">Back to the audit view' in printed


def test_the_history_downloads_as_csv_with_one_row_per_event(site: Site) -> None:
    pid = site.first_project()
    answer = site.as_user(SPONSOR).get(f"/projects/{pid}/audit.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="project-{pid}-history.csv"'
    )
    reader = csv.DictReader(io.StringIO(answer.text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = list(reader)
    history = site.tracker.history(pid)
    assert [int(r["version"]) for r in rows] == [e.version for e in history]
    first, entry = rows[0], history[0]
    assert first["event_type"] == "ProjectProposed"
    assert first["event"] == "Proposed"
    assert first["occurred_on"] == entry.occurred_on.isoformat()
    assert first["recorded_at"] == entry.recorded_at.astimezone(UTC).isoformat()
    assert (first["actor_id"], first["actor_role"]) == (entry.actor.user_id, "fellow")
    assert json.loads(first["data"])["title"] == site.tracker.project(pid).title


def test_the_history_downloads_as_json_with_one_entry_per_event(site: Site) -> None:
    pid = site.first_project()
    answer = site.as_user(EVALUATOR).get(f"/projects/{pid}/audit.json")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="project-{pid}-history.json"'
    )
    body = answer.json()
    history = site.tracker.history(pid)
    assert body["project_id"] == str(pid)
    assert [e["version"] for e in body["events"]] == [e.version for e in history]
    last = body["events"][-1]
    assert set(last) >= {"event_type", "actor", "occurred_on", "recorded_at", "data", "gap_days"}
    assert last["actor"]["user_id"] == history[-1].actor.user_id


def test_a_history_inside_the_latest_checkpoint_is_verified_against_it(site: Site) -> None:
    pid = site.demo.projects[1]
    checkpoint = _checkpoint(site)
    page = _audit(site.as_user(EVALUATOR), pid)
    assert 'data-integrity="verified"' in page
    assert f"Verified against checkpoint {checkpoint.seq}" in page
    assert f"log size {checkpoint.size:,}" in page
    total = len(site.tracker.history(pid))
    assert f"All {total} events of this project" in page
    assert f'<td class="nhsuk-table__cell">{checkpoint.seq}</td>' in page


def test_events_recorded_after_the_latest_checkpoint_are_not_yet_covered(site: Site) -> None:
    pid = site.demo.projects[2]
    _checkpoint(site)
    site.tracker.log_milestone(
        Actor(user_id=FELLOW, role=Role.FELLOW),
        pid,
        c.LogMilestone(occurred_on=date.today(), title="After the checkpoint", description=""),
    )
    total = len(site.tracker.history(pid))
    page = _audit(site.as_user(EVALUATOR), pid)
    assert 'data-integrity="partial"' in page
    assert "Not yet covered by a checkpoint" in page
    assert f"(from version {total})" in page
    assert f"Versions 1 to {total - 1} are verified" in page


def test_a_project_with_no_event_in_the_checkpoint_is_not_covered(site: Site) -> None:
    pid = site.demo.projects[3]
    checkpoint = _checkpoint(site)
    empty = project_proof(site.tracker, pid, 0)
    trusted = frozenset({checkpoint.public_key})  # _checkpoint: signed by the site's key
    assert judge(checkpoint, empty, 5, trusted) == Integrity("not_covered", checkpoint, 0, 5)


def test_a_checkpoint_the_store_no_longer_matches_shows_a_warning(site: Site) -> None:
    pid = site.demo.projects[1]
    checkpoint = _checkpoint(site)
    proof = project_proof(site.tracker, pid, checkpoint.size)
    forged = checkpoint.model_copy(update={"root": "0" * 64})
    verdict = judge(forged, proof, len(proof.proofs), frozenset({checkpoint.public_key}))
    assert verdict.state == "failed"
    assert "the checkpoint's signature does not verify" in verdict.failures
    html = TEMPLATES.get_template("audit/_integrity.html").render(
        integrity=verdict, project=site.tracker.project(pid)
    )
    assert "nhsuk-card--warning" in html
    assert f"Verification against checkpoint {checkpoint.seq} failed" in html
    assert "does not lead to the signed root" in html


def test_everyone_who_may_read_the_project_sees_its_audit_view(site: Site) -> None:
    pid = site.first_project()
    for user in (SPONSOR, EVALUATOR, ADMIN, FELLOW, OUTSIDER):
        assert site.as_user(user).get(f"/projects/{pid}/audit").status_code == 200, user


def test_a_sponsor_of_something_else_is_refused_the_audit_view_and_downloads(site: Site) -> None:
    pid = site.first_project()
    client = site.as_user(STRANGER)
    for path in ("audit", "audit.csv", "audit.json"):
        answer = client.get(f"/projects/{pid}/{path}")
        assert answer.status_code == 403, path
        assert "You can&#39;t do that" in answer.text
        assert "demo-fellow" not in answer.text


def test_the_anonymous_are_sent_to_sign_in_and_an_unknown_project_is_not_found(
    site: Site,
) -> None:
    pid = site.first_project()
    for path in ("audit", "audit.csv", "audit.json"):
        answer = site.anonymous().get(f"/projects/{pid}/{path}")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in?next=")
    missing = site.as_user(EVALUATOR).get(f"/projects/{UUID(int=7)}/audit")
    assert missing.status_code == 404
    assert "Page not found" in missing.text


def test_the_project_page_links_to_its_audit_view(site: Site) -> None:
    pid = site.first_project()
    page = site.as_user(SPONSOR).get(f"/projects/{pid}")
    assert f'href="/projects/{pid}/audit"' in page.text


def test_a_paste_is_one_row_and_each_value_sits_beside_its_own_changes(site: Site) -> None:
    """A pasted column is one entry; a change to one of its values names that value."""
    from domain.values import ImprovementDirection

    pid = site.first_project()
    fellow = Actor(user_id=FELLOW, role=Role.FELLOW)
    today = date.today()
    measure_id = site.tracker.define_measure(
        fellow,
        pid,
        c.DefineMeasure(
            occurred_on=today,
            name="Pasted falls",
            unit="falls",
            direction=ImprovementDirection.DOWN,
        ),
    ).entity_id
    pasted = site.tracker.paste_measurements(
        fellow,
        pid,
        c.PasteMeasurements(
            occurred_on=today,
            measure_id=measure_id,
            first_period=date(2024, 3, 1),
            pasted="5\n6\n7",
        ),
    )
    (paste,) = [e for e in site.tracker.history(pid) if e.version == pasted.version]
    assert paste.event_type == "MeasurementsPasted"
    second, third = (v["measurement_id"] for v in paste.data["values"][1:])
    corrected = site.tracker.correct_measurement(
        fellow,
        pid,
        c.CorrectMeasurement(occurred_on=today, measurement_id=second, value=60, reason="typo"),
    )
    retracted = site.tracker.retract_measurement(
        fellow,
        pid,
        c.RetractMeasurement(occurred_on=today, measurement_id=third, reason="wrong ward"),
    )
    page = _audit(site.as_user(SPONSOR), pid)
    assert [t for v, t in _rows(page) if v == pasted.version] == ["MeasurementsPasted"]

    row = _row(page, pasted.version)
    assert "Values pasted" in row
    assert "March 2024: 5; April 2024: 6; May 2024: 7" in row
    assert "Pasted falls" in row  # the measure by name, not by id
    assert f'#event-{corrected.version}">version {corrected.version}</a>: April 2024: ' in row
    assert "corrected 6 → 60: typo" in row
    assert f'#event-{retracted.version}">version {retracted.version}</a>: May 2024: ' in row

    corrects = _row(page, corrected.version)
    assert f'Corrects <a href="/projects/{pid}/audit#event-{pasted.version}">' in corrects
    assert "(Pasted falls, April 2024: 6)" in corrects
    assert "6 → 60" in corrects
    retracts = _row(page, retracted.version)
    assert f'Retracts <a href="/projects/{pid}/audit#event-{pasted.version}">' in retracts
    assert "(Pasted falls, May 2024: 7)" in retracts
