"""The entities inside a Project: pilots, measures, measurements, adoptions, milestones.

They are frozen values: an event that changes one replaces it in its collection
(``dataclasses.replace``) instead of editing it in place.  That lets a copy of a project share
its parts with the original (``Project.__deepcopy__`` copies only the containers), so copying
the cached project for each command costs little however long its history, and a refused
command still cannot change the cached project through a shared part.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.values import AdoptionScope, Frequency, ImprovementDirection


@dataclass(frozen=True)
class Pilot:
    """A pilot of the project at some sites."""

    sites: tuple[str, ...]
    scope: str
    started_on: date


@dataclass(frozen=True)
class Measure:
    """An aggregate outcome the project tracks."""

    measure_id: UUID
    name: str
    unit: str
    direction: ImprovementDirection
    target: float | None
    frequency: Frequency
    defined_on: date
    recalculate_from: frozenset[date] = frozenset()
    baseline_points: int | None = None


@dataclass(frozen=True)
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
    astronomical: bool = False
    history: tuple[float, ...] = ()


@dataclass(frozen=True)
class Adoption:
    """An organisation's adoption of the project."""

    organisation_id: UUID
    scope: AdoptionScope
    adopted_on: date


@dataclass(frozen=True)
class Milestone:
    """A milestone logged by the team or the sponsor."""

    title: str
    description: str
    is_sign_off: bool
    logged_on: date
