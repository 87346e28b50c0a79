"""A national-scale store, generated deterministically through the domain's own rules.

Every integrated care system for ten years: 30 systems, 300 cohorts, 1,000 organisations and
``projects`` projects of about 100 events each (so 10,000 projects is about 1,000,000 events).
Aggregates are built with their command methods (every rule applies) and saved in batches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from uuid import UUID, uuid4

from application.tracker import ImpactTracker
from domain import commands as c
from domain.organisation import Organisation
from domain.programme import Cohort, Fellow, HealthSystem
from domain.project import Project
from domain.values import (
    Actor,
    AdoptionScope,
    ClosureOutcome,
    ImprovementDirection,
    Role,
    Sector,
)

SYSTEMS = 30
YEARS = 10
ORGANISATIONS = 1000
FIRST_YEAR = 2016
LAST_PERIOD = date(2026, 9, 1)
ADMIN = Actor(user_id="bench-admin", role=Role.ADMIN)
SECTORS = list(Sector)


def _month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def generate(
    tracker: ImpactTracker,
    projects: int,
    *,
    seed: int = 1,
    batch: int = 25,
    stages_only: bool = False,
    advance: Callable[[int], None] | None = None,
) -> int:
    """Record the national programme with ``projects`` projects; return events recorded.

    With ``stages_only`` each project records only what moves it through its stages (the same
    random draws, so the same projects, pilots, adoptions and closures on the same dates, and
    the first value of each measure) and none of the monthly series, corrections, retractions
    or milestones: the same portfolio at every date, from a log about ten times shorter.
    """
    rng = random.Random(seed)
    opened = date(FIRST_YEAR - 1, 6, 1)
    systems = [
        HealthSystem.register(c.RegisterSystem(occurred_on=opened, name=f"ICS {n:02d}"), ADMIN)
        for n in range(SYSTEMS)
    ]
    orgs = [
        Organisation.register(
            c.RegisterOrganisation(
                occurred_on=opened,
                name=f"Organisation {n:04d}",
                sector=SECTORS[n % len(SECTORS)],
                system_id=systems[n % SYSTEMS].id,
            ),
            ADMIN,
        )
        for n in range(ORGANISATIONS)
    ]
    cohorts = []
    for year in range(YEARS):
        for system in systems:
            starts = date(FIRST_YEAR + year, 1 + (system.version % 2) * 6, 1)
            cohorts.append(
                Cohort.start(
                    c.StartCohort(
                        occurred_on=min(starts, date(FIRST_YEAR + year, 1, 1)),
                        programme="20/20",
                        system_id=system.id,
                        number=year + 1,
                        starts_on=starts,
                        ends_on=starts + timedelta(weeks=26),
                    ),
                    ADMIN,
                )
            )
    tracker.save(*systems, *orgs)
    tracker.save(*cohorts)
    by_system: dict[UUID, list[Organisation]] = {}
    for org in orgs:
        assert org.system_id is not None
        by_system.setdefault(org.system_id, []).append(org)
    pending: list[Project | Fellow] = []
    for n in range(projects):
        cohort = cohorts[n % len(cohorts)]
        assert cohort.system_id is not None
        local = by_system[cohort.system_id]
        lead_org = local[n % len(local)]
        # Built straight from the domain for speed: with no sealed details (as if enrolled
        # before names were recorded), so no person keys are needed.
        fellow = Fellow.enrol(
            ADMIN,
            fellow_id=uuid4(),
            occurred_on=cohort.starts_on,
            cohort_id=cohort.id,
            organisation_id=lead_org.id,
            role_title="Fellow",
            sealed_name=None,
            sealed_email=None,
        )
        project = _project(
            rng, cohort, fellow, lead_org, local=local, everyone=orgs, stages_only=stages_only
        )
        pending += [fellow, project]
        if len(pending) >= 2 * batch:
            tracker.save(*pending)
            if advance:
                advance(len(pending) // 2)
            pending = []
    if pending:
        tracker.save(*pending)
        if advance:
            advance(len(pending) // 2)
    return tracker.head()


def _project(
    rng: random.Random,
    cohort: Cohort,
    fellow: Fellow,
    lead: Organisation,
    *,
    local: list[Organisation],
    everyone: list[Organisation],
    stages_only: bool,
) -> Project:
    actor = Actor(user_id=f"bench-fellow-{fellow.id.hex[:8]}", role=Role.FELLOW)
    proposed = cohort.starts_on + timedelta(days=rng.randint(14, 60))
    partners = [o.id for o in rng.sample(local, 3) if o.id != lead.id]
    project = Project.propose(
        c.ProposeProject(
            occurred_on=proposed,
            title=f"Project {fellow.id.hex[:6]}",
            problem="Generated.",
            intended_outcomes=["Better outcomes."],
            cohort_id=cohort.id,
            lead_fellow_id=fellow.id,
            lead_organisation_id=lead.id,
            partner_organisation_ids=partners,
            sponsor_id=f"bench-sponsor-{cohort.number}",
        ),
        actor,
    )
    pilot = _month(proposed, 3)
    measures = [
        project.define_measure(
            c.DefineMeasure(
                occurred_on=proposed,
                name=f"Measure {k}",
                unit="%",
                direction=ImprovementDirection.DOWN,
                target=50.0,
            ),
            actor,
        )
        for k in range(2)
    ]
    fate = rng.random()
    if fate > 0.1 and pilot <= LAST_PERIOD:
        project.start_pilot(c.StartPilot(occurred_on=pilot, sites=["Site"], scope="Pilot."), actor)
    last = min(_month(pilot, rng.randint(12, 44)), LAST_PERIOD)
    recorded: list[UUID | None] = []
    period = _month(pilot, -12)
    while period <= last:
        on = max(_month(period, 1) + timedelta(days=9), proposed)
        for measure_id in measures:
            shift = -8.0 if project.pilots and period >= _month(pilot, 2) else 0.0
            value = round(60 + shift + rng.gauss(0, 3), 1)  # drawn either way: same sequence
            if stages_only and len(recorded) >= len(measures):  # each first value only
                recorded.append(None)
                continue
            recorded.append(
                project.record_measurement(
                    c.RecordMeasurement(
                        occurred_on=on, measure_id=measure_id, period=period, value=value
                    ),
                    actor,
                )
            )
        period = _month(period, 1)
    changed_on = min(_month(last, 1) + timedelta(days=15), LAST_PERIOD + timedelta(days=40))
    corrected = rng.sample(recorded, min(2, len(recorded)))
    if not stages_only:
        for measurement_id in corrected:
            assert measurement_id is not None
            project.correct_measurement(
                c.CorrectMeasurement(
                    occurred_on=changed_on,
                    measurement_id=measurement_id,
                    value=55.0,
                    reason="Refreshed extract.",
                ),
                actor,
            )
        if recorded and recorded[-1] is not None:
            project.retract_measurement(
                c.RetractMeasurement(
                    occurred_on=changed_on, measurement_id=recorded[-1], reason="Incomplete month."
                ),
                actor,
            )
        project.log_milestone(c.LogMilestone(occurred_on=changed_on, title="Board paper"), actor)
    if project.pilots and fate > 0.5:
        for k, org in enumerate(rng.sample(everyone, rng.randint(1, 4))):
            if org.id not in project.adoptions:
                project.record_adoption(
                    c.RecordAdoption(
                        occurred_on=changed_on + timedelta(days=k),
                        organisation_id=org.id,
                        scope=AdoptionScope.SPREAD,
                    ),
                    actor,
                )
    if fate < 0.05:
        project.close(
            c.CloseProject(
                occurred_on=changed_on + timedelta(days=10),
                outcome=ClosureOutcome.STOPPED,
                summary="Stopped.",
            ),
            actor,
        )
    return project
