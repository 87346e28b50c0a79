"""Project pages: sign-in, search, propose, a project's page and its command forms.

Each form is driven as a browser without JavaScript would (a POST with the page's CSRF token,
then the 303); refusals must show an NHS error summary naming the field and record nothing.
"""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

import httpx2 as httpx
from fastapi.testclient import TestClient

from domain import commands as c
from domain.values import Actor, Role, Stage
from tests.interfaces.web.site import (
    EVALUATOR,
    FELLOW,
    OUTSIDER,
    SPONSOR,
    STRANGER,
    Site,
    csrf_of,
    post_form,
    sign_in,
)

HTMX = {"HX-Request": "true"}


def _follow(client: TestClient, answer: httpx.Response) -> str:
    """The page a 303 leads to."""
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    return page.text


def _error_summary(html: str) -> list[str]:
    found = re.search(r"nhsuk-error-summary__list.*?</ul>", html, re.S)
    assert found, "no error summary on the page"
    return re.findall(r'<a href="#([^"]+)">', found.group(0))


def _free_months(site: Site, project_id: UUID, measure_id: UUID, count: int) -> list[date]:
    """``count`` consecutive past months with no value yet (the latest such run)."""
    taken = {
        m.period
        for m in site.tracker.project(project_id).measurements
        if m.measure_id == measure_id and not m.retracted
    }
    today = date.today()
    months = [
        date(today.year - (i + 12 - today.month) // 12, (today.month - i - 1) % 12 + 1, 1)
        for i in range(1, 240)
    ]
    for start in range(len(months) - count):
        run = months[start : start + count]
        if not taken & set(run):
            return sorted(run)
    raise AssertionError("no free months")


def test_a_fellow_sees_their_projects_on_their_start_page(site: Site) -> None:
    page = site.as_user(FELLOW).get("/")
    assert page.status_code == 200
    assert "My projects" in page.text
    assert site.tracker.project(site.first_project()).title in page.text


def test_pages_send_the_anonymous_to_sign_in_and_back(site: Site) -> None:
    client = site.anonymous()
    answer = client.get("/projects?q=ward")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/projects%3Fq%3Dward"
    form = client.get(answer.headers["location"])
    assert 'name="next" value="/projects?q=ward"' in form.text


def test_a_wrong_password_is_refused_with_an_error_summary_and_no_session(site: Site) -> None:
    client = site.anonymous()
    token = csrf_of(client.get("/sign-in").text)
    answer = client.post(
        "/sign-in", data={"user_id": FELLOW, "password": "wrong", "csrftoken": token}
    )
    assert answer.status_code == 401
    assert _error_summary(answer.text) == ["user_id"]
    assert "impact_session" not in client.cookies
    blank = client.post("/sign-in", data={"user_id": "", "password": "", "csrftoken": token})
    assert _error_summary(blank.text) == ["user_id", "password"]


def test_sign_in_never_sends_anyone_to_another_site(site: Site) -> None:
    client = site.anonymous()
    token = csrf_of(client.get("/sign-in").text)
    answer = client.post(
        "/sign-in",
        data={
            "user_id": EVALUATOR,
            "password": "impact-demo-2020",
            "next": "//evil.example/",
            "csrftoken": token,
        },
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/")


def test_a_form_without_the_csrf_token_is_refused(site: Site) -> None:
    client = site.as_user(FELLOW)
    answer = client.post(f"/projects/{site.first_project()}/milestone", data={"title": "x"})
    assert answer.status_code == 403


def test_signing_out_ends_the_session(site: Site) -> None:
    client = site.anonymous()
    sign_in(client, EVALUATOR)
    assert client.get("/projects").status_code == 200
    old = client.cookies.get("impact_session")
    token = csrf_of(client.get("/").text)
    assert client.post("/sign-out", data={"csrftoken": token}).status_code == 303
    replay = site.anonymous()
    replay.cookies.set("impact_session", old or "")
    assert replay.get("/projects").status_code == 303


def test_search_narrows_as_you_type_and_answers_htmx_with_the_results_only(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    full = client.get("/projects?q=virtual+ward")
    assert full.status_code == 200
    assert "<html" in full.text
    assert "Virtual ward for respiratory patients" in full.text
    assert "Falls prevention" not in full.text
    fragment = client.get("/projects?q=virtual+ward", headers=HTMX)
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert "Virtual ward for respiratory patients" in fragment.text
    adopted = client.get("/projects?stage=adopted", headers=HTMX).text
    titles = re.findall(r'href="/projects/([0-9a-f-]{36})"', adopted)
    assert titles
    assert all(site.tracker.project(UUID(t)).stage is Stage.ADOPTED for t in titles)


def test_a_search_with_a_made_up_organisation_is_an_error_not_a_crash(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/projects?organisation_id=not-an-id")
    assert page.status_code == 200
    assert _error_summary(page.text) == ["organisation_id"]


def test_search_by_cohort_finds_that_cohorts_projects_only(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    fellows_cohort = site.tracker.project(site.first_project()).cohort_id
    cohort = next(
        site.tracker.project(p).cohort_id
        for p in site.demo.projects
        if site.tracker.project(p).cohort_id != fellows_cohort  # no test proposes into it
    )
    members = {p for p in site.demo.projects if site.tracker.project(p).cohort_id == cohort}
    assert 0 < len(members) < len(site.demo.projects)
    full = client.get(f"/projects?cohort_id={cohort}")
    assert "<html" in full.text
    assert f'<option value="{cohort}" selected>' in full.text  # the form keeps the choice
    fragment = client.get(f"/projects?cohort_id={cohort}", headers=HTMX)
    assert "<html" not in fragment.text
    for html in (full.text, fragment.text):
        found = {UUID(i) for i in re.findall(r'href="/projects/([0-9a-f-]{36})"', html)}
        assert found == members
        assert f"{len(members)} projects found" in html
    made_up = client.get("/projects?cohort_id=not-a-cohort")
    assert _error_summary(made_up.text) == ["cohort_id"]


def test_a_sponsor_finds_only_the_projects_they_may_see(site: Site) -> None:
    page = site.as_user(SPONSOR).get("/projects", headers=HTMX).text
    ids = {UUID(i) for i in re.findall(r'href="/projects/([0-9a-f-]{36})"', page)}
    assert site.first_project() in ids
    count = int(re.search(r"(\d+) projects? found", page).group(1))  # type: ignore[union-attr]
    assert count < len(site.demo.projects)


def test_an_incomplete_proposal_names_each_field_and_records_nothing(site: Site) -> None:
    client = site.as_user(FELLOW)
    head = site.tracker.head()
    answer = post_form(
        client,
        "/projects",
        {"title": "", "problem": "", "occurred_on": "31/02"},
        page="/projects/new",
    )
    assert answer.status_code == 422
    fields = _error_summary(answer.text)
    assert {"title", "problem", "intended_outcomes", "occurred_on"} <= set(fields)
    assert site.tracker.head() == head


def test_a_fellow_proposes_a_project_and_sees_it_at_once(site: Site) -> None:
    client = site.as_user(FELLOW)
    form = client.get("/projects/new").text
    cohort = re.search(r'<option value="([0-9a-f-]{36})" selected>', form)
    assert cohort, "the fellow's cohort is preselected"
    answer = client.post(
        "/projects",
        data={
            "title": "Community falls response with the fire service",
            "problem": "Fallers wait hours for an ambulance.",
            "intended_outcomes": "Fewer conveyances\nShorter waits",
            "cohort_id": cohort.group(1),
            "lead_organisation_id": re.findall(
                r'id="lead_organisation_id".*?<option value="([0-9a-f-]{36})" selected',
                form,
                re.S,
            )[0],
            "occurred_on": date.today().isoformat(),
            "csrftoken": csrf_of(form),
        },
    )
    page = _follow(client, answer)
    assert "Project proposed" in page
    assert "Community falls response with the fire service" in page
    assert "Proposed: Community falls response" in page  # the timeline, read-your-writes
    assert "Start a pilot" in page


def test_only_the_projects_team_is_offered_changes(site: Site) -> None:
    project_id = site.first_project()
    member = site.as_user(FELLOW).get(f"/projects/{project_id}").text
    assert 'id="actions"' in member
    for who in (OUTSIDER, EVALUATOR):
        page = site.as_user(who).get(f"/projects/{project_id}").text
        assert 'id="actions"' not in page
        assert "/correct?" not in page
    sponsor = site.as_user(SPONSOR).get(f"/projects/{project_id}").text
    assert f'href="/projects/{project_id}/sign-off"' in sponsor
    assert "Start a pilot" not in sponsor


def test_an_outsider_can_neither_open_nor_post_a_command_form(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(OUTSIDER)
    assert client.get(f"/projects/{project_id}/milestone").status_code == 403
    head = site.tracker.head()
    token = csrf_of(client.get("/").text)
    answer = client.post(
        f"/projects/{project_id}/milestone",
        data={"title": "Not mine", "occurred_on": date.today().isoformat(), "csrftoken": token},
    )
    assert answer.status_code == 403
    assert "You can&#39;t make that change" in answer.text
    assert site.tracker.head() == head


def test_a_member_records_a_measurement_and_a_milestone(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    project = site.tracker.project(project_id)
    measure = project.measures[0]
    (month,) = _free_months(site, project_id, measure.measure_id, 1)
    answer = post_form(
        client,
        f"/projects/{project_id}/measurement",
        {
            "measure_id": str(measure.measure_id),
            "period": f"{month:%Y-%m}",
            "value": "12.5",
            "occurred_on": date.today().isoformat(),
        },
    )
    assert "Measurement recorded" in _follow(client, answer)
    recorded = site.tracker.project(project_id).measurements
    assert any(m.period == month and m.value == 12.5 for m in recorded)
    answer = post_form(
        client,
        f"/projects/{project_id}/milestone",
        {"title": "Board paper agreed", "occurred_on": date.today().isoformat()},
    )
    assert "Milestone: Board paper agreed" in _follow(client, answer)


def test_a_pasted_column_with_a_bad_row_names_the_row_and_records_nothing(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    measure = site.tracker.project(project_id).measures[0]
    head = site.tracker.head()
    answer = post_form(
        client,
        f"/projects/{project_id}/paste",
        {
            "measure_id": str(measure.measure_id),
            "first_period": "2030-01",
            "pasted": "10\n11\neleven\n12",
            "occurred_on": date.today().isoformat(),
        },
    )
    assert answer.status_code == 422
    assert _error_summary(answer.text) == ["pasted"]
    assert "Row 3" in answer.text
    assert "eleven" in answer.text  # what they typed stays
    assert site.tracker.head() == head


def test_a_pasted_column_records_one_value_per_month(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    project = site.tracker.project(project_id)
    measure = project.measures[-1]
    months = _free_months(site, project_id, measure.measure_id, 4)
    first = months[0]
    answer = post_form(
        client,
        f"/projects/{project_id}/paste",
        {
            "measure_id": str(measure.measure_id),
            "first_period": f"{first:%Y-%m}",
            "pasted": "10\n11.5\n1,200\n9%",
            "occurred_on": date.today().isoformat(),
        },
    )
    _follow(client, answer)
    values = {
        m.period: m.value
        for m in site.tracker.project(project_id).measurements
        if m.measure_id == measure.measure_id and m.period in months
    }
    assert values == dict(zip(months, [10.0, 11.5, 1200.0, 9.0], strict=True))


def test_corrections_and_retractions_need_a_reason_and_keep_the_history(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    current = [m for m in site.tracker.project(project_id).measurements if not m.retracted]
    first, second = current[0], current[1]
    path = f"/projects/{project_id}/correct?measurement_id={first.measurement_id}"
    page = client.get(path).text
    assert f'value="{first.measurement_id}" selected' in page
    head = site.tracker.head()
    token = csrf_of(page)
    refused = client.post(
        f"/projects/{project_id}/correct",
        data={
            "measurement_id": str(first.measurement_id),
            "value": "99",
            "occurred_on": date.today().isoformat(),
            "csrftoken": token,
        },
    )
    assert refused.status_code == 422
    assert _error_summary(refused.text) == ["reason"]
    assert site.tracker.head() == head
    corrected = client.post(
        f"/projects/{project_id}/correct",
        data={
            "measurement_id": str(first.measurement_id),
            "value": "99",
            "reason": "Typed from the wrong month",
            "occurred_on": date.today().isoformat(),
            "csrftoken": token,
        },
    )
    assert "Measurement corrected" in _follow(client, corrected)
    retracted = post_form(
        client,
        f"/projects/{project_id}/retract",
        {
            "measurement_id": str(second.measurement_id),
            "reason": "Duplicate of another ward's figure",
            "occurred_on": date.today().isoformat(),
        },
    )
    assert "Measurement retracted" in _follow(client, retracted)
    after = {m.measurement_id: m for m in site.tracker.project(project_id).measurements}
    assert after[first.measurement_id].value == 99
    assert after[second.measurement_id].retracted
    history = [e.event_type for e in site.tracker.history(project_id)]
    assert history[-2:] == ["MeasurementCorrected", "MeasurementRetracted"]


def test_a_domain_rule_refusal_is_shown_on_the_form(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    head = site.tracker.head()
    answer = post_form(
        client,
        f"/projects/{project_id}/milestone",
        {"title": "From the future", "occurred_on": "2999-01-01"},
    )
    assert answer.status_code == 422
    assert "There is a problem" in answer.text
    assert site.tracker.head() == head


def _adoption_form(site: Site, project_id: UUID, client: TestClient) -> tuple[str, set[str]]:
    """The adoption form and the organisations it offers."""
    page = client.get(f"/projects/{project_id}/adoption")
    assert page.status_code == 200
    options = re.search(r'id="organisation_id".*?</select>', page.text, re.S)
    assert options, "no organisation list on the adoption form"
    return page.text, set(re.findall(r'<option value="([0-9a-f-]{36})"', options.group(0)))


def test_a_member_records_adoption_by_an_organisation(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    page, offered = _adoption_form(site, project_id, client)
    before = site.tracker.project(project_id).adoptions
    newcomer = sorted(offered - {str(a.organisation_id) for a in before})[0]
    answer = client.post(
        f"/projects/{project_id}/adoption",
        data={
            "organisation_id": newcomer,
            "scope": "spread",
            "occurred_on": date.today().isoformat(),
            "csrftoken": csrf_of(page),
        },
    )
    assert "Adoption recorded" in _follow(client, answer)
    after = site.tracker.project(project_id).adoptions
    assert len(after) == len(before) + 1
    assert str(after[-1].organisation_id) == newcomer


def test_an_organisation_adopting_a_project_twice_is_refused_and_nothing_recorded(
    site: Site,
) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    page, _ = _adoption_form(site, project_id, client)
    adopter = site.tracker.project(project_id).adoptions[0].organisation_id
    head = site.tracker.head()
    answer = client.post(
        f"/projects/{project_id}/adoption",
        data={
            "organisation_id": str(adopter),
            "scope": "spread",
            "occurred_on": date.today().isoformat(),
            "csrftoken": csrf_of(page),
        },
    )
    assert answer.status_code == 422
    assert _error_summary(answer.text) == ["organisation_id"]
    assert "already adopted the project" in answer.text
    assert site.tracker.head() == head


def _proposed(site: Site, title: str) -> UUID:
    """A new project led by FELLOW, still at the proposal stage."""
    first = site.tracker.project(site.first_project())
    result = site.tracker.propose_project(
        Actor(user_id=FELLOW, role=Role.FELLOW),
        c.ProposeProject(
            occurred_on=date.today(),
            title=title,
            problem="Patients wait too long.",
            intended_outcomes=["Shorter waits"],
            cohort_id=first.cohort_id,
            lead_fellow_id=first.lead_fellow_id,
            lead_organisation_id=first.lead_organisation_id,
        ),
    )
    return result.aggregate_id


def test_a_member_starts_a_pilot_from_its_form(site: Site) -> None:
    project_id = _proposed(site, "Pharmacist-led discharge reviews")
    client = site.as_user(FELLOW)
    form = client.get(f"/projects/{project_id}/pilot")
    assert form.status_code == 200
    assert "<h1>Start a pilot</h1>" in form.text
    for field in ("sites", "scope", "occurred_on"):
        assert f'id="{field}"' in form.text
    answer = client.post(
        f"/projects/{project_id}/pilot",
        data={
            "sites": "Ward 7, Royal Infirmary\nDale Community Hospital",
            "scope": "Every discharge from two wards for three months.",
            "occurred_on": date.today().isoformat(),
            "csrftoken": csrf_of(form.text),
        },
    )
    page = _follow(client, answer)
    assert "Pilot started" in page
    assert re.search(r'<strong class="nhsuk-tag[^"]*">\s*Piloted\s*</strong>', page)
    project = site.tracker.project(project_id)
    assert project.stage is Stage.PILOTED
    assert project.pilots[0].sites == ["Ward 7, Royal Infirmary", "Dale Community Hospital"]


def test_a_pilot_without_sites_names_the_field_and_records_nothing(site: Site) -> None:
    project_id = _proposed(site, "Pharmacist-led discharge reviews, again")
    client = site.as_user(FELLOW)
    head = site.tracker.head()
    answer = post_form(
        client,
        f"/projects/{project_id}/pilot",
        {"sites": " \n ", "scope": "Two wards.", "occurred_on": date.today().isoformat()},
    )
    assert answer.status_code == 422
    assert _error_summary(answer.text) == ["sites"]
    assert "Two wards." in answer.text  # what they typed stays
    assert site.tracker.head() == head
    assert site.tracker.project(project_id).stage is Stage.PROPOSED


def test_an_unknown_action_page_is_a_404_page(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    page = client.get(f"/projects/{project_id}/not-an-action")
    assert page.status_code == 404
    assert "<html" in page.text
    assert "There is no such page" in page.text
    head = site.tracker.head()
    token = csrf_of(client.get("/").text)
    posted = client.post(
        f"/projects/{project_id}/not-an-action", data={"title": "x", "csrftoken": token}
    )
    assert posted.status_code == 404
    assert site.tracker.head() == head


def test_only_fellows_may_open_or_send_the_proposal_form(site: Site) -> None:
    for who in (SPONSOR, EVALUATOR):
        client = site.as_user(who)
        assert client.get("/projects/new").status_code == 403
        head = site.tracker.head()
        answer = client.post(
            "/projects",
            data={
                "title": "Not a fellow's project",
                "problem": "None.",
                "intended_outcomes": "None",
                "occurred_on": date.today().isoformat(),
                "csrftoken": csrf_of(client.get("/").text),
            },
        )
        assert answer.status_code == 403
        assert "<html" in answer.text
        assert site.tracker.head() == head
    assert "Propose a project" not in site.as_user(SPONSOR).get("/").text


def test_unknown_project_pages_are_404_pages(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/projects/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404
    assert "<html" in page.text


def test_the_live_state_serves_htmx_alone_and_browsers_the_whole_page(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    path = f"/projects/{site.first_project()}/state"
    fragment = client.get(path, headers=HTMX)
    assert fragment.text.lstrip().startswith('<div id="project-state">')
    assert '<section id="timeline">' in fragment.text
    assert "Proposed:" in fragment.text
    page = client.get(path)
    assert "<html" in page.text
    assert '<div id="project-state">' in page.text
    restored = client.get(path, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restored.text  # Back to a page htmx no longer has: the whole page
    assert "HX-Request" in page.headers["vary"]


def test_a_boosted_form_post_gets_whole_pages(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    form = client.get(f"/projects/{project_id}/milestone", headers=boosted)
    assert "<html" in form.text
    refused = client.post(
        f"/projects/{project_id}/milestone",
        data={
            "title": "",
            "occurred_on": date.today().isoformat(),
            "csrftoken": csrf_of(form.text),
        },
        headers=boosted,
    )
    assert refused.status_code == 422
    assert "<html" in refused.text
    assert _error_summary(refused.text) == ["title"]


def test_a_sponsor_starts_from_the_projects_they_sponsor(site: Site) -> None:
    page = site.as_user(SPONSOR).get("/").text
    assert "Projects I sponsor" in page
    sponsored = {p for p in site.demo.projects if site.tracker.project(p).sponsor_id == SPONSOR}
    shown = {UUID(i) for i in re.findall(r'href="/projects/([0-9a-f-]{36})"', page)}
    assert sponsored
    assert shown == sponsored


def test_an_evaluator_starts_from_the_portfolio_routes(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/").text
    for link in ("/portfolio", "/portfolio/replay", "/organisations", "/projects"):
        assert f'href="{link}"' in page


def test_the_front_door_offers_sign_in_and_the_demo_accounts(site: Site) -> None:
    page = site.anonymous().get("/")
    assert page.status_code == 200
    assert 'href="/sign-in"' in page.text
    assert FELLOW in page.text


def test_the_live_stream_and_state_refuse_who_may_not_read_the_project(site: Site) -> None:
    project_id = site.first_project()
    for path in (f"/projects/{project_id}/live", f"/projects/{project_id}/state"):
        assert site.as_user(STRANGER).get(path).status_code == 403
        answer = site.anonymous().get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in?next=")


def test_a_double_submitted_form_records_once(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    page = client.get(f"/projects/{project_id}/milestone").text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key
    form = {
        "title": "Clicked twice",
        "occurred_on": date.today().isoformat(),
        "idempotency_key": key.group(1),
        "csrftoken": csrf_of(page),
    }
    head = site.tracker.head()
    first = client.post(f"/projects/{project_id}/milestone", data=form)
    second = client.post(f"/projects/{project_id}/milestone", data=form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert site.tracker.head() == head + 1


def test_a_correction_from_a_stale_form_is_refused(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(FELLOW)
    current = [m for m in site.tracker.project(project_id).measurements if not m.retracted]
    page = client.get(
        f"/projects/{project_id}/correct?measurement_id={current[0].measurement_id}"
    ).text
    assert f'name="version" value="{site.tracker.project(project_id).version}"' in page
    post_form(
        client,
        f"/projects/{project_id}/milestone",
        {"title": "Someone else's change", "occurred_on": date.today().isoformat()},
    )
    head = site.tracker.head()
    stale = client.post(
        f"/projects/{project_id}/correct",
        data={
            "measurement_id": str(current[0].measurement_id),
            "value": "1",
            "reason": "Opened before the milestone",
            "occurred_on": date.today().isoformat(),
            "version": re.search(r'name="version" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
            "csrftoken": csrf_of(page),
        },
    )
    assert stale.status_code == 422
    assert site.tracker.head() == head


def test_a_sponsor_records_a_sign_off_on_their_project(site: Site) -> None:
    project_id = site.first_project()
    client = site.as_user(SPONSOR)
    answer = post_form(
        client,
        f"/projects/{project_id}/sign-off",
        {"title": "Phase one signed off", "occurred_on": date.today().isoformat()},
    )
    assert "Sign-off recorded" in _follow(client, answer)
    last = site.tracker.history(project_id)[-1]
    assert (last.event_type, last.actor.user_id) == ("MilestoneLogged", SPONSOR)
    assert site.as_user(STRANGER).get(f"/projects/{project_id}/sign-off").status_code == 403


def test_a_form_whose_token_expired_gets_a_page_not_json(site: Site) -> None:
    client = site.as_user(FELLOW)
    answer = client.post(
        f"/projects/{site.first_project()}/milestone",
        data={"title": "x", "csrftoken": "forged"},
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "Your form had expired" in answer.text


def test_signing_in_needs_the_sign_in_pages_token(site: Site) -> None:
    client = site.anonymous()  # another site's form: no csrftoken cookie, no token
    answer = client.post("/sign-in", data={"user_id": FELLOW, "password": "impact-demo-2020"})
    assert answer.status_code == 403
    assert "impact_session" not in client.cookies


def test_search_pages_keep_awkward_search_text_intact(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/projects", params={"q": "a"}).text
    assert "q=a&amp;page=2" in page or "Page 2" not in page
    odd = site.as_user(EVALUATOR).get("/projects", params={"q": "&#%"}).text
    assert "q=%26%23%25" in odd or "0 projects found" in odd


def test_a_sponsor_filters_search_by_their_own_organisations_only(site: Site) -> None:
    page = site.as_user(SPONSOR).get("/projects").text
    options = re.search(r'id="organisation_id".*?</select>', page, re.S)
    assert options
    offered = set(re.findall(r'<option value="([0-9a-f-]{36})"', options.group(0)))
    user = site.identity.get_user(SPONSOR)
    assert user
    assert offered == {str(o) for o in user.organisation_ids}


def test_searching_by_organisation_finds_projects_it_adopted_or_partners_in(site: Site) -> None:
    adopted = next(p for p in site.demo.projects if site.tracker.project(p).adoptions)
    adopter = site.tracker.project(adopted).adoptions[0].organisation_id
    page = site.as_user(EVALUATOR).get(f"/projects?organisation_id={adopter}", headers=HTMX)
    assert str(adopted) in page.text


def test_a_closed_project_offers_no_changes(site: Site) -> None:
    closed = next(p for p in site.demo.projects if site.tracker.project(p).status.value == "closed")
    lead = site.tracker.project(closed).lead_fellow_id
    member = (
        next(u for u in site.identity.list_users() if u.fellow_id == lead)
        if any(u.fellow_id == lead for u in site.identity.list_users())
        else None
    )
    page = site.as_user(EVALUATOR).get(f"/projects/{closed}").text
    assert 'id="actions"' not in page
    assert "/correct?" not in page
    if member is not None:
        assert "/correct?" not in site.as_user(member.user_id).get(f"/projects/{closed}").text


def test_production_never_advertises_the_demo_accounts(site: Site) -> None:
    from types import SimpleNamespace

    from interfaces.web.routers.account import _demo_accounts

    services = site.app_services()
    assert _demo_accounts(services)
    production = SimpleNamespace(
        settings=services.settings.model_copy(update={"environment": "production"}),
        identity=services.identity,
    )
    assert _demo_accounts(production) == []  # type: ignore[arg-type]


def test_each_measure_on_the_project_page_shows_its_spc_chart_and_icons(site: Site) -> None:
    project_id = site.first_project()
    project = site.tracker.project(project_id)
    page = site.as_user(EVALUATOR).get(f"/projects/{project_id}").text
    measured = {m.measure_id for m in project.measurements if not m.retracted}
    for measure_id in measured:
        spec = re.search(
            rf'<script type="application/json" id="spec-{measure_id}">(.*?)</script>', page, re.S
        )
        assert spec, f"no chart for measure {measure_id}"
        assert '"layer"' in spec.group(1)
    assert "/assets/vega-embed/vega-embed.min.js" in page


def test_a_fellow_can_choose_teammates_from_their_cohort(site: Site) -> None:
    page = site.as_user(FELLOW).get("/projects/new").text
    team = re.search(r'id="team_fellow_ids-options".*?</fieldset>', page, re.S)
    assert team, "no team choices on the proposal form"
    assert len(re.findall(r'name="team_fellow_ids"', team.group(0))) >= 10


def test_a_long_timeline_shows_the_newest_events_first(site: Site) -> None:
    from domain import commands as c
    from domain.values import Actor, ImprovementDirection, Role

    project_id = site.first_project()
    lead = Actor(user_id=FELLOW, role=Role.FELLOW)
    today = date.today()
    measure_id = site.tracker.define_measure(
        lead,
        project_id,
        c.DefineMeasure(
            occurred_on=today,
            name="Long series",
            unit="per month",
            direction=ImprovementDirection.DOWN,
        ),
    ).entity_id
    assert measure_id is not None
    # A paste is one event, so the values are recorded one at a time: enough events for more
    # than one page of 500.
    for k in range(510):
        site.tracker.record_measurement(
            lead,
            project_id,
            c.RecordMeasurement(
                occurred_on=today,
                measure_id=measure_id,
                period=date(today.year - 50 + k // 12, 1 + k % 12, 1),
                value=10 + k % 5,
            ),
        )
    last = site.tracker.log_milestone(
        lead, project_id, c.LogMilestone(occurred_on=today, title="The newest thing")
    )
    page = site.as_user(EVALUATOR).get(f"/projects/{project_id}?after={last.notification_id}")
    latest = re.search(r'id="latest-events">(.*?)</ol>', page.text, re.S)
    assert latest
    assert "Milestone: The newest thing" in latest.group(1)
    assert "events before these are in the" in page.text
