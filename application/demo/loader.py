"""Load the demo programme through the tracker's own commands (so every rule is applied).

Content is deterministic: the same seed gives the same organisations, projects, dates and values
on every run, whatever today's date (every effective date is on or before ``LAST_PERIOD``'s
reporting date).  Ids are fresh UUIDs, as in real use.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from application.demo.catalogue import (
    EMAIL_DOMAIN,
    FIRST_NAMES,
    LAST_NAMES,
    ORGANISATIONS,
    PROGRAMME,
    ROLE_TITLES,
    SYSTEM_NAME,
    SYSTEM_REGION,
    THEMES,
    Theme,
)
from application.tracker import ImpactTracker
from domain import commands as c
from domain.values import Actor, AdoptionScope, ClosureOutcome, Role

SEED = 2020
COHORTS = 5
FELLOWS_PER_COHORT = 36
PROJECTS_PER_COHORT = 8
FIRST_COHORT_STARTS = date(2023, 1, 9)
LAST_PERIOD = date(2026, 9, 1)
BASELINE_MONTHS = 12
ADMIN = Actor(user_id="demo-admin", role=Role.ADMIN)

# What becomes of the project in each slot of a cohort: every cohort reaches every stage.
FATES = ["adopted", "spread", "measured", "measured", "piloted", "proposed", "paused", "closed"]


@dataclass
class DemoSummary:
    """What was loaded, for the CLI to report and tests to check."""

    organisations: list[UUID] = field(default_factory=list)
    cohorts: list[UUID] = field(default_factory=list)
    fellows: list[UUID] = field(default_factory=list)
    projects: list[UUID] = field(default_factory=list)
    events: int = 0


def fellow_actor(number: int) -> Actor:
    """The demo user who acts for fellow number ``number``."""
    return Actor(user_id=f"demo-fellow-{number:03d}", role=Role.FELLOW)


def fellow_details(number: int) -> tuple[str, str]:
    """The fictional name and email of fellow number ``number`` (the same on every run)."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[number % len(LAST_NAMES)]
    return f"{first} {last}", f"{first}.{last}@{EMAIL_DOMAIN}".lower()


def sponsor_user(cohort_index: int) -> str:
    """The demo sponsor user id for a cohort's projects."""
    return f"demo-sponsor-{cohort_index + 1}"


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _capped(day: date) -> date:
    """Keep a planned date within the demo's history (it ends after ``LAST_PERIOD``)."""
    return min(day, LAST_PERIOD + timedelta(days=25))


def planned_steps() -> int:
    """How many commands the loader will send (for a progress bar's total)."""
    return 1 + len(ORGANISATIONS) + COHORTS * (1 + FELLOWS_PER_COHORT + PROJECTS_PER_COHORT)


def load_demo(tracker: ImpactTracker, advance: Callable[[int], None] | None = None) -> DemoSummary:
    """Record the whole demo programme; ``advance`` is told of progress (for a bar)."""
    step = advance or (lambda _n: None)
    rng = random.Random(SEED)
    summary = DemoSummary()
    opened = date(2022, 11, 1)
    system_id = tracker.register_system(
        ADMIN, c.RegisterSystem(occurred_on=opened, name=SYSTEM_NAME, region=SYSTEM_REGION)
    ).aggregate_id
    step(1)
    for name, sector, ods in ORGANISATIONS:
        summary.organisations.append(
            tracker.register_organisation(
                ADMIN,
                c.RegisterOrganisation(
                    occurred_on=opened, name=name, sector=sector, system_id=system_id, ods_code=ods
                ),
            ).aggregate_id
        )
        step(1)
    for k in range(COHORTS):
        starts = FIRST_COHORT_STARTS + timedelta(weeks=26 * k)
        cohort_id = tracker.start_cohort(
            ADMIN,
            c.StartCohort(
                occurred_on=starts - timedelta(days=30),
                programme=PROGRAMME,
                system_id=system_id,
                number=k + 1,
                starts_on=starts,
                ends_on=starts + timedelta(weeks=26),
            ),
        ).aggregate_id
        summary.cohorts.append(cohort_id)
        step(1)
        cohort_fellows: list[tuple[int, UUID, UUID]] = []
        for n in range(FELLOWS_PER_COHORT):
            number = k * FELLOWS_PER_COHORT + n + 1
            organisation_id = summary.organisations[(n * 7 + k) % len(summary.organisations)]
            name, email = fellow_details(number)
            fellow_id = tracker.enrol_fellow(
                ADMIN,
                c.EnrolFellow(
                    occurred_on=starts,
                    cohort_id=cohort_id,
                    organisation_id=organisation_id,
                    role_title=ROLE_TITLES[(n + k) % len(ROLE_TITLES)],
                    name=name,
                    email=email,
                ),
            ).aggregate_id
            summary.fellows.append(fellow_id)
            cohort_fellows.append((number, fellow_id, organisation_id))
            step(1)
        for s in range(PROJECTS_PER_COHORT):
            team = cohort_fellows[s * 4 : (s * 4) + 4]
            builder = _ProjectBuilder(
                tracker,
                rng,
                summary,
                cohort=k,
                slot=s,
                cohort_starts=starts,
                cohort_id=cohort_id,
                team=team,
            )
            summary.projects.append(builder.build())
            step(1)
    summary.events = tracker.head()
    return summary


class _ProjectBuilder:
    """Plays one project's life through the tracker, according to its fate."""

    def __init__(
        self,
        tracker: ImpactTracker,
        rng: random.Random,
        summary: DemoSummary,
        *,
        cohort: int,
        slot: int,
        cohort_starts: date,
        cohort_id: UUID,
        team: list[tuple[int, UUID, UUID]],
    ) -> None:
        self.t = tracker
        self.rng = rng
        self.summary = summary
        self.cohort = cohort
        self.slot = slot
        self.fate = FATES[slot]
        self.theme: Theme = THEMES[(cohort * 3 + slot) % len(THEMES)]
        self.proposed_on = cohort_starts + timedelta(days=21 + slot)
        self.pilot_on = add_months(self.proposed_on, 3) + timedelta(days=slot)
        self.cohort_id = cohort_id
        self.team = team
        self.actor = fellow_actor(team[0][0])
        self.project_id: UUID | None = None

    def build(self) -> UUID:
        _, lead_fellow, lead_org = self.team[0]
        # In catalogue order (not by random id), so the same seed picks the same organisations.
        partners = [o for o in dict.fromkeys(org for _, _, org in self.team[1:]) if o != lead_org]
        title = (
            self.theme.title
            if self.cohort == 0
            else f"{self.theme.title} (cohort {self.cohort + 1})"
        )
        result = self.t.propose_project(
            self.actor,
            c.ProposeProject(
                occurred_on=self.proposed_on,
                title=title,
                problem=self.theme.problem,
                intended_outcomes=[
                    self.theme.outcome,
                    "Learning shared across partner organisations.",
                ],
                cohort_id=self.cohort_id,
                lead_fellow_id=lead_fellow,
                team_fellow_ids=[f for _, f, _ in self.team[1:]],
                lead_organisation_id=lead_org,
                partner_organisation_ids=partners,
                sponsor_id=sponsor_user(self.cohort),
            ),
        )
        self.project_id = pid = result.aggregate_id
        measure_id = self.t.define_measure(
            self.actor,
            pid,
            c.DefineMeasure(
                occurred_on=self.proposed_on,
                name=self.theme.measure,
                unit=self.theme.unit,
                direction=self.theme.direction,
                target=self.theme.target,
            ),
        ).entity_id
        assert measure_id is not None
        baseline_from = add_months(self.pilot_on, -BASELINE_MONTHS)
        if self.fate == "proposed":
            self._measure(measure_id, baseline_from, add_months(self.proposed_on, -1), shift=False)
            return pid
        self.t.start_pilot(
            self.actor,
            pid,
            c.StartPilot(
                occurred_on=self.pilot_on,
                sites=[self.theme.site],
                scope=f"Pilot of the new pathway at {self.theme.site.lower()}.",
            ),
        )
        if self.fate == "piloted":
            return pid
        last = {
            "paused": add_months(self.pilot_on, 6),
            "closed": add_months(self.pilot_on, 5),
        }.get(self.fate, LAST_PERIOD)
        ids = self._measure(measure_id, baseline_from, last, shift=self.fate != "closed")
        self._correct_and_retract(ids)
        self.t.log_milestone(
            self.actor,
            pid,
            c.LogMilestone(
                occurred_on=add_months(self.pilot_on, 2),
                title="Pilot review at partnership board",
                description="Early results presented to the partnership board.",
            ),
        )
        if self.fate in {"adopted", "spread"}:
            self._adopt(partners)
        elif self.fate == "paused":
            self.t.pause_project(
                self.actor,
                pid,
                c.PauseProject(
                    occurred_on=add_months(last, 1) + timedelta(days=14),
                    reason="Lead fellow seconded to winter pressures work.",
                ),
            )
        elif self.fate == "closed":
            self.t.close_project(
                self.actor,
                pid,
                c.CloseProject(
                    occurred_on=add_months(last, 1) + timedelta(days=20),
                    outcome=ClosureOutcome.STOPPED,
                    summary="Stopped: the pilot site's service was recommissioned.",
                ),
            )
        return pid

    def _measure(self, measure_id: UUID, first: date, last: date, *, shift: bool) -> list[UUID]:
        """Monthly values from ``first`` to ``last``; a real shift a few months into the pilot."""
        assert self.project_id is not None
        ids = []
        effect_from = add_months(self.pilot_on, 2)
        period = first
        while period <= last:
            value = self.theme.baseline + self.rng.gauss(0, self.theme.noise)
            if shift and period >= effect_from:
                value += self.theme.effect * (0.6 if self.fate == "measured" else 1.0)
            reported = max(add_months(period, 1) + timedelta(days=9), self.proposed_on)
            result = self.t.record_measurement(
                self.actor,
                self.project_id,
                c.RecordMeasurement(
                    occurred_on=reported,
                    measure_id=measure_id,
                    period=period,
                    value=round(value, 1),
                ),
            )
            assert result.entity_id is not None
            ids.append(result.entity_id)
            period = add_months(period, 1)
        return ids

    def _correct_and_retract(self, ids: list[UUID]) -> None:
        assert self.project_id is not None
        if len(ids) < 20 or self.slot % 2:
            return
        on = LAST_PERIOD + timedelta(days=20)
        wrong = ids[len(ids) // 2]
        current = self.t.project(self.project_id).measurements
        value = next(m.value for m in current if m.measurement_id == wrong)
        self.t.correct_measurement(
            self.actor,
            self.project_id,
            c.CorrectMeasurement(
                occurred_on=on,
                measurement_id=wrong,
                value=round(value * 1.02, 1),
                reason="Month-end data refresh changed the figure.",
            ),
        )
        self.t.retract_measurement(
            self.actor,
            self.project_id,
            c.RetractMeasurement(
                occurred_on=on,
                measurement_id=ids[3],
                reason="Recorded against the wrong month; the source extract was incomplete.",
            ),
        )

    def _adopt(self, partners: list[UUID]) -> None:
        assert self.project_id is not None
        pool = [o for o in self.summary.organisations if o not in partners]
        count = 2 if self.fate == "adopted" else 5
        adopters = [*partners[:1], *self.rng.sample(pool, count)]
        for n, organisation_id in enumerate(dict.fromkeys(adopters)):
            scope = (
                AdoptionScope.BUSINESS_AS_USUAL
                if n == 0
                else (AdoptionScope.SPREAD if self.fate == "spread" else AdoptionScope.PARTIAL)
            )
            self.t.record_adoption(
                self.actor,
                self.project_id,
                c.RecordAdoption(
                    occurred_on=_capped(add_months(self.pilot_on, 9 + 3 * n)),
                    organisation_id=organisation_id,
                    scope=scope,
                ),
            )
        self.t.log_milestone(
            Actor(user_id=sponsor_user(self.cohort), role=Role.SPONSOR),
            self.project_id,
            c.LogMilestone(
                occurred_on=_capped(add_months(self.pilot_on, 10)),
                title="Sponsor sign-off",
                is_sign_off=True,
                description="Sponsor signed off the business case for adoption.",
            ),
        )
