"""Project pages: search, propose, a project's page and its command forms."""

from __future__ import annotations

from tests.interfaces.web.site import FELLOW, Site


def test_a_fellow_sees_their_projects_on_their_start_page(site: Site) -> None:
    page = site.as_user(FELLOW).get("/")
    assert page.status_code == 200
    assert "My projects" in page.text
    title = site.tracker.project(site.first_project()).title
    assert title in page.text
