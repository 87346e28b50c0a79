"""Every business rule of the Project aggregate, without any storage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import RFC_4122, UUID, uuid4

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain import errors
from domain import project_events as ev
from domain.project import Project
from domain.project_parts import Measurement
from domain.values import (
    Actor,
    AdoptionScope,
    ClosureOutcome,
    Frequency,
    ImprovementDirection,
    ProjectStatus,
    Role,
    Stage,
    utc_today,
)

FELLOW = Actor(user_id="fellow-1", role=Role.FELLOW)
PROPOSED = date(2024, 2, 1)
LEAD_ORG = uuid4()
PARTNER = uuid4()


def propose(**changes: object) -> Project:
    fields: dict[str, object] = {
        "occurred_on": PROPOSED,
        "title": "Virtual ward",
        "problem": "Admissions that could be avoided.",
        "intended_outcomes": ["Fewer admissions."],
        "cohort_id": uuid4(),
        "lead_fellow_id": uuid4(),
        "lead_organisation_id": LEAD_ORG,
        "partner_organisation_ids": [PARTNER],
    }
    fields.update(changes)
    return Project.propose(c.ProposeProject.model_validate(fields), FELLOW)


def piloted() -> Project:
    project = propose()
    project.start_pilot(
        c.StartPilot(occurred_on=date(2024, 3, 1), sites=["Ward 1"], scope="s"), FELLOW
    )
    return project


def measure(project: Project, name: str = "Occupancy") -> UUID:
    return project.define_measure(
        c.DefineMeasure(
            occurred_on=date(2024, 3, 1), name=name, unit="%", direction=ImprovementDirection.UP
        ),
        FELLOW,
    )


def record(project: Project, measure_id: UUID, period: date, value: float = 50.0) -> UUID:
    return project.record_measurement(
        c.RecordMeasurement(
            occurred_on=date(2024, 4, 10), measure_id=measure_id, period=period, value=value
        ),
        FELLOW,
    )


def versions(project: Project) -> list[str]:
    return [type(e).__name__ for e in project.collect_events()]


def test_a_proposal_starts_at_the_proposed_stage_with_its_actor_and_date() -> None:
    project = propose()
    (event,) = project.collect_events()
    assert project.stage is Stage.PROPOSED
    assert project.version == 1
    assert event.actor == FELLOW  # type: ignore[attr-defined]
    assert event.occurred_on == PROPOSED  # type: ignore[attr-defined]


def test_stage_moves_from_piloted_to_measured_to_adopted() -> None:
    project = piloted()
    stages = [project.stage]
    measure_id = measure(project)
    stages.append(project.stage)
    record(project, measure_id, date(2024, 3, 1))
    stages.append(project.stage)
    project.record_adoption(
        c.RecordAdoption(
            occurred_on=date(2024, 9, 1), organisation_id=PARTNER, scope=AdoptionScope.SPREAD
        ),
        FELLOW,
    )
    stages.append(project.stage)
    assert stages == [Stage.PILOTED, Stage.PILOTED, Stage.MEASURED, Stage.ADOPTED]


def test_retracting_the_only_measurement_returns_the_stage_to_piloted() -> None:
    project = piloted()
    measurement_id = record(project, measure(project), date(2024, 3, 1))
    project.retract_measurement(
        c.RetractMeasurement(
            occurred_on=date(2024, 4, 11), measurement_id=measurement_id, reason="Wrong ward"
        ),
        FELLOW,
    )
    assert project.stage is Stage.PILOTED


def test_baseline_measurements_before_a_pilot_leave_the_project_proposed() -> None:
    project = propose()
    record(project, measure(project), date(2023, 12, 1))
    assert project.stage is Stage.PROPOSED


def test_measurement_for_an_undefined_measure_is_refused() -> None:
    project = piloted()
    with pytest.raises(errors.MeasureNotDefinedError) as refused:
        record(project, uuid4(), date(2024, 3, 1))
    assert refused.value.field == "measure_id"


def test_a_second_value_for_the_same_period_is_refused() -> None:
    project = piloted()
    measure_id = measure(project)
    record(project, measure_id, date(2024, 3, 1))
    with pytest.raises(errors.DuplicateMeasurementError, match="correct that measurement"):
        record(project, measure_id, date(2024, 3, 1), 51.0)


def test_a_retracted_period_can_be_recorded_again() -> None:
    project = piloted()
    measure_id = measure(project)
    first = record(project, measure_id, date(2024, 3, 1))
    project.retract_measurement(
        c.RetractMeasurement(occurred_on=date(2024, 4, 11), measurement_id=first, reason="r"),
        FELLOW,
    )
    second = record(project, measure_id, date(2024, 3, 1), 52.0)
    assert project.measurements[second].value == 52.0


def test_duplicate_measure_names_are_refused_whatever_their_case() -> None:
    project = piloted()
    measure(project, "Occupancy")
    with pytest.raises(errors.DuplicateMeasureError):
        measure(project, "occupancy")


def test_numerator_without_denominator_is_refused() -> None:
    project = piloted()
    measure_id = measure(project)
    with pytest.raises(errors.InvalidMeasurementError) as refused:
        project.record_measurement(
            c.RecordMeasurement(
                occurred_on=date(2024, 4, 1),
                measure_id=measure_id,
                period=date(2024, 3, 1),
                value=0.5,
                numerator=5,
            ),
            FELLOW,
        )
    assert refused.value.field == "denominator"


def test_correction_keeps_the_original_value_in_the_measurement_history() -> None:
    project = piloted()
    measurement_id = record(project, measure(project), date(2024, 3, 1), 50.0)
    project.correct_measurement(
        c.CorrectMeasurement(
            occurred_on=date(2024, 4, 12),
            measurement_id=measurement_id,
            value=55.0,
            reason="Refreshed extract",
        ),
        FELLOW,
    )
    current = project.measurements[measurement_id]
    assert (current.value, current.history, current.corrections) == (55.0, (50.0,), 1)


def test_correcting_an_unknown_or_retracted_measurement_is_refused() -> None:
    project = piloted()
    measurement_id = record(project, measure(project), date(2024, 3, 1))
    with pytest.raises(errors.MeasurementNotFoundError):
        project.correct_measurement(
            c.CorrectMeasurement(
                occurred_on=date(2024, 4, 12), measurement_id=uuid4(), value=1.0, reason="r"
            ),
            FELLOW,
        )
    project.retract_measurement(
        c.RetractMeasurement(
            occurred_on=date(2024, 4, 12), measurement_id=measurement_id, reason="r"
        ),
        FELLOW,
    )
    with pytest.raises(errors.MeasurementRetractedError):
        project.retract_measurement(
            c.RetractMeasurement(
                occurred_on=date(2024, 4, 12), measurement_id=measurement_id, reason="again"
            ),
            FELLOW,
        )


def test_adoption_before_a_pilot_is_refused() -> None:
    project = propose()
    with pytest.raises(errors.AdoptionBeforePilotError):
        project.record_adoption(
            c.RecordAdoption(
                occurred_on=date(2024, 5, 1),
                organisation_id=PARTNER,
                scope=AdoptionScope.BUSINESS_AS_USUAL,
            ),
            FELLOW,
        )


def test_adoption_dated_before_the_first_pilot_is_refused() -> None:
    project = piloted()
    with pytest.raises(errors.AdoptionBeforePilotError) as refused:
        project.record_adoption(
            c.RecordAdoption(
                occurred_on=date(2024, 2, 15),
                organisation_id=PARTNER,
                scope=AdoptionScope.BUSINESS_AS_USUAL,
            ),
            FELLOW,
        )
    assert refused.value.field == "occurred_on"


def test_an_organisation_adopts_a_project_only_once() -> None:
    project = piloted()
    adoption = c.RecordAdoption(
        occurred_on=date(2024, 5, 1), organisation_id=PARTNER, scope=AdoptionScope.BUSINESS_AS_USUAL
    )
    project.record_adoption(adoption, FELLOW)
    with pytest.raises(errors.AlreadyAdoptedError):
        project.record_adoption(adoption, FELLOW)


def test_a_closed_project_refuses_every_change() -> None:
    project = piloted()
    project.close(
        c.CloseProject(
            occurred_on=date(2024, 6, 1), outcome=ClosureOutcome.COMPLETED, summary="Done"
        ),
        FELLOW,
    )
    assert project.status is ProjectStatus.CLOSED
    with pytest.raises(errors.ProjectClosedError):
        project.log_milestone(c.LogMilestone(occurred_on=date(2024, 6, 2), title="After"), FELLOW)
    with pytest.raises(errors.ProjectClosedError):
        project.close(
            c.CloseProject(
                occurred_on=date(2024, 6, 2), outcome=ClosureOutcome.STOPPED, summary="Again"
            ),
            FELLOW,
        )


def test_a_merge_must_name_another_project() -> None:
    project = piloted()
    with pytest.raises(errors.ClosureError, match="merged into"):
        project.close(
            c.CloseProject(
                occurred_on=date(2024, 6, 1), outcome=ClosureOutcome.MERGED, summary="Merged"
            ),
            FELLOW,
        )
    with pytest.raises(errors.ClosureError, match="itself"):
        project.close(
            c.CloseProject(
                occurred_on=date(2024, 6, 1),
                outcome=ClosureOutcome.MERGED,
                summary="Merged",
                merged_into=project.id,
            ),
            FELLOW,
        )


def test_effective_date_more_than_a_day_ahead_is_refused() -> None:
    project = piloted()
    tomorrow = utc_today() + timedelta(days=1)
    project.log_milestone(c.LogMilestone(occurred_on=tomorrow, title="Time zones"), FELLOW)
    with pytest.raises(errors.EffectiveDateError, match="future") as refused:
        project.log_milestone(
            c.LogMilestone(occurred_on=tomorrow + timedelta(days=1), title="Too soon"), FELLOW
        )
    assert refused.value.field == "occurred_on"


def test_a_proposal_dated_in_the_future_is_refused() -> None:
    with pytest.raises(errors.EffectiveDateError):
        propose(occurred_on=utc_today() + timedelta(days=2))


def test_effective_date_before_the_proposal_is_refused() -> None:
    project = piloted()
    with pytest.raises(errors.EffectiveDateError, match="before the project was proposed"):
        project.log_milestone(
            c.LogMilestone(occurred_on=PROPOSED - timedelta(days=1), title="Too early"), FELLOW
        )


def test_a_measurement_period_in_the_future_is_refused() -> None:
    project = piloted()
    with pytest.raises(errors.EffectiveDateError) as refused:
        record(project, measure(project), utc_today() + timedelta(days=40))
    assert refused.value.field == "period"


def test_pausing_blocks_pilots_and_adoption_until_resumed() -> None:
    project = piloted()
    project.pause(c.PauseProject(occurred_on=date(2024, 4, 1), reason="Winter"), FELLOW)
    with pytest.raises(errors.PauseStateError):
        project.pause(c.PauseProject(occurred_on=date(2024, 4, 2), reason="Again"), FELLOW)
    with pytest.raises(errors.ProjectPausedError):
        project.start_pilot(
            c.StartPilot(occurred_on=date(2024, 4, 2), sites=["b"], scope="s"), FELLOW
        )
    with pytest.raises(errors.ProjectPausedError):
        project.record_adoption(
            c.RecordAdoption(
                occurred_on=date(2024, 4, 2), organisation_id=PARTNER, scope=AdoptionScope.PARTIAL
            ),
            FELLOW,
        )
    project.resume(c.ResumeProject(occurred_on=date(2024, 5, 1)), FELLOW)
    with pytest.raises(errors.PauseStateError):
        project.resume(c.ResumeProject(occurred_on=date(2024, 5, 2)), FELLOW)
    project.start_pilot(c.StartPilot(occurred_on=date(2024, 5, 2), sites=["b"], scope="s"), FELLOW)
    assert len(project.pilots) == 2


def test_organisations_join_and_leave_but_the_lead_never_leaves() -> None:
    project = propose()
    newcomer = uuid4()
    project.join_organisation(
        c.JoinOrganisation(occurred_on=PROPOSED, organisation_id=newcomer), FELLOW
    )
    with pytest.raises(errors.MembershipError):
        project.join_organisation(
            c.JoinOrganisation(occurred_on=PROPOSED, organisation_id=newcomer), FELLOW
        )
    with pytest.raises(errors.MembershipError):
        project.join_organisation(
            c.JoinOrganisation(occurred_on=PROPOSED, organisation_id=LEAD_ORG), FELLOW
        )
    with pytest.raises(errors.MembershipError, match="lead organisation"):
        project.leave_organisation(
            c.LeaveOrganisation(occurred_on=PROPOSED, organisation_id=LEAD_ORG), FELLOW
        )
    project.leave_organisation(
        c.LeaveOrganisation(occurred_on=PROPOSED, organisation_id=newcomer), FELLOW
    )
    with pytest.raises(errors.MembershipError, match="not a partner"):
        project.leave_organisation(
            c.LeaveOrganisation(occurred_on=PROPOSED, organisation_id=newcomer), FELLOW
        )
    assert project.partner_organisation_ids == {PARTNER}


def test_the_lead_organisation_cannot_also_be_listed_as_a_partner() -> None:
    with pytest.raises(errors.MembershipError):
        propose(partner_organisation_ids=[LEAD_ORG])


def test_assigning_the_current_sponsor_again_is_refused() -> None:
    project = propose(sponsor_id="sponsor-1")
    with pytest.raises(errors.SponsorUnchangedError):
        project.assign_sponsor(
            c.AssignSponsor(occurred_on=PROPOSED, sponsor_id="sponsor-1"), FELLOW
        )
    project.assign_sponsor(c.AssignSponsor(occurred_on=PROPOSED, sponsor_id="sponsor-2"), FELLOW)
    assert project.sponsor_id == "sponsor-2"


def test_a_refused_command_leaves_no_pending_event() -> None:
    project = piloted()
    before = project.version
    with pytest.raises(errors.DomainError):
        record(project, uuid4(), date(2024, 3, 1))
    assert project.version == before
    assert versions(project) == ["ProjectProposed", "PilotStarted"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "x" * 201),
        ("intended_outcomes", []),
        ("cohort_id", "not-a-uuid"),
        ("occurred_on", "2024-13-01"),
        ("sponsor_id", "no spaces allowed"),
    ],
)
def test_malformed_proposals_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        propose(**{field: value})
    assert refused.value.errors()[0]["loc"][0] == field


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        c.RecordMeasurement(
            occurred_on=PROPOSED, measure_id=uuid4(), period=PROPOSED, value=float("nan")
        )
    assert refused.value.errors()[0]["loc"] == ("value",)


def test_cohorts_must_end_after_they_start() -> None:
    with pytest.raises(ValidationError, match="ends_on must be after starts_on"):
        c.StartCohort(
            occurred_on=PROPOSED,
            programme="p",
            system_id=uuid4(),
            number=1,
            starts_on=PROPOSED,
            ends_on=PROPOSED,
        )


def test_a_change_to_a_measurement_cannot_take_effect_before_it_was_recorded() -> None:
    project = piloted()
    measurement_id = record(project, measure(project), date(2024, 3, 1))  # recorded 2024-04-10
    with pytest.raises(errors.EffectiveDateError, match="before it was recorded"):
        project.retract_measurement(
            c.RetractMeasurement(
                occurred_on=date(2024, 4, 9), measurement_id=measurement_id, reason="r"
            ),
            FELLOW,
        )


def test_a_partner_cannot_leave_before_it_joined() -> None:
    project = propose()
    newcomer = uuid4()
    project.join_organisation(
        c.JoinOrganisation(occurred_on=date(2024, 5, 1), organisation_id=newcomer), FELLOW
    )
    with pytest.raises(errors.EffectiveDateError, match="before it joined"):
        project.leave_organisation(
            c.LeaveOrganisation(occurred_on=date(2024, 4, 30), organisation_id=newcomer), FELLOW
        )


def test_ghosting_is_once_with_a_reason_and_restoring_needs_a_ghost() -> None:
    project = piloted()
    measurement_id = record(project, measure(project), date(2024, 3, 1))
    ghost = c.GhostMeasurement(
        occurred_on=date(2024, 4, 11), measurement_id=measurement_id, reason="Cyber incident"
    )
    project.ghost_measurement(ghost, FELLOW)
    assert project.measurements[measurement_id].ghosted
    with pytest.raises(errors.ChartSettingError):
        project.ghost_measurement(ghost, FELLOW)
    restore = c.RestoreMeasurement(occurred_on=date(2024, 4, 12), measurement_id=measurement_id)
    project.restore_measurement(restore, FELLOW)
    with pytest.raises(errors.ChartSettingError):
        project.restore_measurement(restore, FELLOW)
    assert not project.measurements[measurement_id].ghosted


def test_recalculation_points_are_marked_once_and_removed_only_if_there() -> None:
    project = piloted()
    measure_id = measure(project)
    mark = c.MarkRecalculation(
        occurred_on=date(2024, 4, 1),
        measure_id=measure_id,
        from_period=date(2024, 3, 1),
        reason="Pilot began",
    )
    project.mark_recalculation(mark, FELLOW)
    with pytest.raises(errors.ChartSettingError, match="already recalculated"):
        project.mark_recalculation(mark, FELLOW)
    remove = c.RemoveRecalculation(
        occurred_on=date(2024, 4, 2), measure_id=measure_id, from_period=date(2024, 3, 1)
    )
    project.remove_recalculation(remove, FELLOW)
    with pytest.raises(errors.ChartSettingError, match="not recalculated"):
        project.remove_recalculation(remove, FELLOW)
    with pytest.raises(errors.MeasureNotDefinedError):
        project.mark_recalculation(mark.model_copy(update={"measure_id": uuid4()}), FELLOW)


def test_a_pasted_column_records_consecutive_periods() -> None:
    project = piloted()
    measure_id = measure(project)
    ids = project.paste_measurements(
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=measure_id,
            first_period=date(2024, 1, 1),
            pasted="10\n\n1,200\n 30% \n",
        ),
        FELLOW,
    )
    recorded = [project.measurements[i] for i in ids]
    assert [(m.period, m.value) for m in recorded] == [
        (date(2024, 1, 1), 10.0),
        (date(2024, 2, 1), 1200.0),
        (date(2024, 3, 1), 30.0),
    ]


def test_a_pasted_column_is_one_event_holding_every_value() -> None:
    """The fellow's one act is one event; each value keeps its own measurement id."""
    project = piloted()
    measure_id = measure(project)
    project.collect_events()
    ids = paste(project, measure_id, date(2024, 1, 1), "10\n11\n12")
    events = project.collect_events()
    assert len(events) == 1
    pasted = events[0]
    assert isinstance(pasted, ev.MeasurementsPasted)
    assert pasted.measure_id == measure_id
    assert [(v.measurement_id, v.period, v.value) for v in pasted.values] == [
        (ids[0], date(2024, 1, 1), 10.0),
        (ids[1], date(2024, 2, 1), 11.0),
        (ids[2], date(2024, 3, 1), 12.0),
    ]
    assert all(project.measurements[i].recorded_on == date(2024, 6, 1) for i in ids)
    # Each pasted value is its period's current value: recording over it is refused.
    with pytest.raises(errors.DuplicateMeasurementError):
        record(project, measure_id, date(2024, 2, 1))


def test_pasted_measurements_equal_ones_their_constructor_builds() -> None:
    """``MeasurementsPasted.apply`` fills the fields directly; the result must be the same."""
    project = piloted()
    measure_id = measure(project)
    ids = paste(project, measure_id, date(2024, 1, 1), "10\n11")
    for measurement_id, (period, value) in zip(
        ids, [(date(2024, 1, 1), 10.0), (date(2024, 2, 1), 11.0)], strict=True
    ):
        built = Measurement(
            measurement_id=measurement_id,
            measure_id=measure_id,
            period=period,
            value=value,
            numerator=None,
            denominator=None,
            note="",
            recorded_on=date(2024, 6, 1),
        )
        pasted = project.measurements[measurement_id]
        assert type(pasted) is Measurement
        assert vars(pasted) == vars(built)
        assert replace(pasted, value=1.0) == replace(built, value=1.0)


def test_pasted_measurement_ids_are_random_version_4_uuids() -> None:
    project = piloted()
    ids = paste(project, measure(project), date(2020, 1, 1), "\n".join(["1"] * 50))
    assert len(set(ids)) == 50
    assert {(i.version, i.variant) for i in ids} == {(4, RFC_4122)}
    assert all(UUID(str(i)) == i for i in ids)


def test_a_pasted_event_replays_to_the_same_measurements() -> None:
    """Stored as JSON and validated back, a paste applies as it did when it was triggered."""
    project = piloted()
    measure_id = measure(project)
    paste(project, measure_id, date(2024, 1, 1), "10\n11")
    events = project.collect_events()
    replayed: Project | None = None
    for event in events:
        state = event.model_dump(mode="json")  # type: ignore[attr-defined]
        again = type(event).model_validate(state)  # type: ignore[attr-defined]
        replayed = again.mutate(replayed)
    assert replayed is not None
    assert replayed.measurements == project.measurements
    assert replayed.current_by_period == project.current_by_period


def test_a_refused_paste_records_nothing() -> None:
    project = piloted()
    measure_id = measure(project)
    record(project, measure_id, date(2024, 3, 1))
    project.collect_events()
    before = dict(project.measurements)
    with pytest.raises(errors.DuplicateMeasurementError, match=r"Row 3 \(2024-03-01\)"):
        paste(project, measure_id, date(2024, 1, 1), "1\n2\n3")
    assert project.collect_events() == []
    assert project.measurements == before


def test_a_pasted_value_that_is_not_a_number_is_refused_naming_its_row() -> None:
    with pytest.raises(ValidationError, match=r"Row 2: 'ten' is not a number"):
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=uuid4(),
            first_period=date(2024, 1, 1),
            pasted="9\nten\n11",
        )


def test_a_pasted_duplicate_period_is_refused_naming_its_row() -> None:
    project = piloted()
    measure_id = measure(project)
    record(project, measure_id, date(2024, 3, 1))
    project.collect_events()
    with pytest.raises(errors.DuplicateMeasurementError, match=r"Row 3 \(2024-03-01\)"):
        project.paste_measurements(
            c.PasteMeasurements(
                occurred_on=date(2024, 6, 1),
                measure_id=measure_id,
                first_period=date(2024, 1, 1),
                pasted="1\n2\n3\n4",
            ),
            FELLOW,
        )


def measure_at(project: Project, frequency: Frequency, name: str = "Beds") -> UUID:
    return project.define_measure(
        c.DefineMeasure(
            occurred_on=date(2024, 3, 1),
            name=name,
            unit="beds",
            direction=ImprovementDirection.DOWN,
            frequency=frequency,
        ),
        FELLOW,
    )


def paste(project: Project, measure_id: UUID, first: date, pasted: str) -> list[UUID]:
    return project.paste_measurements(
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1), measure_id=measure_id, first_period=first, pasted=pasted
        ),
        FELLOW,
    )


@pytest.mark.parametrize(
    ("frequency", "held", "clash"),
    [
        (Frequency.MONTHLY, date(2024, 3, 1), date(2024, 3, 1)),
        (Frequency.WEEKLY, date(2024, 3, 11), date(2024, 3, 11)),
        (Frequency.QUARTERLY, date(2024, 1, 1), date(2024, 1, 1)),
        (Frequency.DAILY, date(2024, 3, 12), date(2024, 3, 12)),
    ],
)
def test_a_second_value_in_a_period_is_refused_at_every_frequency(
    frequency: Frequency, held: date, clash: date
) -> None:
    project = piloted()
    measure_id = measure_at(project, frequency)
    record(project, measure_id, held)
    with pytest.raises(errors.DuplicateMeasurementError) as refused:
        record(project, measure_id, clash)
    assert refused.value.field == "period"
    assert refused.value.rule == "duplicate_measurement"


@pytest.mark.parametrize(
    ("frequency", "inside", "start"),
    [
        (Frequency.MONTHLY, date(2024, 3, 15), date(2024, 3, 1)),
        (Frequency.WEEKLY, date(2024, 3, 13), date(2024, 3, 11)),
        (Frequency.QUARTERLY, date(2024, 2, 1), date(2024, 1, 1)),
    ],
)
def test_a_period_named_by_a_day_inside_it_is_refused_with_its_start(
    frequency: Frequency, inside: date, start: date
) -> None:
    project = piloted()
    measure_id = measure_at(project, frequency)
    with pytest.raises(errors.PeriodStartError, match=start.isoformat()) as refused:
        record(project, measure_id, inside)
    assert refused.value.field == "period"
    assert refused.value.rule == "period_start"
    assert not project.collect_events()[3:]  # proposal, pilot, measure: nothing recorded
    record(project, measure_id, start)


def test_a_pasted_column_starting_inside_a_period_is_refused_naming_the_row() -> None:
    project = piloted()
    measure_id = measure_at(project, Frequency.MONTHLY)
    project.collect_events()
    with pytest.raises(
        errors.PeriodStartError, match=r"^Row 2 \(2024-01-15\).*2024-01-01"
    ) as refused:
        paste(project, measure_id, date(2024, 1, 15), "\n5\n6")
    assert refused.value.field == "first_period"
    assert not project.collect_events()


def test_a_pasted_value_in_the_same_month_as_a_value_on_another_day_is_refused() -> None:
    """Values stored before periods had to start their period still hold their month."""
    project = piloted()
    measure_id = measure_at(project, Frequency.MONTHLY)
    legacy = ev.MeasurementRecorded(
        originator_id=project.id,
        originator_version=project.version + 1,
        timestamp=datetime.now(UTC),
        actor=FELLOW,
        occurred_on=date(2024, 4, 10),
        measurement_id=uuid4(),
        measure_id=measure_id,
        period=date(2024, 2, 15),
        value=4.0,
        numerator=None,
        denominator=None,
        note="",
    )
    legacy.mutate(project)  # replayed as stored: no rule re-judges it
    assert project.measurements[legacy.measurement_id].period == date(2024, 2, 15)
    project.collect_events()
    with pytest.raises(
        errors.DuplicateMeasurementError, match=r"^Row 2 \(2024-02-01\).*2024-02-15"
    ):
        paste(project, measure_id, date(2024, 1, 1), "1\n2\n3")


def test_a_weekly_paste_steps_a_week_from_a_monday() -> None:
    project = piloted()
    measure_id = measure_at(project, Frequency.WEEKLY)
    ids = paste(project, measure_id, date(2024, 3, 4), "1\n2\n3")
    assert [project.measurements[i].period for i in ids] == [
        date(2024, 3, 4),
        date(2024, 3, 11),
        date(2024, 3, 18),
    ]
    with pytest.raises(errors.PeriodStartError, match=r"^Row 1 \(2024-03-06\).*Monday"):
        paste(project, measure_id, date(2024, 3, 6), "1")


def test_a_paste_with_a_date_before_the_proposal_is_refused_naming_the_date() -> None:
    """The paste's one effective date is checked once, before any row, and names its field."""
    project = piloted()
    measure_id = measure_at(project, Frequency.MONTHLY)
    project.collect_events()
    with pytest.raises(
        errors.EffectiveDateError, match="before the project was proposed"
    ) as refused:
        project.paste_measurements(
            c.PasteMeasurements(
                occurred_on=PROPOSED - timedelta(days=1),
                measure_id=measure_id,
                first_period=date(2024, 1, 1),
                pasted="1\n2",
            ),
            FELLOW,
        )
    assert refused.value.field == "occurred_on"
    assert not project.collect_events()


def test_a_pasted_baseline_before_the_proposal_is_kept() -> None:
    """Making Data Count's baseline is the values before a change: often before the proposal."""
    project = piloted()
    measure_id = measure_at(project, Frequency.MONTHLY)
    ids = paste(project, measure_id, PROPOSED.replace(year=PROPOSED.year - 1), "1\n2\n3")
    assert len(ids) == 3


def test_a_recalculation_mark_in_a_period_already_marked_is_refused() -> None:
    project = piloted()
    measure_id = measure_at(project, Frequency.MONTHLY)
    mark = c.MarkRecalculation(
        occurred_on=date(2024, 4, 1),
        measure_id=measure_id,
        from_period=date(2024, 3, 4),
        reason="Pilot began",
    )
    project.mark_recalculation(mark, FELLOW)
    later = mark.model_copy(update={"from_period": date(2024, 3, 20)})
    with pytest.raises(errors.ChartSettingError, match="marked at 2024-03-04") as refused:
        project.mark_recalculation(later, FELLOW)
    assert refused.value.field == "from_period"


def test_an_astronomical_flag_needs_a_current_value_and_is_set_and_cleared_once() -> None:
    project = piloted()
    measure_id = measure(project)
    measurement_id = record(project, measure_id, date(2024, 3, 1))
    project.collect_events()
    flag = c.FlagAstronomical(
        occurred_on=date(2024, 5, 1), measurement_id=measurement_id, reason="Ward shut"
    )
    unflag = c.UnflagAstronomical(occurred_on=date(2024, 5, 2), measurement_id=measurement_id)
    with pytest.raises(errors.ChartSettingError, match="not flagged") as refused:
        project.unflag_astronomical(unflag, FELLOW)
    assert refused.value.field == "measurement_id"
    project.flag_astronomical(flag, FELLOW)
    assert project.measurements[measurement_id].astronomical
    with pytest.raises(errors.ChartSettingError, match="already flagged"):
        project.flag_astronomical(flag, FELLOW)
    project.unflag_astronomical(unflag, FELLOW)
    assert not project.measurements[measurement_id].astronomical
    (flagged, unflagged) = project.collect_events()
    assert isinstance(flagged, ev.MeasurementFlaggedAstronomical)
    assert (flagged.reason, flagged.actor) == ("Ward shut", FELLOW)
    assert isinstance(unflagged, ev.MeasurementUnflaggedAstronomical)
    with pytest.raises(errors.MeasurementNotFoundError):
        project.flag_astronomical(flag.model_copy(update={"measurement_id": uuid4()}), FELLOW)
    with pytest.raises(ValidationError):
        c.FlagAstronomical(occurred_on=date(2024, 5, 1), measurement_id=measurement_id, reason="")


def test_a_baseline_is_set_changed_and_cleared_and_refused_when_unchanged() -> None:
    project = piloted()
    measure_id = measure(project)
    project.collect_events()
    twelve = c.SetBaseline(
        occurred_on=date(2024, 5, 1), measure_id=measure_id, points=12, reason="A year"
    )
    clear = c.ClearBaseline(occurred_on=date(2024, 5, 2), measure_id=measure_id)
    with pytest.raises(errors.ChartSettingError, match="no baseline"):
        project.clear_baseline(clear, FELLOW)
    project.set_baseline(twelve, FELLOW)
    with pytest.raises(errors.ChartSettingError, match="already") as refused:
        project.set_baseline(twelve, FELLOW)
    assert refused.value.field == "points"
    project.set_baseline(twelve.model_copy(update={"points": 20}), FELLOW)
    assert project.measures[measure_id].baseline_points == 20
    project.clear_baseline(clear, FELLOW)
    assert project.measures[measure_id].baseline_points is None
    assert versions(project) == ["BaselineSet", "BaselineSet", "BaselineCleared"]
    with pytest.raises(errors.MeasureNotDefinedError):
        project.set_baseline(twelve.model_copy(update={"measure_id": uuid4()}), FELLOW)
    with pytest.raises(ValidationError):
        c.SetBaseline(occurred_on=date(2024, 5, 1), measure_id=measure_id, points=1, reason="x")


@pytest.mark.parametrize(
    ("frequency", "third"),
    [
        (Frequency.DAILY, date(2024, 1, 3)),
        (Frequency.WEEKLY, date(2024, 1, 15)),
        (Frequency.MONTHLY, date(2024, 3, 1)),
        (Frequency.QUARTERLY, date(2024, 7, 1)),
    ],
)
def test_a_paste_over_a_held_period_is_refused_at_that_row_at_every_frequency(
    frequency: Frequency, third: date
) -> None:
    """The paste steps its period (and its period's index) a row at a time, at any frequency."""
    project = piloted()
    measure_id = measure_at(project, frequency)
    record(project, measure_id, third)
    project.collect_events()
    with pytest.raises(errors.DuplicateMeasurementError, match=rf"^Row 3 \({third.isoformat()}\)"):
        paste(project, measure_id, date(2024, 1, 1), "1\n2\n3\n4")
    assert project.collect_events() == []
    assert len(paste(project, measure_id, date(2024, 1, 1), "1\n2")) == 2  # before it: fine
