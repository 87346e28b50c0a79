"""Programme structure: health systems, cohorts and the fellows enrolled in them.

Fellows' personal details (name, email address) reach events only sealed: AES-GCM ciphertext
under the person's own key, which the application keeps outside the log. Erasing a person
deletes that key (crypto-shredding), so the append-only log is never rewritten and its hashes
still verify. The domain carries the sealed strings without ever seeing plaintext or keys.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate

from domain import commands as c
from domain import errors
from domain.events import AggregateCreated, DomainEvent
from domain.project import check_not_in_future
from domain.values import Actor, ErasureReason, SealedText


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
    """A fellow was enrolled in a cohort.

    Version 2 added ``sealed_name`` and ``sealed_email`` (ciphertext; see the module's
    docstring); version 1 events, from before names were recorded, are upcast with neither.
    """

    class_version = 2

    cohort_id: UUID
    organisation_id: UUID
    role_title: str
    sealed_name: SealedText | None
    sealed_email: SealedText | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 recorded no personal details at all."""
        state["sealed_name"] = None
        state["sealed_email"] = None

    def apply(self, aggregate: Fellow) -> None:
        """Set the fellow's enrolment."""
        aggregate.cohort_id = self.cohort_id
        aggregate.organisation_id = self.organisation_id
        aggregate.role_title = self.role_title
        aggregate.sealed_name = self.sealed_name
        aggregate.sealed_email = self.sealed_email


class FellowErased(DomainEvent):
    """A fellow's personal details were erased (their key destroyed); carries no personal data."""

    reason: ErasureReason

    def apply(self, aggregate: Fellow) -> None:
        """Forget the sealed details: without the key they can never be opened again."""
        aggregate.sealed_name = None
        aggregate.sealed_email = None
        aggregate.erased_on = self.occurred_on
        aggregate.erasure_reason = self.reason


class Fellow(BaseAggregate[UUID]):
    """A fellow of a cohort, employed by an organisation; personal details only sealed."""

    def __init__(self) -> None:
        self.cohort_id: UUID | None = None
        self.organisation_id: UUID | None = None
        self.role_title = ""
        self.sealed_name: str | None = None
        self.sealed_email: str | None = None
        self.erased_on: date | None = None
        self.erasure_reason: ErasureReason | None = None

    @property
    def erased(self) -> bool:
        """Whether the fellow's personal details have been erased."""
        return self.erased_on is not None

    @classmethod
    def enrol(
        cls,
        actor: Actor,
        *,
        fellow_id: UUID,
        occurred_on: date,
        cohort_id: UUID,
        organisation_id: UUID,
        role_title: str,
        sealed_name: str | None,
        sealed_email: str | None,
    ) -> Fellow:
        """Enrol a fellow with details the application has already sealed.

        Takes fields rather than the ``EnrolFellow`` command because the command holds the
        plaintext name and email, which the domain must never see. The id is chosen by the
        caller, which needs it before sealing (the ciphertext is bound to the person's id).
        """
        check_not_in_future(occurred_on)
        return cls._create(
            FellowEnrolled,
            id=fellow_id,
            actor=actor,
            occurred_on=occurred_on,
            cohort_id=cohort_id,
            organisation_id=organisation_id,
            role_title=role_title,
            sealed_name=sealed_name,
            sealed_email=sealed_email,
        )

    def erase(self, actor: Actor, reason: ErasureReason, occurred_on: date) -> None:
        """Record the erasure of the fellow's personal details (once)."""
        check_not_in_future(occurred_on)
        if self.erased:
            assert self.erased_on is not None
            msg = f"This fellow's personal details were already erased on {self.erased_on}."
            raise errors.PersonErasedError(msg)
        self.trigger_event(FellowErased, actor=actor, occurred_on=occurred_on, reason=reason)
