"""Organisation impact pages: the list by sector, an organisation's timeline, a project's spread."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import Engine

from interfaces.http.services import Services
from read_models.queries.common import AsAt, Axis
from read_models.queries.organisations import (
    AdoptionSpread,
    OrganisationImpact,
    adoption_by_sector,
    adoption_spread,
    list_organisations,
    organisation_impact,
)
from tests.interfaces.web.site import EVALUATOR, OUTSIDER, SPONSOR, STRANGER, Site

HTMX = {"HX-Request": "true"}


def views(site: Site) -> Engine:
    """The app's read models, to compare each page with the query it shows."""
    services: Services = cast("FastAPI", site.app).state.services
    return services.read_side.engine


def chart_spec(page_html: str, spec_id: str) -> dict[str, Any]:
    """The Vega-Lite spec a page carries in its JSON data block."""
    found = re.search(rf'<script type="application/json" id="{spec_id}">(.*?)</script>', page_html)
    assert found, f"no chart spec {spec_id}"
    spec: dict[str, Any] = json.loads(found.group(1))
    return spec


def section(page_html: str, element_id: str) -> str:
    """The HTML of a table (by id) up to its end."""
    start = page_html.index(f'id="{element_id}"')
    return page_html[start : page_html.index("</table>", start)]


def leading_organisation(site: Site) -> OrganisationImpact:
    """A demo organisation that leads projects and started its involvements on several dates."""
    for organisation_id in site.demo.organisations:
        impact = organisation_impact(views(site), organisation_id)
        assert impact is not None
        starts = {r.from_on for r in (*impact.leads, *impact.partners_in, *impact.pilots)}
        if impact.leads and len(starts) > 1:
            return impact
    raise AssertionError("no demo organisation leads a project")


def widely_adopted(site: Site) -> AdoptionSpread:
    """A demo project adopted by several organisations."""
    for project_id in site.demo.projects:
        spread = adoption_spread(views(site), project_id)
        if spread is not None and len(spread.adoptions) > 2:
            return spread
    raise AssertionError("no demo project was adopted by several organisations")


def test_the_list_shows_every_demo_organisation_with_its_sector(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/organisations")
    assert page.status_code == 200
    assert "25 organisations" in page.text
    assert len(site.demo.organisations) == 25
    for organisation_id in site.demo.organisations:
        organisation = site.tracker.organisation(organisation_id)
        assert escape(organisation.name) in page.text
        assert f'href="/organisations/{organisation_id}"' in page.text


def test_filtering_by_sector_narrows_the_list_to_that_sector(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    acute = {o.name for o in list_organisations(views(site), sector="acute").items}
    others = {o.name for o in list_organisations(views(site)).items} - acute
    assert acute
    assert others

    page = client.get("/organisations", params={"sector": "acute"})
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Spread across sectors" in page.text
    table = section(page.text, "organisation-table")
    assert all(escape(name) in table for name in acute)
    assert not any(escape(name) in table for name in others)
    assert f"{len(acute)} organisation" in page.text


def test_htmx_filtering_by_sector_gets_only_the_table(site: Site) -> None:
    fragment = site.as_user(EVALUATOR).get("/organisations?sector=acute", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="organisations"')
    assert "<html" not in fragment.text
    assert "Spread across sectors" not in fragment.text
    acute = list_organisations(views(site), sector="acute").items
    assert all(escape(o.name) in fragment.text for o in acute)
    assert "HX-Request" in fragment.headers["Vary"]


def test_an_unknown_sector_is_refused_and_the_whole_list_shown(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/organisations?sector=bakery")
    assert page.status_code == 200
    assert "Choose a sector from the list" in page.text
    assert "25 organisations" in page.text


def test_the_sector_summary_counts_organisations_that_adopted_a_project(site: Site) -> None:
    page = site.as_user(EVALUATOR).get("/organisations")
    reach = adoption_by_sector(views(site))
    assert sum(r.organisations for r in reach) == 25
    adopters: dict[str, set[UUID]] = {}
    for project_id in site.demo.projects:
        spread = adoption_spread(views(site), project_id)
        assert spread is not None
        for a in spread.adoptions:
            adopters.setdefault(a.sector, set()).add(a.organisation_id)
    assert {r.sector: r.adopters for r in reach if r.adopters} == {
        sector: len(ids) for sector, ids in adopters.items()
    }
    table = section(page.text, "sector-spread")
    rows = re.findall(r'<tr class="nhsuk-table__row">(.*?)</tr>', table, re.S)
    cells = [re.findall(r">([^<>]+)</td>", row) for row in rows]
    assert [(int(c[1]), int(c[2])) for c in cells] == [(r.organisations, r.adopters) for r in reach]
    spec = chart_spec(page.text, "sector-spread-spec")
    adopted = [v["count"] for v in spec["data"]["values"] if v["measure"] == "Adopted a project"]
    assert adopted == [r.adopters for r in reach]


def test_an_organisations_page_shows_the_projects_it_leads(site: Site) -> None:
    impact = leading_organisation(site)
    organisation_id = impact.organisation.organisation_id
    page = site.as_user(EVALUATOR).get(f"/organisations/{organisation_id}")
    assert page.status_code == 200
    assert escape(impact.organisation.name) in page.text
    leads = section(page.text, "leads")
    for row in impact.leads:
        assert escape(row.project_title) in leads
        assert f'href="/projects/{row.project_id}"' in leads
    for row in impact.adopted:
        assert f'href="/projects/{row.project_id}/spread"' in page.text
    timeline = page.text[page.text.index('id="impact-timeline"') :]
    involvements = [*impact.leads, *impact.partners_in, *impact.pilots, *impact.adopted]
    assert timeline.count("impact-timeline__entry ") == len(involvements)


def test_as_at_an_early_date_shows_fewer_involvements(site: Site) -> None:
    impact = leading_organisation(site)
    organisation_id = impact.organisation.organisation_id
    rows = [*impact.leads, *impact.partners_in, *impact.pilots, *impact.adopted]
    early = min(r.from_on for r in rows)
    then = organisation_impact(
        views(site), organisation_id, AsAt(axis=Axis.EFFECTIVE, moment=early)
    )
    assert then is not None
    count_then = len([*then.leads, *then.partners_in, *then.pilots, *then.adopted])
    assert 0 < count_then < len(rows)

    page = site.as_user(EVALUATOR).get(
        f"/organisations/{organisation_id}", params={"at": early.isoformat(), "axis": "effective"}
    )
    assert page.status_code == 200
    assert "<html" in page.text
    assert "as they were in effect on" in page.text
    assert page.text.count("impact-timeline__entry ") == count_then


def test_htmx_as_at_gets_only_the_impact_section(site: Site) -> None:
    impact = leading_organisation(site)
    organisation_id = impact.organisation.organisation_id
    before = min(r.from_on for r in [*impact.leads, *impact.partners_in, *impact.pilots])
    fragment = site.as_user(EVALUATOR).get(
        f"/organisations/{organisation_id}",
        params={"at": (before - timedelta(days=1)).isoformat(), "axis": "effective"},
        headers=HTMX,
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="impact"')
    assert "<html" not in fragment.text
    assert "No involvement in any project at that date" in fragment.text


def test_as_recorded_before_the_demo_was_loaded_the_organisation_had_no_involvements(
    site: Site,
) -> None:
    impact = leading_organisation(site)
    page = site.as_user(EVALUATOR).get(
        f"/organisations/{impact.organisation.organisation_id}",
        params={"at": (date.today() - timedelta(days=2)).isoformat(), "axis": "recorded"},
    )
    assert page.status_code == 200
    assert "as recorded by the end of" in page.text
    assert "No involvement in any project at that date" in page.text


def test_an_impossible_as_at_date_is_explained_and_today_is_shown(site: Site) -> None:
    impact = leading_organisation(site)
    page = site.as_user(EVALUATOR).get(
        f"/organisations/{impact.organisation.organisation_id}?at=2024-02-30&axis=effective"
    )
    assert page.status_code == 200
    assert "There is a problem" in page.text
    assert "Enter a real date, like 2024-03-31" in page.text
    assert "Its projects now" in page.text


def test_the_spread_page_lists_adopters_in_order_with_organisations_so_far(site: Site) -> None:
    spread = widely_adopted(site)
    page = site.as_user(EVALUATOR).get(f"/projects/{spread.project_id}/spread")
    assert page.status_code == 200
    assert escape(spread.title) in page.text
    table = section(page.text, "adoptions")
    positions = [table.index(escape(a.organisation_name)) for a in spread.adoptions]
    assert positions == sorted(positions)
    rows = re.findall(r'<tr role="row" class="nhsuk-table__row">(.*?)</tr>', table, re.S)
    so_far = [int(re.findall(r"</span>(\d+)</td>", row)[-1]) for row in rows]
    assert so_far == list(range(1, len(spread.adoptions) + 1))
    adopted_on = [a.adopted_on for a in spread.adoptions]
    assert adopted_on == sorted(adopted_on)
    spec = chart_spec(page.text, "adoption-spread-spec")
    assert [v["organisations_so_far"] for v in spec["data"]["values"]] == so_far
    assert [v["adopted_on"] for v in spec["data"]["values"]] == [d.isoformat() for d in adopted_on]


def test_the_spread_page_names_the_sectors_the_project_reached(site: Site) -> None:
    spread = widely_adopted(site)
    page = site.as_user(EVALUATOR).get(f"/projects/{spread.project_id}/spread")
    listed = page.text[page.text.index('id="sectors-reached"') :]
    listed = listed[: listed.index("</ul>")]
    assert listed.count("<li>") == len(spread.sectors_reached)
    assert f"Adopted by {len(spread.adoptions)} organisations" in page.text


def test_a_fellow_can_read_organisations_and_spreads(site: Site) -> None:
    client = site.as_user(OUTSIDER)
    assert client.get("/organisations").status_code == 200
    assert client.get(f"/organisations/{site.demo.organisations[1]}").status_code == 200
    assert client.get(f"/projects/{widely_adopted(site).project_id}/spread").status_code == 200


def test_a_sponsor_sees_only_their_own_organisations(site: Site) -> None:
    mine = site.demo.organisations[0]
    page = site.as_user(SPONSOR).get("/organisations")
    assert page.status_code == 200
    assert "1 organisation" in page.text
    table = section(page.text, "organisation-table")
    assert escape(site.tracker.organisation(mine).name) in table
    assert table.count('href="/organisations/') == 1


def test_a_sponsor_is_refused_another_organisations_page(site: Site) -> None:
    client = site.as_user(SPONSOR)
    assert client.get(f"/organisations/{site.demo.organisations[0]}").status_code == 200
    refused = client.get(f"/organisations/{site.demo.organisations[1]}")
    assert refused.status_code == 403
    assert "You can see only the organisations you belong to." in refused.text


def test_a_sponsor_is_refused_the_spread_of_a_project_they_cannot_read(site: Site) -> None:
    refused = site.as_user(STRANGER).get(f"/projects/{site.first_project()}/spread")
    assert refused.status_code == 403
    assert site.as_user(SPONSOR).get(f"/projects/{site.first_project()}/spread").status_code == 200


def test_an_unknown_organisation_or_project_is_not_found(site: Site) -> None:
    client = site.as_user(EVALUATOR)
    assert client.get(f"/organisations/{uuid4()}").status_code == 404
    assert client.get(f"/projects/{uuid4()}/spread").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(site: Site) -> None:
    some: UUID = site.demo.organisations[0]
    for path in ("/organisations", f"/organisations/{some}", f"/projects/{some}/spread"):
        answer = site.anonymous().get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/sign-in")


def test_the_spread_of_a_project_nobody_adopted_says_so_without_a_chart(site: Site) -> None:
    unadopted = next(
        p
        for p in site.demo.projects
        if (s := adoption_spread(views(site), p)) is not None and not s.adoptions
    )
    page = site.as_user(EVALUATOR).get(f"/projects/{unadopted}/spread")
    assert page.status_code == 200
    assert "No organisation has adopted it yet." in page.text
    assert "data-chart-spec" not in page.text
