"""The Organisation aggregate: a body taking part in the programme, in one system."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.domain import BaseAggregate

from domain import commands as c
from domain.events import AggregateCreated, DomainEvent
from domain.project import check_not_in_future
from domain.values import Actor, Sector


class OrganisationRegistered(AggregateCreated):
    """An organisation was registered."""

    name: str
    sector: Sector
    system_id: UUID
    ods_code: str | None

    def apply(self, aggregate: Organisation) -> None:
        """Set the organisation's details."""
        aggregate.name = self.name
        aggregate.sector = self.sector
        aggregate.system_id = self.system_id
        aggregate.ods_code = self.ods_code


class OrganisationRenamed(DomainEvent):
    """An organisation changed its name."""

    name: str

    def apply(self, aggregate: Organisation) -> None:
        """Set the new name."""
        aggregate.name = self.name


class Organisation(BaseAggregate[UUID]):
    """A hospital trust, practice, police force, school, council or charity."""

    def __init__(self) -> None:
        self.name = ""
        self.sector = Sector.OTHER
        self.system_id: UUID | None = None
        self.ods_code: str | None = None

    @classmethod
    def register(cls, command: c.RegisterOrganisation, actor: Actor) -> Organisation:
        """Register an organisation."""
        check_not_in_future(command.occurred_on)
        return cls._create(
            OrganisationRegistered,
            id=uuid4(),
            actor=actor,
            occurred_on=command.occurred_on,
            name=command.name,
            sector=command.sector,
            system_id=command.system_id,
            ods_code=command.ods_code,
        )

    def rename(self, command: c.RenameOrganisation, actor: Actor) -> None:
        """Record a new name."""
        check_not_in_future(command.occurred_on)
        self.trigger_event(
            OrganisationRenamed, actor=actor, occurred_on=command.occurred_on, name=command.name
        )
