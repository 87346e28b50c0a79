"""The demo programme: every sector and stage, long series, and the same content every time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from uuid import UUID

from application.bootstrap import create_tracker
from application.demo.loader import load_demo
from application.settings import Settings
from application.tracker import ImpactTracker
from domain.values import ProjectStatus, Sector, Stage


def _load(tmp_path: Path, name: str) -> tuple[ImpactTracker, list[UUID]]:
    tracker = create_tracker(Settings(database_url="memory://", data_dir=tmp_path / name))
    summary = load_demo(tracker)
    return tracker, summary.projects


def test_the_demo_covers_every_sector_stage_and_status(tmp_path: Path) -> None:
    tracker, projects = _load(tmp_path, "a")
    views = [tracker.project(p) for p in projects]
    organisations = {
        o for v in views for o in [v.lead_organisation_id, *v.partner_organisation_ids]
    }
    sectors = {tracker.organisation(o).sector for o in organisations}
    adopters = {a.organisation_id for v in views for a in v.adoptions}
    sectors |= {tracker.organisation(o).sector for o in adopters}
    assert sectors == set(Sector)
    assert set(Counter(v.stage for v in views)) == set(Stage)
    assert set(Counter(v.status for v in views)) == set(ProjectStatus)
    assert len(views) == 40


def test_mature_projects_have_at_least_24_monthly_points_and_a_shift(tmp_path: Path) -> None:
    tracker, projects = _load(tmp_path, "a")
    mature = tracker.project(projects[0])
    values = [m.value for m in mature.measurements if not m.retracted]
    pilot = mature.pilots[0].started_on
    before = [m.value for m in mature.measurements if m.period < pilot and not m.retracted]
    after = [m.value for m in mature.measurements if m.period.year >= pilot.year + 1]
    assert len(values) >= 24
    assert sum(after) / len(after) < sum(before) / len(before) - 1.0  # length of stay fell


def test_the_demo_is_the_same_every_time_apart_from_ids(tmp_path: Path) -> None:
    first, first_projects = _load(tmp_path, "a")
    second, second_projects = _load(tmp_path, "b")

    def content(tracker: ImpactTracker, projects: list[UUID]) -> list[tuple[object, ...]]:
        def name(organisation_id: UUID) -> str:
            return tracker.organisation(organisation_id).name

        return [
            (
                v.title,
                v.stage,
                v.status,
                v.proposed_on,
                tuple((m.period, m.value, m.retracted) for m in v.measurements),
                name(v.lead_organisation_id),
                tuple(sorted(name(o) for o in v.partner_organisation_ids)),
                tuple(
                    sorted((name(a.organisation_id), a.adopted_on, a.scope) for a in v.adoptions)
                ),
            )
            for v in (tracker.project(p) for p in projects)
        ]

    assert content(first, first_projects) == content(second, second_projects)
    assert first.head() == second.head()
