"""Brute force: answer as-at questions by replaying the stored events up to the date.

Slow on purpose and independent of the views' SQL: what the views answer must equal this.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from uuid import UUID

from application.tracker import ImpactTracker
from domain import project_events as ev
from domain.events import DomainEvent
from domain.project import Project
from domain.stages import derive_stage
from domain.values import Stage


def project_events(tracker: ImpactTracker) -> dict[UUID, list[DomainEvent]]:
    """Every project's events, in version order."""
    found: dict[UUID, list[DomainEvent]] = {}
    for project_id, _ in tracker.proposed_projects(limit=100_000):
        found[project_id] = list(tracker.events.get(project_id))  # type: ignore[arg-type]
    return found


def stage_recorded_by(events: list[DomainEvent], cutoff: datetime) -> Stage | None:
    """The stage of a replay of the events recorded by ``cutoff``."""
    replayed: Project | None = None
    for event in events:
        if event.timestamp <= cutoff:
            replayed = event.mutate(replayed)
    return replayed.stage if replayed else None


def stage_effective_on(events: list[DomainEvent], day: date) -> Stage | None:
    """The stage implied by the events in effect on ``day`` (effective order)."""
    in_effect = sorted(
        (e for e in events if e.occurred_on <= day),
        key=lambda e: (e.occurred_on, e.originator_version),
    )
    if not in_effect or not isinstance(in_effect[0], ev.ProjectProposed):
        return None
    pilots = adoptions = 0
    current: set[UUID] = set()
    for e in in_effect:
        if isinstance(e, ev.PilotStarted):
            pilots += 1
        elif isinstance(e, ev.ProjectAdopted):
            adoptions += 1
        elif isinstance(e, ev.MeasurementRecorded):
            current.add(e.measurement_id)
        elif isinstance(e, ev.MeasurementsPasted):
            current.update(v.measurement_id for v in e.values)
        elif isinstance(e, ev.MeasurementRetracted):
            current.discard(e.measurement_id)
    return derive_stage(pilots=pilots, current_measurements=len(current), adoptions=adoptions)


def stage_totals(stages: list[Stage | None]) -> dict[Stage, int]:
    """Counts per stage, every stage present."""
    counts = Counter(s for s in stages if s is not None)
    return {s: counts.get(s, 0) for s in Stage}


def involvements_effective_on(
    events: dict[UUID, list[DomainEvent]], day: date
) -> dict[tuple[str, UUID], set[UUID]]:
    """(role, organisation) -> projects, for lead, partner and adopter roles on ``day``."""
    found: dict[tuple[str, UUID], set[UUID]] = {}

    def add(role: str, organisation: UUID, project: UUID) -> None:
        found.setdefault((role, organisation), set()).add(project)

    for project_id, stream in events.items():
        in_effect = sorted(
            (e for e in stream if e.occurred_on <= day),
            key=lambda e: (e.occurred_on, e.originator_version),
        )
        partners: set[UUID] = set()
        for e in in_effect:
            if isinstance(e, ev.ProjectProposed):
                add("lead", e.lead_organisation_id, project_id)
                partners |= set(e.partner_organisation_ids)
            elif isinstance(e, ev.OrganisationJoined):
                partners.add(e.organisation_id)
            elif isinstance(e, ev.OrganisationLeft):
                partners.discard(e.organisation_id)
            elif isinstance(e, ev.ProjectAdopted):
                add("adopter", e.organisation_id, project_id)
        for organisation in partners:
            add("partner", organisation, project_id)
    return found


def impact_sets(impact: Any) -> dict[tuple[str, UUID], set[UUID]]:
    """The same shape from an ``OrganisationImpact`` answer."""
    found: dict[tuple[str, UUID], set[UUID]] = {}
    organisation = impact.organisation.organisation_id
    for role, rows in (
        ("lead", impact.leads),
        ("partner", impact.partners_in),
        ("adopter", impact.adopted),
    ):
        if rows:
            found[(role, organisation)] = {r.project_id for r in rows}
    return found
