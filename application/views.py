"""Turn aggregates into the plain views that queries return."""

from __future__ import annotations

from application.personal_data import open_details
from application.results import (
    AdoptionView,
    CohortView,
    FellowView,
    MeasurementView,
    MeasureView,
    MilestoneView,
    OrganisationView,
    PilotView,
    ProjectParties,
    ProjectView,
    SystemView,
)
from domain.organisation import Organisation
from domain.programme import Cohort, Fellow, HealthSystem
from domain.project import Project


def project_parties(project: Project) -> ProjectParties:
    """Who is on a project: lead, team, sponsor, organisations (no measurements)."""
    assert project.lead_fellow_id is not None
    assert project.lead_organisation_id is not None
    return ProjectParties(
        project_id=project.id,
        version=project.version,
        lead_fellow_id=project.lead_fellow_id,
        team_fellow_ids=frozenset(project.team_fellow_ids),
        sponsor_id=project.sponsor_id,
        lead_organisation_id=project.lead_organisation_id,
        partner_organisation_ids=frozenset(project.partner_organisation_ids),
    )


def project_view(project: Project) -> ProjectView:
    """A project's state as a plain model, measurements in period order."""
    assert project.cohort_id is not None
    assert project.lead_fellow_id is not None
    assert project.lead_organisation_id is not None
    return ProjectView(
        project_id=project.id,
        version=project.version,
        title=project.title,
        problem=project.problem,
        intended_outcomes=list(project.intended_outcomes),
        cohort_id=project.cohort_id,
        lead_fellow_id=project.lead_fellow_id,
        team_fellow_ids=sorted(project.team_fellow_ids),
        lead_organisation_id=project.lead_organisation_id,
        partner_organisation_ids=sorted(project.partner_organisation_ids),
        sponsor_id=project.sponsor_id,
        proposed_on=project.proposed_on,
        stage=project.stage,
        status=project.status,
        outcome=project.outcome,
        closed_on=project.closed_on,
        pilots=[
            PilotView(sites=list(p.sites), scope=p.scope, started_on=p.started_on)
            for p in project.pilots
        ],
        measures=[
            MeasureView(
                measure_id=m.measure_id,
                name=m.name,
                unit=m.unit,
                direction=m.direction,
                target=m.target,
                frequency=m.frequency,
                defined_on=m.defined_on,
            )
            for m in project.measures.values()
        ],
        measurements=[
            MeasurementView(
                measurement_id=m.measurement_id,
                measure_id=m.measure_id,
                period=m.period,
                value=m.value,
                numerator=m.numerator,
                denominator=m.denominator,
                note=m.note,
                corrections=m.corrections,
                retracted=m.retracted,
            )
            for m in sorted(
                project.measurements.values(), key=lambda m: (m.period, str(m.measure_id))
            )
        ],
        adoptions=[
            AdoptionView(organisation_id=a.organisation_id, scope=a.scope, adopted_on=a.adopted_on)
            for a in project.adoptions.values()
        ],
        milestones=[
            MilestoneView(
                title=m.title,
                description=m.description,
                is_sign_off=m.is_sign_off,
                logged_on=m.logged_on,
            )
            for m in project.milestones
        ],
        created_at=project.created_on,
        modified_at=project.modified_on,
    )


def system_view(system: HealthSystem) -> SystemView:
    """A system as a plain model."""
    return SystemView(
        system_id=system.id, version=system.version, name=system.name, region=system.region
    )


def organisation_view(organisation: Organisation) -> OrganisationView:
    """An organisation as a plain model."""
    assert organisation.system_id
    return OrganisationView(
        organisation_id=organisation.id,
        version=organisation.version,
        name=organisation.name,
        sector=organisation.sector,
        system_id=organisation.system_id,
        ods_code=organisation.ods_code,
    )


def cohort_view(cohort: Cohort) -> CohortView:
    """A cohort as a plain model."""
    assert cohort.system_id
    return CohortView(
        cohort_id=cohort.id,
        version=cohort.version,
        programme=cohort.programme,
        system_id=cohort.system_id,
        number=cohort.number,
        starts_on=cohort.starts_on,
        ends_on=cohort.ends_on,
    )


def fellow_view(fellow: Fellow, key: bytes | None) -> FellowView:
    """A fellow as a plain model, personal details opened with their key (if it still exists)."""
    assert fellow.cohort_id is not None
    assert fellow.organisation_id is not None
    details = open_details(
        fellow.id, key, fellow.sealed_name, fellow.sealed_email, erased=fellow.erased
    )
    return FellowView(
        fellow_id=fellow.id,
        version=fellow.version,
        cohort_id=fellow.cohort_id,
        organisation_id=fellow.organisation_id,
        role_title=fellow.role_title,
        name=details.name,
        email=details.email,
        erased=details.erased,
        erased_on=fellow.erased_on,
    )
