"""The cheap parties read that command access checks use agrees with the full project view."""

from __future__ import annotations

from application.demo.loader import load_demo
from application.tracker import ImpactTracker


def test_every_demo_projects_parties_match_its_view(memory_tracker: ImpactTracker) -> None:
    load_demo(memory_tracker)
    projects = [p for p, _ in memory_tracker.proposed_projects(limit=500)]
    assert len(projects) >= 40
    for project_id in projects:
        view = memory_tracker.project(project_id)
        parties = memory_tracker.project_parties(project_id)
        assert (parties.project_id, parties.version) == (view.project_id, view.version)
        assert parties.lead_fellow_id == view.lead_fellow_id
        assert parties.team_fellow_ids == frozenset(view.team_fellow_ids)
        assert parties.sponsor_id == view.sponsor_id
        assert parties.lead_organisation_id == view.lead_organisation_id
        assert parties.partner_organisation_ids == frozenset(view.partner_organisation_ids)
