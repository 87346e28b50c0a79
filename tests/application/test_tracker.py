"""The application service on every engine: in-memory, SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from application.errors import (
    IdempotencyKeyReusedError,
    NotFoundError,
    StaleVersionError,
    UnknownReferenceError,
)
from application.tracker import ImpactTracker
from domain import commands as c
from domain import project_events as ev
from domain.errors import AdoptionBeforePilotError, MeasureNotDefinedError
from domain.events import DomainEvent
from domain.project import Project
from domain.values import AdoptionScope, ImprovementDirection, Stage
from tests.conftest import FELLOW, Programme, proposal

PILOT = c.StartPilot(occurred_on=date(2024, 3, 1), sites=["Ward 7"], scope="Surgical wards")


def define_measure(tracker: ImpactTracker, project_id: object) -> object:
    result = tracker.define_measure(
        FELLOW,
        project_id,  # type: ignore[arg-type]
        c.DefineMeasure(
            occurred_on=date(2024, 3, 1),
            name="Discharges before noon",
            unit="%",
            direction=ImprovementDirection.UP,
            target=33.0,
        ),
    )
    return result.entity_id


def test_a_proposed_project_is_saved_and_reloaded(
    tracker: ImpactTracker, programme: Programme
) -> None:
    result = tracker.propose_project(FELLOW, proposal(programme))
    project = tracker.project(result.aggregate_id)
    assert (project.title, project.stage, project.version) == (
        "Home by lunchtime",
        Stage.PROPOSED,
        1,
    )
    assert project.partner_organisation_ids == [programme.council_id]
    assert result.notification_id == tracker.head()


def test_commands_return_the_new_version_and_notification_id(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    head = tracker.head()
    result = tracker.start_pilot(FELLOW, project_id, PILOT)
    assert (result.version, result.notification_id) == (2, head + 1)


def test_a_stale_version_is_a_conflict_and_records_nothing(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.start_pilot(FELLOW, project_id, PILOT, expected_version=1)
    head = tracker.head()
    with pytest.raises(StaleVersionError, match="you saw version 1, it is now at version 2"):
        tracker.log_milestone(
            FELLOW,
            project_id,
            c.LogMilestone(occurred_on=date(2024, 3, 2), title="Late"),
            expected_version=1,
        )
    assert tracker.head() == head
    assert tracker.project(project_id).version == 2


def test_a_retried_command_with_the_same_key_records_one_event(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    measure_id = define_measure(tracker, project_id)
    command = c.RecordMeasurement(
        occurred_on=date(2024, 4, 5), measure_id=measure_id, period=date(2024, 3, 1), value=21.5
    )
    first = tracker.record_measurement(FELLOW, project_id, command, idempotency_key="k-1")
    again = [
        tracker.record_measurement(FELLOW, project_id, command, idempotency_key="k-1")
        for _ in range(3)
    ]
    assert all(r.replayed for r in again)
    assert all(
        r.model_dump(exclude={"replayed"}) == first.model_dump(exclude={"replayed"}) for r in again
    )
    assert first.entity_id is not None
    assert len(tracker.project(project_id).measurements) == 1
    assert tracker.project(project_id).version == first.version


def test_a_retried_proposal_creates_one_project(
    tracker: ImpactTracker, programme: Programme
) -> None:
    first = tracker.propose_project(FELLOW, proposal(programme), idempotency_key="p-1")
    head = tracker.head()
    second = tracker.propose_project(FELLOW, proposal(programme), idempotency_key="p-1")
    assert second.aggregate_id == first.aggregate_id
    assert tracker.head() == head


def test_a_retry_after_success_is_not_mistaken_for_a_stale_version(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    first = tracker.start_pilot(
        FELLOW, project_id, PILOT, expected_version=1, idempotency_key="pilot"
    )
    retry = tracker.start_pilot(
        FELLOW, project_id, PILOT, expected_version=1, idempotency_key="pilot"
    )
    assert retry.version == first.version == 2


def test_reusing_a_key_for_a_different_command_is_refused(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.start_pilot(FELLOW, project_id, PILOT, idempotency_key="same")
    with pytest.raises(IdempotencyKeyReusedError):
        tracker.log_milestone(
            FELLOW,
            project_id,
            c.LogMilestone(occurred_on=date(2024, 3, 2), title="Other"),
            idempotency_key="same",
        )


def test_a_refused_command_records_nothing(tracker: ImpactTracker, programme: Programme) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    head = tracker.head()
    with pytest.raises(AdoptionBeforePilotError):
        tracker.record_adoption(
            FELLOW,
            project_id,
            c.RecordAdoption(
                occurred_on=date(2024, 3, 2),
                organisation_id=programme.council_id,
                scope=AdoptionScope.SPREAD,
            ),
        )
    with pytest.raises(MeasureNotDefinedError):
        tracker.record_measurement(
            FELLOW,
            project_id,
            c.RecordMeasurement(
                occurred_on=date(2024, 3, 2), measure_id=uuid4(), period=date(2024, 2, 1), value=1
            ),
        )
    assert tracker.head() == head


def test_references_to_unknown_things_are_refused_naming_the_field(
    tracker: ImpactTracker, programme: Programme
) -> None:
    with pytest.raises(UnknownReferenceError) as refused:
        tracker.propose_project(FELLOW, proposal(programme, cohort_id=uuid4()))
    assert refused.value.field == "cohort_id"
    with pytest.raises(UnknownReferenceError) as refused:
        tracker.propose_project(FELLOW, proposal(programme, lead_fellow_id=programme.trust_id))
    assert refused.value.field == "lead_fellow_id"


def test_unknown_projects_are_not_found(tracker: ImpactTracker, programme: Programme) -> None:
    with pytest.raises(NotFoundError):
        tracker.project(uuid4())
    with pytest.raises(NotFoundError):
        tracker.project(programme.trust_id)  # an organisation, not a project
    with pytest.raises(NotFoundError):
        tracker.start_pilot(FELLOW, uuid4(), PILOT)


def test_a_project_can_be_read_at_any_version(tracker: ImpactTracker, programme: Programme) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    tracker.start_pilot(FELLOW, project_id, PILOT)
    measure_id = define_measure(tracker, project_id)
    tracker.record_measurement(
        FELLOW,
        project_id,
        c.RecordMeasurement(
            occurred_on=date(2024, 4, 5), measure_id=measure_id, period=date(2024, 3, 1), value=20
        ),
    )
    stages = [tracker.project(project_id, version=v).stage for v in range(1, 5)]
    assert stages == [Stage.PROPOSED, Stage.PILOTED, Stage.PILOTED, Stage.MEASURED]


def test_a_project_can_be_read_as_it_was_recorded_at_a_moment(
    tracker: ImpactTracker, programme: Programme
) -> None:
    before = datetime.now(UTC)
    time.sleep(0.01)
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    time.sleep(0.01)
    after_proposal = datetime.now(UTC)
    time.sleep(0.01)
    tracker.start_pilot(FELLOW, project_id, PILOT)
    assert tracker.project(project_id, as_at=after_proposal).stage is Stage.PROPOSED
    assert tracker.project(project_id, as_at=datetime.now(UTC)).stage is Stage.PILOTED
    with pytest.raises(NotFoundError, match="recorded by"):
        tracker.project(project_id, as_at=before)


def test_history_lists_every_event_with_actor_dates_and_notification_ids(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    pilot = tracker.start_pilot(FELLOW, project_id, PILOT)
    history = tracker.history(project_id)
    assert [e.event_type for e in history] == ["ProjectProposed", "PilotStarted"]
    assert history[1].actor == FELLOW
    assert history[1].occurred_on == date(2024, 3, 1)
    assert history[1].notification_id == pilot.notification_id
    assert history[1].data == {"sites": ["Ward 7"], "scope": "Surgical wards"}
    assert history[0].recorded_at <= history[1].recorded_at


def test_closing_as_merged_needs_an_existing_project(
    tracker: ImpactTracker, programme: Programme
) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    with pytest.raises(UnknownReferenceError) as refused:
        tracker.close_project(
            FELLOW,
            project_id,
            c.CloseProject(
                occurred_on=date(2024, 3, 1), outcome="merged", summary="s", merged_into=uuid4()
            ),
        )
    assert refused.value.field == "merged_into"
    other = tracker.propose_project(FELLOW, proposal(programme, title="Other")).aggregate_id
    tracker.close_project(
        FELLOW,
        project_id,
        c.CloseProject(
            occurred_on=date(2024, 3, 1), outcome="merged", summary="s", merged_into=other
        ),
    )
    assert tracker.project(project_id).outcome == "merged"


def test_reference_data_is_saved_and_reloaded(tracker: ImpactTracker, programme: Programme) -> None:
    assert tracker.system(programme.system_id).name == "Test ICS"
    assert tracker.organisation(programme.trust_id).sector == "acute"
    assert tracker.cohort(programme.cohort_id).number == 1
    assert tracker.fellow(programme.lead_fellow_id).organisation_id == programme.trust_id
    renamed = tracker.rename_organisation(
        FELLOW,
        programme.trust_id,
        c.RenameOrganisation(occurred_on=date(2024, 5, 1), name="Merged Trust"),
    )
    assert tracker.organisation(programme.trust_id).name == "Merged Trust"
    assert tracker.organisation(programme.trust_id, version=renamed.version - 1).name == (
        "Test Trust"
    )


def test_racing_retries_with_one_key_record_one_event(
    tracker: ImpactTracker, programme: Programme
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    command = c.LogMilestone(occurred_on=date(2024, 3, 2), title="Board paper")
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda _: tracker.log_milestone(
                    FELLOW, project_id, command, idempotency_key="race"
                ),
                range(16),
            )
        )
    assert len({(r.version, r.notification_id) for r in results}) == 1
    assert sum(not r.replayed for r in results) <= 1
    assert [e.event_type for e in tracker.history(project_id)] == [
        "ProjectProposed",
        "MilestoneLogged",
    ]


def test_idempotency_keys_belong_to_one_user(tracker: ImpactTracker, programme: Programme) -> None:
    from domain.values import Actor, Role

    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    command = c.LogMilestone(occurred_on=date(2024, 3, 2), title="Same words")
    first = tracker.log_milestone(
        Actor(user_id="a:b", role=Role.FELLOW), project_id, command, idempotency_key="c"
    )
    second = tracker.log_milestone(
        Actor(user_id="a", role=Role.SPONSOR), project_id, command, idempotency_key="b:c"
    )
    assert (first.replayed, second.replayed) == (False, False)
    assert second.version == first.version + 1


def test_an_overlong_idempotency_key_is_refused(
    tracker: ImpactTracker, programme: Programme
) -> None:
    from application.errors import InvalidRequestError

    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    with pytest.raises(InvalidRequestError) as refused:
        tracker.start_pilot(FELLOW, project_id, PILOT, idempotency_key="k" * 201)
    assert refused.value.field == "Idempotency-Key"


def test_a_version_past_the_end_is_not_found(tracker: ImpactTracker, programme: Programme) -> None:
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    with pytest.raises(NotFoundError, match="at version 2"):
        tracker.project(project_id, version=2)


@pytest.mark.parametrize(
    ("version", "as_at", "field"),
    [
        (0, None, "version"),
        (2**63, None, "version"),
        (None, datetime(2024, 1, 1), "as_at"),  # no time zone
        (None, datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), "as_at"),
    ],
)
def test_unanswerable_as_at_and_version_queries_are_refused_naming_the_field(
    tracker: ImpactTracker,
    programme: Programme,
    version: int | None,
    as_at: datetime | None,
    field: str,
) -> None:
    from application.errors import InvalidRequestError

    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    with pytest.raises(InvalidRequestError) as refused:
        tracker.project(project_id, version=version, as_at=as_at)
    assert refused.value.field == field


def test_a_lead_fellow_from_another_cohort_is_refused(
    tracker: ImpactTracker, programme: Programme
) -> None:
    other = tracker.start_cohort(
        FELLOW,
        c.StartCohort(
            occurred_on=date(2024, 1, 8),
            programme="20/20",
            system_id=programme.system_id,
            number=2,
            starts_on=date(2024, 7, 1),
            ends_on=date(2025, 1, 1),
        ),
    ).aggregate_id
    with pytest.raises(UnknownReferenceError, match="another cohort") as refused:
        tracker.propose_project(FELLOW, proposal(programme, cohort_id=other))
    assert refused.value.field == "lead_fellow_id"


def test_a_pasted_column_is_recorded_all_or_nothing(
    tracker: ImpactTracker, programme: Programme
) -> None:
    from domain.errors import DuplicateMeasurementError

    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    measure_id = define_measure(tracker, project_id)
    tracker.record_measurement(
        FELLOW,
        project_id,
        c.RecordMeasurement(
            occurred_on=date(2024, 4, 5), measure_id=measure_id, period=date(2024, 3, 1), value=1
        ),
    )
    head = tracker.head()
    with pytest.raises(DuplicateMeasurementError) as refused:
        tracker.paste_measurements(
            FELLOW,
            project_id,
            c.PasteMeasurements(
                occurred_on=date(2024, 6, 1),
                measure_id=measure_id,
                first_period=date(2024, 1, 1),
                pasted="5\n6\n7\n8",
            ),
        )
    assert refused.value.message.startswith("Row 3 (2024-03-01)")
    assert tracker.head() == head  # rows 1 and 2 were not recorded either
    result = tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=measure_id,
            first_period=date(2024, 4, 1),
            pasted="5\n6\n7",
        ),
    )
    assert tracker.head() == head + 1  # the column is one event
    assert result.notification_id == head + 1
    (pasted,) = tracker.events.get(project_id, gt=result.version - 1)
    assert isinstance(pasted, ev.MeasurementsPasted)
    assert [(v.period, v.value) for v in pasted.values] == [
        (date(2024, 4, 1), 5.0),
        (date(2024, 5, 1), 6.0),
        (date(2024, 6, 1), 7.0),
    ]


def test_each_pasted_value_is_corrected_retracted_and_ghosted_on_its_own(
    tracker: ImpactTracker, programme: Programme
) -> None:
    """A paste is one event, yet each of its values keeps its own measurement."""
    project_id = tracker.propose_project(FELLOW, proposal(programme)).aggregate_id
    measure_id = define_measure(tracker, project_id)
    result = tracker.paste_measurements(
        FELLOW,
        project_id,
        c.PasteMeasurements(
            occurred_on=date(2024, 6, 1),
            measure_id=measure_id,
            first_period=date(2024, 1, 1),
            pasted="5\n6\n7",
        ),
    )
    (pasted,) = tracker.events.get(project_id, gt=result.version - 1)
    assert isinstance(pasted, ev.MeasurementsPasted)
    first, second, third = (v.measurement_id for v in pasted.values)
    on = date(2024, 6, 2)
    tracker.correct_measurement(
        FELLOW,
        project_id,
        c.CorrectMeasurement(occurred_on=on, measurement_id=first, value=50, reason="typo"),
    )
    tracker.retract_measurement(
        FELLOW,
        project_id,
        c.RetractMeasurement(occurred_on=on, measurement_id=second, reason="wrong ward"),
    )
    tracker.ghost_measurement(
        FELLOW,
        project_id,
        c.GhostMeasurement(occurred_on=on, measurement_id=third, reason="strike"),
    )
    replayed: Project | None = None
    for event in tracker.events.get(project_id):  # as stored, not as cached
        assert isinstance(event, DomainEvent)
        replayed = event.mutate(replayed)
    assert replayed is not None
    measurements = replayed.measurements
    assert (measurements[first].value, measurements[first].history) == (50.0, (5.0,))
    flags = [(measurements[i].retracted, measurements[i].ghosted) for i in (first, second, third)]
    assert flags == [
        (False, False),
        (True, False),
        (False, True),
    ]
