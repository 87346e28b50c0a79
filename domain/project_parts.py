"""The entities inside a Project: pilots, measures, measurements, adoptions, milestones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from domain.values import AdoptionScope, Frequency, ImprovementDirection


@dataclass
class Pilot:
    """A pilot of the project at some sites."""

    sites: tuple[str, ...]
    scope: str
    started_on: date


@dataclass
class Measure:
    """An aggregate outcome the project tracks."""

    measure_id: UUID
    name: str
    unit: str
    direction: ImprovementDirection
    target: float | None
    frequency: Frequency
    defined_on: date
    recalculate_from: set[date] = field(default_factory=set)


@dataclass
class Measurement:
    """One value of a measure for one period, as currently corrected."""

    measurement_id: UUID
    measure_id: UUID
    period: date
    value: float
    numerator: float | None
    denominator: float | None
    note: str
    recorded_on: date
    corrections: int = 0
    retracted: bool = False
    ghosted: bool = False
    history: list[float] = field(default_factory=list)


@dataclass
class Adoption:
    """An organisation's adoption of the project."""

    organisation_id: UUID
    scope: AdoptionScope
    adopted_on: date


@dataclass
class Milestone:
    """A milestone logged by the team or the sponsor."""

    title: str
    description: str
    is_sign_off: bool
    logged_on: date
