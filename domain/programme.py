"""Programme structure: health systems, cohorts and the fellows enrolled in them.

Fellows' personal details (names, email addresses) are deliberately absent: events refer to a
fellow by id only, so that erasing a person never means rewriting the append-only log.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate

from domain import commands as c
from domain.events import AggregateCreated
from domain.project import check_not_in_future
from domain.values import Actor


class SystemRegistered(AggregateCreated):
    """An integrated care system was registered."""

    name: str
    region: str | None

    def apply(self, aggregate: HealthSystem) -> None:
        """Set the system's details."""
        aggregate.name = self.name
        aggregate.region = self.region


class HealthSystem(BaseAggregate[UUID]):
    """An integrated care system (ICS): the place a cohort runs in."""

    def __init__(self) -> None:
        self.name = ""
        self.region: str | None = None

    @classmethod
    def register(cls, command: c.RegisterSystem, actor: Actor) -> HealthSystem:
        """Register a system."""
        check_not_in_future(command.occurred_on)
        return cls._create(
            SystemRegistered,
            id=uuid4(),
            actor=actor,
            occurred_on=command.occurred_on,
            name=command.name,
            region=command.region,
        )


class CohortStarted(AggregateCreated):
    """A cohort of a programme started."""

    programme: str
    system_id: UUID
    number: int
    starts_on: date
    ends_on: date

    def apply(self, aggregate: Cohort) -> None:
        """Set the cohort's details."""
        aggregate.programme = self.programme
        aggregate.system_id = self.system_id
        aggregate.number = self.number
        aggregate.starts_on = self.starts_on
        aggregate.ends_on = self.ends_on


class Cohort(BaseAggregate[UUID]):
    """One cohort (typically six months) of a leadership programme in a system."""

    def __init__(self) -> None:
        self.programme = ""
        self.system_id: UUID | None = None
        self.number = 0
        self.starts_on = date.min
        self.ends_on = date.min

    @classmethod
    def start(cls, command: c.StartCohort, actor: Actor) -> Cohort:
        """Start a cohort (its dates may be planned ahead; the record date may not)."""
        check_not_in_future(command.occurred_on)
        return cls._create(
            CohortStarted,
            id=uuid4(),
            actor=actor,
            occurred_on=command.occurred_on,
            programme=command.programme,
            system_id=command.system_id,
            number=command.number,
            starts_on=command.starts_on,
            ends_on=command.ends_on,
        )


class FellowEnrolled(AggregateCreated):
    """A fellow was enrolled in a cohort."""

    cohort_id: UUID
    organisation_id: UUID
    role_title: str

    def apply(self, aggregate: Fellow) -> None:
        """Set the fellow's enrolment."""
        aggregate.cohort_id = self.cohort_id
        aggregate.organisation_id = self.organisation_id
        aggregate.role_title = self.role_title


class Fellow(BaseAggregate[UUID]):
    """A fellow of a cohort, employed by an organisation; known to events by id only."""

    def __init__(self) -> None:
        self.cohort_id: UUID | None = None
        self.organisation_id: UUID | None = None
        self.role_title = ""

    @classmethod
    def enrol(cls, command: c.EnrolFellow, actor: Actor) -> Fellow:
        """Enrol a fellow."""
        check_not_in_future(command.occurred_on)
        return cls._create(
            FellowEnrolled,
            id=uuid4(),
            actor=actor,
            occurred_on=command.occurred_on,
            cohort_id=command.cohort_id,
            organisation_id=command.organisation_id,
            role_title=command.role_title,
        )
